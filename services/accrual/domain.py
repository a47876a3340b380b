"""Earning rules, pure: which points a transaction earns, and when they expire.

The foundation ships one flat posting rule (1 point per R10 of qualifying spend, in both
currencies); the agreement dispatcher with effective-dated rules replaces it in the accrual
issue without changing the handlers' shape.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime

QUALIFYING_CHANNELS = frozenset({"card", "eft", "debit_order"})
CURRENCIES = ("points", "tier_points")


@dataclass(frozen=True, slots=True)
class PostingRule:
    rule_id: str
    version: int
    cents_per_point: int
    expiry_months: int | None

    def points_for(self, amount_cents: int) -> int:
        return amount_cents // self.cents_per_point


FLAT_RULES = {
    "points": PostingRule("flat-points-per-r10", 1, 1000, expiry_months=12),
    "tier_points": PostingRule("flat-tier-points-per-r10", 1, 1000, expiry_months=None),
}


def qualifies(*, status: str, kind: str, direction: str, channel: str | None) -> bool:
    """Spend that earns: a posted purchase or payment leaving the customer's account."""
    return (
        status == "posted"
        and kind in {"purchase", "payment"}
        and direction == "debit"
        and (channel or "card") in QUALIFYING_CHANNELS
    )


def end_of_month_after(moment: datetime, months: int) -> date:
    """The last day of the month `months` after the month of `moment`."""
    month_index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(month_index, 12)
    return date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def proportional_reversal(earned: int, already_reversed: int, original: int, refunded: int) -> int:
    """Points to take back for a (partial) refund: in proportion, never more than remain."""
    if original <= 0:
        return 0
    share = earned * min(refunded, original) // original
    return max(0, min(share, earned - already_reversed))
