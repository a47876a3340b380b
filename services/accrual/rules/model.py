"""The programme as values: agreements for customer classes, posting rules, their conditions.

Fowler's Agreement Dispatcher and Posting Rule: an activity is dispatched to the agreement of
the customer's class in force on the activity's date, and the agreement's posting rule for the
activity's event type and currency turns it into points. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import Literal, get_args

Rounding = Literal["down", "half_up", "up"]
Period = Literal["day", "month", "year"]
CURRENCIES = ("points", "tier_points")
EventType = Literal[
    "card_purchase",
    "eft_payment",
    "debit_order",
    "account_payment",
    "transfer",
    "fee",
    "cash_withdrawal",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)


@dataclass(frozen=True, slots=True)
class Activity:
    """The facts of one bank transaction that rules may look at."""

    source: str
    transaction_id: str
    status: str
    kind: str
    customer_no: str
    amount_cents: int
    transaction_at: datetime
    direction: str
    channel: str | None = None
    mcc: str | None = None
    vendor_id: str | None = None
    vendor_category: str | None = None
    partner: bool = False
    original_transaction_id: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerClass:
    segment: str
    tier: str


@dataclass(frozen=True, slots=True)
class DateRange:
    """Inclusive local dates; None is open-ended."""

    start: date | None = None
    end: date | None = None

    def contains(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    def overlaps(self, other: DateRange) -> bool:
        return (self.end is None or other.start is None or other.start <= self.end) and (
            other.end is None or self.start is None or self.start <= other.end
        )

    def __str__(self) -> str:
        return f"{self.start or 'open'}..{self.end or 'open'}"


@dataclass(frozen=True, slots=True)
class Condition:
    """Every given field must match; a list matches any of its values. Empty matches all."""

    vendors: frozenset[str] | None = None
    partner: bool | None = None
    categories: frozenset[str] | None = None
    mccs: tuple[tuple[int, int], ...] | None = None  # inclusive ranges
    channels: frozenset[str] | None = None

    def matches(self, activity: Activity) -> bool:
        channel = activity.channel or activity.source
        return (
            (self.vendors is None or activity.vendor_id in self.vendors)
            and (self.partner is None or activity.partner is self.partner)
            and (self.categories is None or activity.vendor_category in self.categories)
            and (self.channels is None or channel in self.channels)
            and (self.mccs is None or _mcc_in(activity.mcc, self.mccs))
        )


def _mcc_in(mcc: str | None, ranges: tuple[tuple[int, int], ...]) -> bool:
    if mcc is None or not mcc.isdigit():
        return False
    return any(low <= int(mcc) <= high for low, high in ranges)


@dataclass(frozen=True, slots=True)
class Exclusion:
    id: str
    reason: str
    when: Condition


@dataclass(frozen=True, slots=True)
class Multiplier:
    id: str
    when: Condition
    factor: Fraction


@dataclass(frozen=True, slots=True)
class PeriodCap:
    period: Period
    points: int


@dataclass(frozen=True, slots=True)
class Promotion:
    """Bonus points on top of a rule's points, for a date range: a multiple or a flat bonus."""

    id: str
    effective: DateRange
    when: Condition = field(default_factory=Condition)
    multiplier: Fraction | None = None  # 2: the bonus equals the rule's points
    bonus_points: int | None = None
    minimum_amount_cents: int = 0
    cap_per_transaction: int | None = None
    cap_per_period: PeriodCap | None = None


@dataclass(frozen=True, slots=True)
class PostingRule:
    """Turns one event type into points of one currency."""

    id: str
    event: str
    currency: str
    points: int  # `points` per `per_amount_cents` of spend
    per_amount_cents: int
    version: int = 0  # assigned when a programme is stored; 0 until then
    effective: DateRange = field(default_factory=DateRange)
    rounding: Rounding = "down"
    minimum_amount_cents: int = 0
    multipliers: tuple[Multiplier, ...] = ()
    promotions: tuple[Promotion, ...] = ()
    exclusions: tuple[Exclusion, ...] = ()
    cap_per_transaction: int | None = None
    cap_per_period: PeriodCap | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class Agreement:
    """The posting rules for a class of customers (segment x tier) over a date range."""

    id: str
    rules: tuple[PostingRule, ...]
    segments: frozenset[str] | None = None  # None: any
    tiers: frozenset[str] | None = None
    effective: DateRange = field(default_factory=DateRange)
    description: str = ""

    @property
    def specificity(self) -> int:
        return (self.segments is not None) + (self.tiers is not None)

    def serves(self, customer: CustomerClass, day: date) -> bool:
        return (
            (self.segments is None or customer.segment in self.segments)
            and (self.tiers is None or customer.tier in self.tiers)
            and self.effective.contains(day)
        )


@dataclass(frozen=True, slots=True)
class ExpiryPolicy:
    """Lots expire at the end of the month `months` after earning; None: never."""

    months: int | None


@dataclass(frozen=True, slots=True)
class Programme:
    name: str
    timezone: str
    default_class: CustomerClass
    currencies: Mapping[str, ExpiryPolicy]
    agreements: tuple[Agreement, ...]
    exclusions: tuple[Exclusion, ...] = ()
    version: int = 0  # 0: not stored

    def rules(self) -> dict[str, PostingRule]:
        """Every rule by id (an id names one definition, shared by agreements)."""
        return {r.id: r for a in self.agreements for r in a.rules}
