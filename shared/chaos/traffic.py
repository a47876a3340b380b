"""Seeded bank and vendor-gateway traffic for chaos runs, and what it should earn.

The expectation is computed here from the generated messages alone, never by asking a
service, with the launch rule that chaos stores as the programme before any service starts
(services/accrual/programme/flat.yaml): 1 point per R10 of card purchases, EFT payments and
debit orders leaving the account, in points and tier points; refunds and reversals take back
their share, rounded down. Customers are announced first and the run waits until every
service knows them, so that who earns is settled before any transaction arrives; redemption
decisions depend on timing, so for them the expectation is one decision per request, not its
outcome.
"""

from __future__ import annotations

import math
import random
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson

from shared.simulator.vendors import redemption_vendors

CARD: Final = "esb.card.transaction.v1"
ACCOUNT: Final = "esb.account.transaction.v1"
CUSTOMER: Final = "esb.customer.updated.v1"
REDEMPTION: Final = "loyalty.redemption.requested.v1"
POSTED: Final = "loyalty.points.posted.v1"
CURRENCIES: Final = ("points", "tier_points")
CENTS_PER_POINT: Final = 1000  # R10
# Vendors of the simulator's master that accept points (chaos imports it), and one unknown.
UNKNOWN_VENDOR: Final = "chaos-unknown"
VENDORS: Final = (*(v.vendor_id for v in redemption_vendors() if v.listed), UNKNOWN_VENDOR)
POISON_KINDS: Final = ("json", "utf8", "float", "negative", "enum", "missing", "conflict",
                       "internal")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: str
    key: str
    value: bytes
    message_id: str = ""


@dataclass(frozen=True, slots=True)
class Person:
    customer_no: str
    account_no: str
    member: bool


@dataclass
class Purchase:
    """A posted purchase or debit order that a refund or reversal may take back."""

    transaction_id: str
    customer: Person
    amount_cents: int
    earned: int  # in each currency
    payload: dict[str, Any]


@dataclass
class Expectation:
    """What the wallet must hold, from the traffic alone."""

    # (source transaction id, currency, credit?) -> points of its one wallet posting
    effects: dict[tuple[str, str, bool], int] = field(default_factory=dict)
    net: Counter[tuple[str, str]] = field(default_factory=Counter)  # (customer, currency)
    requests: set[tuple[str, str, str]] = field(default_factory=set)  # vendor, request, action
    cashback_requests: set[tuple[str, str, str]] = field(default_factory=set)
    customers: set[str] = field(default_factory=set)

    def earn(self, tx_id: str, customer_no: str, points: int) -> None:
        if points <= 0:
            return
        for currency in CURRENCIES:
            self.effects[(tx_id, currency, True)] = points
            self.net[(customer_no, currency)] += points

    def take_back(self, tx_id: str, customer_no: str, points: int) -> None:
        if points <= 0:
            return
        for currency in CURRENCIES:
            self.effects[(tx_id, currency, False)] = -points
            self.net[(customer_no, currency)] -= points


def points_for(amount_cents: int) -> int:
    return amount_cents // CENTS_PER_POINT


def share_back(earned: int, original_cents: int, refunded_cents: int) -> int:
    """Points a (partial) refund takes back: in proportion, rounded down."""
    return earned * min(refunded_cents, original_cents) // original_cents


def _iso(moment: datetime) -> str:
    return moment.isoformat()


