"""The simulated world's state and the shape of what one step of it produces."""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Literal, NamedTuple, TypeVar

from pydantic import BaseModel

from contracts.esb import AccountTransaction, CardTransaction
from shared.simulator.people import Customer

CARD_TOPIC: Final = "esb.card.transaction.v1"
ACCOUNT_TOPIC: Final = "esb.account.transaction.v1"
CUSTOMER_TOPIC: Final = "esb.customer.updated.v1"
REDEMPTION_TOPIC: Final = "loyalty.redemption.requested.v1"
CURRENCY: Final = "ZAR"

T = TypeVar("T")
EventKind = Literal["card", "account", "redemption", "customer"]
Reward = Literal["voucher", "in_store", "cash_back"]


class SimEvent(NamedTuple):
    """(topic, key, message): what to publish, keyed by customer number."""

    topic: str
    key: str
    message: BaseModel


@dataclass(frozen=True)
class SimConfig:
    """Rates of the simulated world; the defaults read like a normal day at a retail bank."""

    duplicate_rate: float = 0.01  # share of events that redeliver an earlier message
    mix: tuple[tuple[EventKind, float], ...] = (
        ("card", 0.58),
        ("account", 0.27),
        ("redemption", 0.13),
        ("customer", 0.02),
    )
    authorize_first: float = 0.7  # card purchases that start as an authorization
    reversal_rate: float = 0.08  # authorizations later reversed instead of posted
    refund_rate: float = 0.04  # card events that refund an earlier purchase
    merchant_id_present: float = 0.6
    late_rate: float = 0.02  # postings that arrive days after the customer transacted
    member_redemptions: float = 0.93  # redemption requests for programme members


@dataclass
class Hold:
    """A vendor's redemption request that a later capture, void or cancel refers to."""

    vendor_id: str
    customer_no: str
    request_id: str
    points: int
    reward: Reward


@dataclass
class SimState:
    """Everything the next step depends on; seeded rng + equal state give equal events."""

    customers: list[Customer]
    run_id: str
    config: SimConfig = field(default_factory=SimConfig)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    announced: set[str] = field(default_factory=set)
    pending_auths: deque[CardTransaction] = field(default_factory=lambda: deque(maxlen=5_000))
    purchases: deque[CardTransaction] = field(default_factory=lambda: deque(maxlen=5_000))
    debit_orders: deque[AccountTransaction] = field(default_factory=lambda: deque(maxlen=2_000))
    holds: deque[Hold] = field(default_factory=lambda: deque(maxlen=1_000))
    redeemed: deque[Hold] = field(default_factory=lambda: deque(maxlen=1_000))
    recent: deque[SimEvent] = field(default_factory=lambda: deque(maxlen=500))
    counter: int = 0
    stats: Counter[str] = field(default_factory=Counter)
    members: list[Customer] = field(init=False)

    def __post_init__(self) -> None:
        if not self.customers:
            raise ValueError("the simulator needs at least one customer")
        self.members = [c for c in self.customers if c.member] or self.customers

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.run_id}{self.counter:09d}"


def new_run_id(rng: random.Random) -> str:
    """A short tag that keeps ids unique across runs against the same broker and database."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # pragma: allowlist secret
    return "".join(rng.choice(alphabet) for _ in range(6))


def weighted(rng: random.Random, items: tuple[tuple[T, float], ...]) -> T:
    return rng.choices([value for value, _ in items], [weight for _, weight in items])[0]
