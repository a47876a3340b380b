"""The benchmark's bank traffic: qualifying transactions as raw JSON, built with orjson.

Every transaction qualifies under the programmes the repository ships: card purchases of at
least R10, EFT payments of at least R100, and executed debit orders of partner vendors (the
default programme pays nothing on other vendors' debit orders). What each earns is not
decided here: shared.bench.expect rates the messages under the programme in force.
Registered redeemers only get card spend, so no monthly cap on EFTs or debit orders stops
them from earning. Descriptors
and merchant ids come from the simulator's vendors (real South African brands), so vendor
matching does its real work; debit-order originators are the partners that the vendor
master knows (the run looks them up). Identifiers carry the run tag, so the wallet's
postings of this run can be told apart from everything else on a shared platform:

    transaction  B<run>T<index>      posting  earn:<source>:B<run>T<index>:<currency>
    request      B<run>R<index>      customer 8<11 digits> (the same numbers every run)
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from functools import cache
from itertools import accumulate
from typing import Final, NamedTuple

import orjson

from shared.simulator.people import mandate_descriptor
from shared.simulator.vendors import VENDORS, card_vendors, eft_vendors, redemption_vendors

CARD_TOPIC: Final = "esb.card.transaction.v1"
ACCOUNT_TOPIC: Final = "esb.account.transaction.v1"
DEBIT_ORDER_TOPIC: Final = "esb.debit-order.executed.v1"
CUSTOMER_TOPIC: Final = "esb.customer.updated.v1"
REQUESTED_TOPIC: Final = "loyalty.redemption.requested.v1"
DECIDED_TOPIC: Final = "loyalty.redemption.decided.v1"
BALANCE_TOPIC: Final = "loyalty.wallet.balance-changed.v1"
TRANSACTION_TOPICS: Final = (CARD_TOPIC, ACCOUNT_TOPIC, DEBIT_ORDER_TOPIC)
# The wallet's source name of each topic (the `source` part of a posting id).
SOURCES: Final = {CARD_TOPIC: "card", ACCOUNT_TOPIC: "account", DEBIT_ORDER_TOPIC: "debit_order"}

# How the bank's traffic splits: card spend, EFT statement lines, and the executed debit
# orders of the mainframe's DOEXEC files (card spend instead when no partner collects any).
CARD_SHARE: Final = 0.60
ACCOUNT_SHARE: Final = 0.25
MIN_CENTS: Final = 1_000  # card spend earns from R10
MIN_EFT_CENTS: Final = 10_000  # EFT payments earn from R100
DEBIT_ORDER_CENTS: Final = 45_000  # a typical debit order (median)
REDEEMER_EVERY: Final = 10  # every 10th transaction goes to a registered redeemer
CUSTOMER_DIGITS: Final = 11


class Card(NamedTuple):
    descriptor: str
    merchant_id: str
    mcc: str | None
    median_cents: int
    sigma: float


class Mandate(NamedTuple):
    template: str
    median_cents: int


@cache
def card_pool() -> tuple[tuple[Card, ...], tuple[float, ...]]:
    """Every card descriptor of the simulated vendors, and cumulative shopping weights."""
    cards: list[Card] = []
    weights: list[float] = []
    for vendor in card_vendors():
        mids = vendor.merchant_ids
        lines: list[tuple[str, str]] = []
        if vendor.card_prefixes:
            for index, (branch, city) in enumerate(vendor.branches):
                prefix = vendor.card_prefixes[index % len(vendor.card_prefixes)]
                lines.append((f"{prefix} {branch} {city} ZA"[:40], mids[index]))
        offset = len(vendor.branches) if vendor.card_prefixes else 0
        lines += [(d, mids[offset + i]) for i, d in enumerate(vendor.online_descriptors)]
        for descriptor, mid in lines:
            cards.append(Card(descriptor, mid, vendor.mcc, vendor.median_cents, vendor.sigma))
            weights.append(vendor.weight / len(lines))
    return tuple(cards), tuple(accumulate(weights))


@cache
def eft_pool() -> tuple[Mandate, ...]:
    vendors = tuple(Mandate(t, v.median_cents) for v in eft_vendors() for t in v.eft_descriptors)
    return (*vendors, Mandate("IB PAYMENT TO {ref8}", 50_000))


def simulated_partner_originators() -> tuple[tuple[str, str], ...]:
    """(user code, name as printed) of the simulator's partners that collect debit orders."""
    return tuple((code, v.name.upper()[:10]) for v in VENDORS if v.partner for code in v.user_codes)


