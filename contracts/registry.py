"""The topic registry: one descriptor per topic (key, partitions, producers, consumers,
schema versions, compatibility mode), after getsentry/sentry-kafka-schemas.

The generated JSON Schemas, AsyncAPI documents, Strimzi topics and the services'
subscriptions are all checked against this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

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
# What each service answers (ARCHITECTURE.md); the AsyncAPI documents' descriptions.
SERVICE_ROLES: Mapping[str, str] = {
    "vendor_matching": "Which vendor is this bank transaction with?",
    "accrual": "How many points does this activity earn?",
    "redemption": "Can this customer spend N points, and from which lots?",
    "customer_profile": "Who is this customer, and what have they done?",
    "debit_orders": "The mainframe batch gateway: DOEXEC files in, LYCRED files out.",
}
# Producers and consumers outside this repository.
EXTERNAL_PARTIES = (
    "bank.card_system",
    "bank.core_banking",
    "bank.cif",
    "vendor_gateway",
    "console",
)
PARTITIONS = 8  # every customer-keyed topic has the same count: they are co-partitioned
TOPIC_NAME = re.compile(r"^[a-z]+\.[a-z-]+\.[a-z-]+\.v[1-9][0-9]*$")

Key = Literal["customer_no", "vendor_id"]
Compatibility = Literal["BACKWARD"]


@dataclass(frozen=True)
class TopicDescriptor:
    """A topic: who writes it, who reads it, its record key and its schema versions."""

    name: str
    description: str
    versions: Mapping[int, type[BaseModel]]
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    key: Key = "customer_no"
    partitions: int = PARTITIONS
    # BACKWARD: a consumer on the newest schema reads every message written under the
    # released one, so consumers upgrade first (checked by `loyalty contracts check`).
    compatibility: Compatibility = "BACKWARD"

    def __post_init__(self) -> None:
        if not TOPIC_NAME.match(self.name):
            raise ValueError(f"{self.name!r} is not <domain>.<entity>.<event>.v<N>")
        if not self.versions:
            raise ValueError(f"{self.name}: no schema version")
        if self.key not in self.latest.model_fields:
            raise ValueError(f"{self.name}: key {self.key!r} is not a field of the message")
        unknown = set(self.producers + self.consumers) - set(SERVICES) - set(EXTERNAL_PARTIES)
        if unknown:
            raise ValueError(f"{self.name}: unknown producers or consumers {sorted(unknown)}")

    @property
    def latest_version(self) -> int:
        return max(self.versions)

    @property
    def latest(self) -> type[BaseModel]:
        """The model of the newest schema version."""
        return self.versions[self.latest_version]

    @property
    def dlq(self) -> str:
        """The dead-letter topic: same key and partitions, the failed record and its reason."""
        return f"{self.name}.dlq"


def _topic(name: str, model: type[BaseModel], description: str, producers: tuple[str, ...],
           consumers: tuple[str, ...], *, key: Key = "customer_no") -> TopicDescriptor:  # fmt: skip
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
               ("vendor_matching",), ("customer_profile",)),
        _topic("loyalty.match.review-decided.v1", MatchReviewDecided,
               "Reviewers' vendor decisions.",
               ("console",), ("vendor_matching",)),
    )
}  # fmt: skip


def descriptor(name: str) -> TopicDescriptor:
    """The descriptor of a topic; KeyError names the unknown topic."""
    try:
        return TOPICS[name]
    except KeyError:
        raise KeyError(f"unknown topic {name!r}") from None


def model_for(name: str, version: int | None = None) -> type[BaseModel]:
    """The message model of a topic: its latest schema version unless one is named."""
    topic = descriptor(name)
    if version is None:
        return topic.latest
    try:
        return topic.versions[version]
    except KeyError:
        raise KeyError(f"{name} has no schema version {version}") from None


def topics_consumed_by(service: str) -> list[str]:
    """Topics a service (or an outside party) reads, in registry order."""
    return [t.name for t in TOPICS.values() if service in t.consumers]


def topics_produced_by(service: str) -> list[str]:
    """Topics a service (or an outside party) writes, in registry order."""
    return [t.name for t in TOPICS.values() if service in t.producers]


def all_topic_names(*, include_dlq: bool = True) -> list[str]:
    """Every topic name, sorted; with each dead-letter topic unless include_dlq=False."""
    names = list(TOPICS)
    if include_dlq:
        names += [t.dlq for t in TOPICS.values()]
    return sorted(names)
