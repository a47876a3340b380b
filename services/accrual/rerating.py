"""Retroactive re-rating, pure: what stored earnings would be under the current rules.

Fowler's difference adjustment: nothing stored is edited; each transaction whose points
differ under the corrected rules gets one adjustment for the difference, counting the refunds
that took part of it back. Running it again finds no difference.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from services.accrual.ledger import Member
from services.accrual.rules.evaluate import evaluate, expires_at
from services.accrual.rules.model import CURRENCIES, Activity, Programme
from services.accrual.rules.rating import CapKey, consume
from services.accrual.rules.reversals import rerate_difference


@dataclass(frozen=True, slots=True)
class Standing:
    """What a transaction's earning in one currency stands at (adjustments included)."""

    posting_id: str | None
    earned: int = 0
    reversed: int = 0
    rule_points: int = 0
    bonus_points: int = 0


@dataclass(frozen=True, slots=True)
class RerateItem:
    activity: Activity
    member: Member  # the class the customer had when the transaction was rated
    standing: Mapping[str, Standing] = field(default_factory=dict)
    refunds: Sequence[int] = ()  # amounts later refunds took back, in order


@dataclass(frozen=True, slots=True)
class RerateLine:
    source: str
    source_transaction_id: str
    currency: str
    customer_no: str
    earned_delta: int
    reversed_delta: int
    rule_points_delta: int
    bonus_points_delta: int
    rule_id: str | None
    rule_version: int | None
    promotion_id: str | None
    reverses_posting_id: str | None
    expires_at: date | None
    transaction_at: datetime

    @property
    def points(self) -> int:
        """The adjustment posted: more earned adds, more taken back by refunds subtracts."""
        return self.earned_delta - self.reversed_delta


def rerate(
    programme: Programme, items: Iterable[RerateItem], usage: dict[CapKey, int]
) -> list[RerateLine]:
    """Re-rate in transaction order (period caps fill up as they did), return differences."""
    lines: list[RerateLine] = []
    ordered = sorted(items, key=lambda i: (i.activity.transaction_at, i.activity.transaction_id))
    for item in ordered:
        activity = item.activity
        evaluation = (
            evaluate(programme, item.member.customer, activity, usage)
            if item.member.earns
            else None
        )
        for currency in CURRENCIES:
            rating = evaluation.ratings.get(currency) if evaluation else None
            standing = item.standing.get(currency, Standing(None))
            rerated = rating.points if rating else 0
            diff = rerate_difference(
                rerated=rerated,
                earned=standing.earned,
                reversed_=standing.reversed,
                original=activity.amount_cents,
                refunds=item.refunds,
            )
            if rating is not None:
                consume(usage, rating)
            if not diff:
                continue
            lines.append(
                RerateLine(
                    source=activity.source,
                    source_transaction_id=activity.transaction_id,
                    currency=currency,
                    customer_no=activity.customer_no,
                    earned_delta=diff.earned,
                    reversed_delta=diff.reversed,
                    rule_points_delta=(rating.rule_points if rating else 0) - standing.rule_points,
                    bonus_points_delta=(rating.bonus_points if rating else 0)
                    - standing.bonus_points,
                    rule_id=rating.rule.id if rating else None,
                    rule_version=rating.rule.version if rating else None,
                    promotion_id=rating.promotion_id if rating else None,
                    reverses_posting_id=standing.posting_id if diff.posting < 0 else None,
                    expires_at=(
                        expires_at(programme, currency, activity.transaction_at)
                        if diff.posting > 0
                        else None
                    ),
                    transaction_at=activity.transaction_at,
                )
            )
    return lines