def redemption_vendor_ids() -> tuple[str, ...]:
    return tuple(v.vendor_id for v in redemption_vendors())


@dataclass(frozen=True)
class Workload:
    """What one benchmark run publishes; deterministic for a given seed."""

    run: str
    transactions: int
    customers: int = 100_000
    redeemers: int = 1_000
    seed: int = 42
    # (user code, name as printed) of partners collecting debit orders; none: card instead
    originators: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        # From JSON (an agent's spec) the pairs arrive as lists.
        object.__setattr__(self, "originators", tuple(tuple(o) for o in self.originators))
        if not (self.run.isalnum() and self.run.isascii() and len(self.run) <= 12):
            raise ValueError("the run tag must be up to 12 ASCII letters or digits")
        if not 0 < self.customers < 10**CUSTOMER_DIGITS:
            raise ValueError(f"customers must be between 1 and {10**CUSTOMER_DIGITS - 1}")
        if not 0 <= self.redeemers <= self.customers:
            raise ValueError("redeemers must be between 0 and the number of customers")

    @property
    def transaction_prefix(self) -> str:
        return f"B{self.run}T"

    @property
    def request_prefix(self) -> str:
        return f"B{self.run}R"

    def transaction_id(self, index: int) -> str:
        return f"{self.transaction_prefix}{index:09d}"

    def request_id(self, index: int) -> str:
        return f"{self.request_prefix}{index:09d}"

    def posting_pattern(self) -> str:
        """A SQL LIKE pattern matching this run's earn postings (every source, currency)."""
        return f"earn:%:{self.transaction_prefix}%"

    def index_of(self, reference: str) -> int | None:
        """The transaction index of an earn posting id of this run, else None."""
        parts = reference.split(":")
        if len(parts) != 4 or parts[0] != "earn":
            return None
        prefix = self.transaction_prefix
        tx = parts[2]
        if not tx.startswith(prefix) or not tx[len(prefix) :].isdigit():
            return None
        return int(tx[len(prefix) :])


def customer_no(k: int) -> str:
    """The benchmark's customer number k (the same across runs: existing customers)."""
    return f"8{k:0{CUSTOMER_DIGITS}d}"


def account_no(k: int) -> str:
    return f"40{k:0{CUSTOMER_DIGITS}d}"


class Message(NamedTuple):
    topic: str
    key: bytes
    value: bytes