@dataclass
class Traffic:
    """The generator: `customers()` first, then `next_transaction()`, duplicates and poison."""

    seed: int
    customer_count: int
    rng: random.Random = field(init=False)
    people: list[Person] = field(init=False)
    expect: Expectation = field(default_factory=Expectation)
    counter: int = 0
    stats: Counter[str] = field(default_factory=Counter)
    pending_auths: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=2000))
    refundable: deque[Purchase] = field(default_factory=lambda: deque(maxlen=5000))
    debit_orders: deque[Purchase] = field(default_factory=lambda: deque(maxlen=5000))
    recent: deque[Outgoing] = field(default_factory=lambda: deque(maxlen=500))
    forged: set[str] = field(default_factory=set)  # ids reused by poison: never redelivered
    resendable: deque[tuple[str, dict[str, Any]]] = field(default_factory=lambda: deque(maxlen=500))
    holds: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=1000))
    redeemed: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=1000))

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)  # noqa: S311 (a simulation, not security)
        self.people = [
            Person(f"CH{i:010d}", f"40{self.rng.randrange(10**8):08d}", self.rng.random() < 0.85)
            for i in range(1, self.customer_count + 1)
        ]

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.seed % 1000:03d}{self.counter:010d}"

    def _out(self, topic: str, key: str, payload: dict[str, Any]) -> Outgoing:
        message = Outgoing(topic, key, orjson.dumps(payload), payload["message_id"])
        self.recent.append(message)
        if topic in {CARD, ACCOUNT, REDEMPTION}:
            self.resendable.append((topic, payload))
        return message

    def customers(self) -> list[Outgoing]:
        """Every customer's CIF record: they must be known before they transact."""
        now = datetime.now(UTC)
        out = []
        for person in self.people:
            self.expect.customers.add(person.customer_no)
            out.append(self._out(CUSTOMER, person.customer_no, self._cif(person, "created", now)))
        return out

    def _cif(self, person: Person, change: str, now: datetime) -> dict[str, Any]:
        return {
            "message_id": self._id("CIF"), "sent_at": _iso(now), "customer_no": person.customer_no,
            "change": change, "first_name": "Chaos", "last_name": f"Monkey {person.customer_no}",
            "preferred_language": self.rng.choice(("en", "af")),
            "segment": self.rng.choice(("retail", "premier")),
            "loyalty_member": person.member,
            "accounts": [{"account_no": person.account_no, "type": "cheque"}],
            "changed_at": _iso(now),
        }  # fmt: skip

    def next_transaction(self) -> Outgoing:
        """One bank or gateway message; the expectation learns what it should do."""
        self.stats["transactions"] += 1
        roll = self.rng.random()
        person = self.rng.choice(self.people)
        mix: tuple[tuple[float, bool, Callable[[], Outgoing]], ...] = (
            (0.38, True, lambda: self._card_purchase(person)),
            (0.50, bool(self.pending_auths), self._settle),
            (0.55, bool(self.refundable), self._refund),
            (0.80, True, lambda: self._statement_line(person)),
            (0.83, bool(self.debit_orders), self._debit_order_reversal),
            (0.97, True, lambda: self._redemption(person)),
        )
        for below, possible, make in mix:
            if roll < below and possible:
                return make()
        self.stats["cif.updated"] += 1
        cif = self._cif(person, "updated", datetime.now(UTC))
        return self._out(CUSTOMER, person.customer_no, cif)

    def _amount(self) -> int:
        cents = int(self.rng.lognormvariate(math.log(30_000), 1.1))
        return max(100, min(cents, 5_000_000))

    def _card(self, person: Person, status: str, amount: int) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            "message_id": self._id("CM"), "sent_at": _iso(now),
            "transaction_id": self._id("CT"), "status": status, "kind": "purchase",
            "original_transaction_id": None, "customer_no": person.customer_no,
            "card_ref": "458712******0042", "merchant_id": None, "mcc": "5411",
            "descriptor": self.rng.choice(("WOOLWORTHS SANDTON ZA", "ENGEN N1 CITY ZA",
                                           "TAKEALOT.COM CPT ZA", "SPAR RONDEBOSCH ZA")),
            "amount_cents": amount, "currency": "ZAR",
            "transaction_at": _iso(now - timedelta(seconds=self.rng.randint(0, 600))),
            "posted_at": _iso(now) if status == "posted" else None,
        }  # fmt: skip

    def _posted(self, person: Person, payload: dict[str, Any], target: deque[Purchase]) -> None:
        earned = points_for(payload["amount_cents"]) if person.member else 0
        self.expect.earn(payload["transaction_id"], person.customer_no, earned)
        target.append(Purchase(payload["transaction_id"], person, payload["amount_cents"],
                               earned, payload))  # fmt: skip

    def _card_purchase(self, person: Person) -> Outgoing:
        if self.rng.random() < 0.4:
            payload = self._card(person, "authorized", self._amount())
            self.pending_auths.append(payload | {"_person": person})
            self.stats["card.authorized"] += 1
        else:
            payload = self._card(person, "posted", self._amount())
            self._posted(person, payload, self.refundable)
            self.stats["card.posted"] += 1
        return self._out(CARD, person.customer_no, payload)

    def _settle(self) -> Outgoing:
        auth = self.pending_auths.popleft()
        person: Person = auth.pop("_person")
        now = datetime.now(UTC)
        reversed_ = self.rng.random() < 0.1
        payload = auth | {
            "message_id": self._id("CM"),
            "sent_at": _iso(now),
            "status": "reversed" if reversed_ else "posted",
            "posted_at": None if reversed_ else _iso(now),
        }
        if reversed_:
            self.stats["card.auth_reversed"] += 1  # never posted: nothing to take back
        else:
            self._posted(person, payload, self.refundable)
            self.stats["card.settled"] += 1
        return self._out(CARD, person.customer_no, payload)

    def _refund(self) -> Outgoing:
        original = self.refundable.popleft()  # each purchase refunded at most once
        partial = self.rng.random() < 0.4
        amount = (
            max(100, original.amount_cents * self.rng.randint(10, 90) // 100)
            if partial
            else original.amount_cents
        )
        now = datetime.now(UTC)
        payload = original.payload | {
            "message_id": self._id("CM"), "sent_at": _iso(now),
            "transaction_id": self._id("CR"), "status": "posted", "kind": "refund",
            "original_transaction_id": original.transaction_id, "amount_cents": amount,
            "transaction_at": _iso(now), "posted_at": _iso(now),
        }  # fmt: skip
        back = share_back(original.earned, original.amount_cents, amount)
        self.expect.take_back(payload["transaction_id"], original.customer.customer_no, back)
        self.stats["card.refund"] += 1
        return self._out(CARD, original.customer.customer_no, payload)

    def _line(self, person: Person, channel: str, direction: str, amount: int) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            "message_id": self._id("AM"), "sent_at": _iso(now),
            "transaction_id": self._id("AT"), "customer_no": person.customer_no,
            "account_no": person.account_no, "channel": channel, "direction": direction,
            "kind": "payment", "original_transaction_id": None,
            "descriptor": f"{channel.upper()} CHAOS {self.counter % 97}",
            "amount_cents": amount, "currency": "ZAR", "transaction_at": _iso(now),
        }  # fmt: skip

    def _statement_line(self, person: Person) -> Outgoing:
        channel, direction = self.rng.choice(
            (("eft", "debit"), ("debit_order", "debit"), ("debit_order", "debit"),
             ("fee", "debit"), ("transfer", "debit"), ("eft", "credit"), ("atm", "debit"))
        )  # fmt: skip
        payload = self._line(person, channel, direction, self._amount())
        if direction == "debit" and channel in {"eft", "debit_order"}:
            # debit orders may be disputed later; EFTs are final
            self._posted(person, payload, self.debit_orders if channel == "debit_order"
                         else deque())  # fmt: skip
        self.stats[f"account.{channel}.{direction}"] += 1
        return self._out(ACCOUNT, person.customer_no, payload)

    def _debit_order_reversal(self) -> Outgoing:
        original = self.debit_orders.popleft()
        payload = original.payload | {
            "message_id": self._id("AM"),
            "sent_at": _iso(datetime.now(UTC)),
            "transaction_id": self._id("AR"),
            "direction": "credit",
            "kind": "reversal",
            "original_transaction_id": original.transaction_id,
        }
        self.expect.take_back(payload["transaction_id"], original.customer.customer_no,
                              original.earned)  # fmt: skip
        self.stats["account.debit_order.reversal"] += 1
        return self._out(ACCOUNT, original.customer.customer_no, payload)

    def _redemption(self, person: Person) -> Outgoing:
        """A new redeem or authorize; or a capture, void or cancel of an earlier one."""
        now = datetime.now(UTC)
        roll = self.rng.random()
        if roll < 0.15 and self.holds:
            earlier, action = self.holds.popleft(), self.rng.choice(("capture", "capture", "void"))
            points = earlier["points"] * self.rng.randint(50, 100) // 100
            points = points if action == "capture" and self.rng.random() < 0.4 else None
        elif roll < 0.2 and self.redeemed:
            earlier, action, points = self.redeemed.popleft(), "cancel", None
        else:
            earlier = {"request_id": self._id("RQ"), "vendor_id": self.rng.choice(VENDORS),
                       "customer_no": person.customer_no,
                       "points": self.rng.choice((10, 25, 50, 100, 200, 500)),
                       "reward": self.rng.choices(("voucher", "in_store", "cash_back"),
                                                  (6, 3, 1))[0]}  # fmt: skip
            action = "authorize" if self.rng.random() < 0.12 else "redeem"
            points = earlier["points"]
            (self.holds if action == "authorize" else self.redeemed).append(earlier)
        payload = earlier | {
            "message_id": self._id("GM"), "sent_at": _iso(now), "action": action,
            "points": max(1, points) if points is not None else None, "requested_at": _iso(now),
        }  # fmt: skip
        key = (str(payload["vendor_id"]), str(payload["request_id"]), action)
        self.expect.requests.add(key)
        if payload["reward"] == "cash_back" and action in {"redeem", "capture"}:
            self.expect.cashback_requests.add(key)
        self.stats[f"redemption.{action}"] += 1
        return self._out(REDEMPTION, str(payload["customer_no"]), payload)

    def duplicate(self) -> Outgoing:
        """A redelivery (same id, same bytes) or a resend (same transaction, a new id)."""
        if self.resendable and self.rng.random() < 0.3:
            topic, payload = self.rng.choice(self.resendable)
            self.stats["duplicate.resent"] += 1
            again = payload | {"message_id": self._id("DUP"), "sent_at": _iso(datetime.now(UTC))}
            return Outgoing(topic, payload["customer_no"], orjson.dumps(again))
        self.stats["duplicate.redelivered"] += 1
        # A redelivery behind a forged copy of its id would be dead-lettered as the conflict.
        candidates = [m for m in self.recent if m.message_id not in self.forged]
        return self.rng.choice(candidates or [self.next_transaction()])

    def poison(self) -> Outgoing:
        """A message no consumer may apply: broken JSON or UTF-8, wrong types, a reused id."""
        person = self.rng.choice(self.people)
        kind = self.rng.choice(POISON_KINDS)
        if kind == "conflict" and self.resendable:
            self.stats["poison.conflict"] += 1
            topic, payload = self.resendable.popleft()
            self.forged.add(payload["message_id"])
            forged = payload | {("points" if topic == REDEMPTION else "amount_cents"): 999_999}
            return Outgoing(topic, payload["customer_no"], orjson.dumps(forged))
        kind = "internal" if kind == "conflict" else kind
        self.stats[f"poison.{kind}"] += 1
        card = self._card(person, "posted", 12_345)
        request = {"message_id": self._id("GM"), "sent_at": card["sent_at"], "action": "redeem"}
        # an own topic: a points posting with a float amount must never reach a ledger
        posting = {"message_id": self._id("PP"), "sent_at": card["sent_at"],
                   "posting_id": "forged", "customer_no": person.customer_no,
                   "currency": "points", "points": 10.5}  # fmt: skip
        bodies = {
            "json": (CARD, b'{"message_id": "' + card["message_id"].encode() + b'", "status": '),
            "utf8": (ACCOUNT, b'{"message_id": "\xff\xfe\xfd"}'),
            "float": (CARD, orjson.dumps(card | {"amount_cents": 123.45})),
            "negative": (CARD, orjson.dumps(card | {"amount_cents": -500})),
            "enum": (CUSTOMER, orjson.dumps(self._cif(person, "exploded", datetime.now(UTC)))),
            "missing": (REDEMPTION, orjson.dumps(request)),
            "internal": (POSTED, orjson.dumps(posting)),
        }
        topic, value = bodies[kind]
        return Outgoing(topic, person.customer_no, value)
