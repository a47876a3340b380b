"""The topic registry: one descriptor per topic (producers, consumers, key, versions)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel

from contracts.esb import AccountTransaction, CardTransaction, CustomerUpdated, DebitOrderExecuted
from contracts.loyalty import (
    AdjustmentRequested,
    BalanceChanged,
    CashbackPayoutRequested,
    MatchReviewDecided,
    MatchReviewRequested,
    PendingPointsChanged,
    PointsPosted,
    ProfileChanged,
    TransactionEnriched,
    VendorChanged,
)
from contracts.vendor_gateway import RedemptionDecided, RedemptionRequested

SERVICES = ("vendor_matching", "accrual", "redemption", "customer_profile", "debit_orders")
PARTITIONS = 8  # every customer-keyed topic has the same count: they are co-partitioned


@dataclass(frozen=True)
class TopicDescriptor:
    name: str
    description: str
    versions: Mapping[int, type[BaseModel]]
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    key: str = "customer_no"
    partitions: int = PARTITIONS
    compatibility: str = "BACKWARD"
    owner: str = field(default="")

    @property
    def latest_version(self) -> int:
        return max(self.versions)

    @property
    def latest(self) -> type[BaseModel]:
        return self.versions[self.latest_version]

    @property
    def dlq(self) -> str:
        return f"{self.name}.dlq"


def _topic(name: str, model: type[BaseModel], description: str, producers: tuple[str, ...],
           consumers: tuple[str, ...], *, key: str = "customer_no") -> TopicDescriptor:  # fmt: skip
    return TopicDescriptor(name, description, {1: model}, producers, consumers, key=key)


TOPICS: dict[str, TopicDescriptor] = {
    t.name: t
    for t in (
        _topic("esb.card.transaction.v1", CardTransaction,
               "Card authorizations, postings, reversals and refunds (bank card system).",
               ("bank.card_system",), ("vendor_matching",)),
        _topic("esb.account.transaction.v1", AccountTransaction,
               "Cheque and savings statement lines (bank core banking).",
               ("bank.core_banking",), ("vendor_matching",)),
        _topic("esb.customer.updated.v1", CustomerUpdated,
               "Customer information file changes (bank CIF).",
               ("bank.cif",), ("customer_profile",)),
        _topic("esb.debit-order.executed.v1", DebitOrderExecuted,
               "Executed debit orders read from the bank's DOEXEC files.",
               ("debit_orders",), ("vendor_matching",)),
        _topic("loyalty.redemption.requested.v1", RedemptionRequested,
               "Vendor gateways' redemption requests.",
               ("vendor_gateway",), ("redemption",)),
        _topic("loyalty.redemption.decided.v1", RedemptionDecided,
               "One decision per redemption request, for vendor gateways.",
               ("redemption",), ("vendor_gateway", "customer_profile")),
        _topic("loyalty.transaction.enriched.v1", TransactionEnriched,
               "Every bank transaction with its vendor, method and confidence.",
               ("vendor_matching",), ("accrual", "customer_profile")),
        _topic("loyalty.points.posted.v1", PointsPosted,
               "Points lots: credits, reversals and adjustments per currency.",
               ("accrual",), ("redemption", "customer_profile")),
        _topic("loyalty.points.pending.v1", PendingPointsChanged,
               "Potential points created, confirmed or cancelled.",
               ("accrual",), ("customer_profile",)),
        _topic("loyalty.points.adjustment-requested.v1", AdjustmentRequested,
               "Operators' manual adjustments, with actor and reason.",
               ("console",), ("accrual",)),
        _topic("loyalty.wallet.balance-changed.v1", BalanceChanged,
               "Wallet balance movements.",
               ("redemption",), ("customer_profile",)),
        _topic("loyalty.cashback.payout-requested.v1", CashbackPayoutRequested,
               "Cash-back payouts for the bank's LYCRED file.",
               ("redemption",), ("debit_orders",)),
        _topic("loyalty.customer.profile-changed.v1", ProfileChanged,
               "Member profile: language, class, tier, status.",
               ("customer_profile",), ("accrual", "redemption", "debit_orders")),
        _topic("loyalty.vendor.changed.v1", VendorChanged,
               "Vendor master changes.",
               ("vendor_matching",), ("redemption", "customer_profile"), key="vendor_id"),
        _topic("loyalty.match.review-requested.v1", MatchReviewRequested,
               "Transactions whose vendor a person should confirm.",
               ("vendor_matching",), ("console",)),
        _topic("loyalty.match.review-decided.v1", MatchReviewDecided,
               "Reviewers' vendor decisions.",
               ("console",), ("vendor_matching",)),
    )
}  # fmt: skip


def descriptor(name: str) -> TopicDescriptor:
    try:
        return TOPICS[name]
    except KeyError:
        raise KeyError(f"unknown topic {name!r}") from None


def model_for(name: str) -> type[BaseModel]:
    return descriptor(name).latest


def topics_consumed_by(service: str) -> list[str]:
    return [t.name for t in TOPICS.values() if service in t.consumers]


def topics_produced_by(service: str) -> list[str]:
    return [t.name for t in TOPICS.values() if service in t.producers]


def all_topic_names(*, include_dlq: bool = True) -> list[str]:
    names = list(TOPICS)
    if include_dlq:
        names += [t.dlq for t in TOPICS.values()]
    return sorted(names)