class BankTraffic:
    """Generates the run's transactions in chunks, each stamped with the time it is sent."""

    def __init__(self, workload: Workload) -> None:
        self.workload = workload
        self.rng = random.Random(f"bench:{workload.seed}:{workload.run}")  # noqa: S311 (not security)
        self.cards, self.card_weights = card_pool()
        self.efts = eft_pool()
        self.originators = workload.originators

    def chunk(self, start: int, stop: int, sent_at: str, today: date) -> list[Message]:
        """Transactions start..stop-1; sent_at is RFC 3339 (the moment they are sent)."""
        w = self.workload
        out: list[Message] = []
        for index in range(start, stop):
            if w.redeemers and index % REDEEMER_EVERY == 0:
                redeemer = (index // REDEEMER_EVERY) % w.redeemers
                out.append(self._card(index, redeemer, sent_at))
                continue
            k = self.rng.randrange(w.customers)
            roll = self.rng.random()
            if roll < CARD_SHARE or (roll >= CARD_SHARE + ACCOUNT_SHARE and not self.originators):
                out.append(self._card(index, k, sent_at))
            elif roll < CARD_SHARE + ACCOUNT_SHARE:
                out.append(self._eft(index, k, sent_at))
            else:
                out.append(self._debit_order(index, k, sent_at, today))
        return out

    def _cents(self, median: int, sigma: float, least: int = MIN_CENTS) -> int:
        return max(least, round(median * self.rng.lognormvariate(0, sigma)))

    def _card(self, index: int, k: int, sent_at: str) -> Message:
        card = self.rng.choices(self.cards, cum_weights=self.card_weights)[0]
        cents = self._cents(card.median_cents, card.sigma)
        customer = customer_no(k)
        body = {
            "message_id": f"B{self.workload.run}M{index:09d}",
            "sent_at": sent_at,
            "transaction_id": self.workload.transaction_id(index),
            "status": "posted",
            "kind": "purchase",
            "original_transaction_id": None,
            "customer_no": customer,
            "card_ref": f"458712******{k % 10_000:04d}",
            "merchant_id": card.merchant_id if self.rng.random() < 0.6 else None,
            "mcc": card.mcc,
            "descriptor": card.descriptor,
            "amount_cents": cents,
            "currency": "ZAR",
            "transaction_at": sent_at,
            "posted_at": sent_at,
        }
        return Message(CARD_TOPIC, customer.encode(), orjson.dumps(body))

    def _eft(self, index: int, k: int, sent_at: str) -> Message:
        mandate = self.rng.choice(self.efts)
        cents = self._cents(mandate.median_cents, 0.6, MIN_EFT_CENTS)
        customer = customer_no(k)
        body = {
            "message_id": f"B{self.workload.run}M{index:09d}",
            "sent_at": sent_at,
            "transaction_id": self.workload.transaction_id(index),
            "customer_no": customer,
            "account_no": account_no(k),
            "channel": "eft",
            "direction": "debit",
            "kind": "payment",
            "original_transaction_id": None,
            "descriptor": mandate_descriptor(self.rng, mandate.template)[:40],
            "amount_cents": cents,
            "currency": "ZAR",
            "transaction_at": sent_at,
        }
        return Message(ACCOUNT_TOPIC, customer.encode(), orjson.dumps(body))

    def _debit_order(self, index: int, k: int, sent_at: str, today: date) -> Message:
        user_code, short_name = self.rng.choice(self.originators)
        cents = self._cents(DEBIT_ORDER_CENTS, 0.5)
        customer = customer_no(k)
        day = today.isoformat()
        body = {
            "message_id": f"B{self.workload.run}M{index:09d}",
            "sent_at": sent_at,
            "file_id": f"DOEXEC{today:%Y%m%d}",
            "run_date": day,
            "sequence_no": index,
            "transaction_id": self.workload.transaction_id(index),
            "customer_no": customer,
            "account_no": account_no(k),
            "user_code": user_code,
            "user_short_name": short_name,
            "user_reference": f"{self.rng.randrange(10**7, 10**8)}/{k % 100:02d}",
            "action_date": day,
            "amount_cents": cents,
            "currency": "ZAR",
            "status": "00",
            "entry_class": 44,
            "original_sequence_no": None,
            "original_run_date": None,
        }
        return Message(DEBIT_ORDER_TOPIC, customer.encode(), orjson.dumps(body))


def customer_created(workload: Workload, k: int, sent_at: str) -> Message:
    """The CIF record that makes customer k a known member (English or Afrikaans)."""
    customer = customer_no(k)
    afrikaans = k % 5 < 2
    body = {
        "message_id": f"B{workload.run}C{k:09d}",
        "sent_at": sent_at,
        "customer_no": customer,
        "change": "created",
        "first_name": "Annelie" if afrikaans else "Thabo",
        "last_name": "van der Merwe" if afrikaans else "Nkosi",
        "preferred_language": "af" if afrikaans else "en",
        "segment": "retail",
        "loyalty_member": True,
        "accounts": [{"account_no": account_no(k), "type": "cheque"}],
        "changed_at": sent_at,
    }
    return Message(CUSTOMER_TOPIC, customer.encode(), orjson.dumps(body))


def redemption_request(
    workload: Workload, index: int, *, k: int, points: int, vendor_id: str, sent_at: str
) -> Message:
    """A vendor gateway's `redeem` of a few points for customer k."""
    customer = customer_no(k)
    body = {
        "message_id": f"B{workload.run}G{index:09d}",
        "sent_at": sent_at,
        "request_id": workload.request_id(index),
        "action": "redeem",
        "vendor_id": vendor_id,
        "customer_no": customer,
        "points": points,
        "reward": "voucher",
        "requested_at": sent_at,
    }
    return Message(REQUESTED_TOPIC, customer.encode(), orjson.dumps(body))
