"""Posting rules at work: the points one activity earns under one rule, with every step."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from services.accrual.rules.calendar import period_start
from services.accrual.rules.model import (
    Activity,
    PeriodCap,
    PostingRule,
    Promotion,
    Rounding,
)

# (customer, "rule" or "promotion", currency, its id, period, the period's first day): the
# points that rule or promotion has given the customer in that period so far.
CapKey = tuple[str, str, str, str, str, date]
CapUsage = Mapping[CapKey, int]


def round_points(value: Fraction, rounding: Rounding) -> int:
    if rounding == "down":
        return math.floor(value)
    if rounding == "up":
        return math.ceil(value)
    return math.floor(value + Fraction(1, 2))


def rule_cap_key(customer_no: str, rule: PostingRule, day: date) -> CapKey | None:
    if rule.cap_per_period is None:
        return None
    period = rule.cap_per_period.period
    return (customer_no, "rule", rule.currency, rule.id, period, period_start(day, period))


def promotion_cap_key(
    customer_no: str, rule: PostingRule, promotion: Promotion, day: date
) -> CapKey | None:
    if promotion.cap_per_period is None:
        return None
    period = promotion.cap_per_period.period
    return (
        customer_no,
        "promotion",
        rule.currency,
        promotion.id,
        period,
        period_start(day, period),
    )


def cap_keys(customer_no: str, rule: PostingRule, day: date) -> list[CapKey]:
    """The period caps a rule may touch on that day (to read their usage in one go)."""
    keys = [rule_cap_key(customer_no, rule, day)]
    keys += [
        promotion_cap_key(customer_no, rule, p, day)
        for p in rule.promotions
        if p.effective.contains(day)
    ]
    return [k for k in keys if k is not None]


@dataclass(frozen=True, slots=True)
class Rating:
    """What a rule gives: rule points plus at most one promotion's bonus."""

    rule: PostingRule
    rule_points: int
    bonus_points: int = 0
    promotion_id: str | None = None
    excluded: str | None = None
    rule_cap_key: CapKey | None = None
    promotion_cap_key: CapKey | None = None
    steps: tuple[str, ...] = ()

    @property
    def points(self) -> int:
        return self.rule_points + self.bonus_points


def _capped(points: int, per_transaction: int | None, period: PeriodCap | None,
            key: CapKey | None, usage: CapUsage, steps: list[str], what: str) -> int:  # fmt: skip
    if per_transaction is not None and points > per_transaction:
        steps.append(f"{what} capped at {per_transaction} per transaction")
        points = per_transaction
    if period is not None and key is not None:
        left = max(0, period.points - usage.get(key, 0))
        if points > left:
            steps.append(f"{what} capped: {left} of {period.points} left this {period.period}")
            points = left
    return points


def _bonus(
    rule: PostingRule,
    promotion: Promotion,
    activity: Activity,
    day: date,
    rule_points: int,
    usage: CapUsage,
) -> tuple[int, list[str]]:
    steps: list[str] = []
    if activity.amount_cents < promotion.minimum_amount_cents:
        return 0, [f"promotion {promotion.id}: below its minimum amount"]
    if promotion.multiplier is not None:
        bonus = round_points(rule_points * (promotion.multiplier - 1), rule.rounding)
        steps.append(f"promotion {promotion.id}: x{promotion.multiplier} adds {bonus}")
    else:
        bonus = promotion.bonus_points or 0
        steps.append(f"promotion {promotion.id}: {bonus} bonus points")
    key = promotion_cap_key(activity.customer_no, rule, promotion, day)
    bonus = _capped(bonus, promotion.cap_per_transaction, promotion.cap_per_period, key, usage,
                    steps, f"promotion {promotion.id}")  # fmt: skip
    return bonus, steps


def rate(rule: PostingRule, activity: Activity, day: date, usage: CapUsage) -> Rating:
    """Points for the activity under `rule` on local `day`, given period usage so far."""
    for exclusion in rule.exclusions:
        if exclusion.when.matches(activity):
            return Rating(rule, 0, excluded=exclusion.id, steps=(f"excluded: {exclusion.reason}",))
    if activity.amount_cents < rule.minimum_amount_cents:
        return Rating(rule, 0, steps=(f"below the minimum of {rule.minimum_amount_cents} cents",))
    base = Fraction(activity.amount_cents * rule.points, rule.per_amount_cents)
    steps = [f"{rule.points} per {rule.per_amount_cents} cents on {activity.amount_cents}"]
    applying = [m for m in rule.multipliers if m.when.matches(activity)]
    if applying:
        best = max(applying, key=lambda m: m.factor)  # multipliers do not stack: the best wins
        base *= best.factor
        steps.append(f"multiplier {best.id}: x{best.factor}")
    rule_points = round_points(base, rule.rounding)
    steps.append(f"rounded {rule.rounding}: {rule_points}")
    key = rule_cap_key(activity.customer_no, rule, day)
    rule_points = _capped(rule_points, rule.cap_per_transaction, rule.cap_per_period, key, usage,
                          steps, "points")  # fmt: skip
    bonus, promotion = 0, None
    for candidate in rule.promotions:
        if candidate.effective.contains(day) and candidate.when.matches(activity):
            extra, extra_steps = _bonus(rule, candidate, activity, day, rule_points, usage)
            steps += extra_steps
            if extra > bonus:  # one promotion per transaction: the most generous
                bonus, promotion = extra, candidate
    return Rating(
        rule,
        rule_points,
        bonus_points=bonus,
        promotion_id=promotion.id if promotion else None,
        rule_cap_key=key,
        promotion_cap_key=(
            promotion_cap_key(activity.customer_no, rule, promotion, day) if promotion else None
        ),
        steps=tuple(steps),
    )


def consume(usage: dict[CapKey, int], rating: Rating) -> None:
    """Count a credited rating against its period caps."""
    if rating.rule_cap_key is not None:
        usage[rating.rule_cap_key] = usage.get(rating.rule_cap_key, 0) + rating.rule_points
    if rating.promotion_cap_key is not None:
        usage[rating.promotion_cap_key] = (
            usage.get(rating.promotion_cap_key, 0) + rating.bonus_points
        )
