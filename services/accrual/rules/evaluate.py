"""Dispatch and rate in one step: an activity's points in every currency."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from services.accrual.rules.calendar import expiry_date
from services.accrual.rules.dispatch import Dispatch, dispatch
from services.accrual.rules.model import Activity, CustomerClass, Programme
from services.accrual.rules.rating import CapKey, CapUsage, Rating, cap_keys, rate


@dataclass(frozen=True, slots=True)
class Evaluation:
    dispatch: Dispatch
    ratings: dict[str, Rating] = field(default_factory=dict)

    def points(self, currency: str) -> int:
        rating = self.ratings.get(currency)
        return rating.points if rating else 0

    @property
    def agreement_id(self) -> str | None:
        return self.dispatch.agreement.id if self.dispatch.agreement else None


def evaluate(
    programme: Programme,
    customer: CustomerClass | None,
    activity: Activity,
    usage: CapUsage,
) -> Evaluation:
    """The agreement and rules in force on the activity's date, and what each gives."""
    found = dispatch(programme, customer, activity)
    ratings = {
        currency: rate(rule, activity, found.day, usage) for currency, rule in found.rules.items()
    }
    return Evaluation(found, ratings)


def needed_cap_keys(
    programme: Programme, customer: CustomerClass | None, activity: Activity
) -> list[CapKey]:
    """The period caps evaluating this activity will read."""
    found = dispatch(programme, customer, activity)
    return [
        key
        for rule in found.rules.values()
        for key in cap_keys(activity.customer_no, rule, found.day)
    ]


def expires_at(programme: Programme, currency: str, earned_at: datetime) -> date | None:
    """The expiry of a lot earned at `earned_at` under the currency's policy."""
    return expiry_date(programme.currencies[currency], earned_at, programme.timezone)
