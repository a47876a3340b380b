"""Dispatch and rating: which agreement and rule apply on the activity's day, and the points."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction

import pytest

from services.accrual.rules.calendar import end_of_month_after, expiry_date, local_date
from services.accrual.rules.dispatch import dispatch, event_type
from services.accrual.rules.evaluate import evaluate
from services.accrual.rules.model import CustomerClass, ExpiryPolicy
from services.accrual.rules.rating import rate
from tests.unit.accrual.factories import (
    NOV,
    RETAIL_BLUE,
    account,
    card,
    debit_order,
    default_programme,
    month_cap,
    multiplier,
    programme,
    promotion,
    rule,
)

PROGRAMME = default_programme()


def points(activity, customer=RETAIL_BLUE, usage=None) -> dict[str, int]:
    evaluation = evaluate(PROGRAMME, customer, activity, usage or {})
    return {c: r.points for c, r in evaluation.ratings.items()}


@pytest.mark.parametrize(
    ("amount", "expected"), [(25_050, 25), (50_000, 50), (10_000, 10), (20_000, 20), (40_000, 40)]
)
def test_a_plain_card_purchase_earns_one_point_per_ten_rand_in_both_currencies(
    amount: int, expected: int
) -> None:
    # What the end-to-end tests expect, partner grocer or unknown vendor alike.
    assert points(card(amount)) == {"points": expected, "tier_points": expected}
    partner_grocer = card(amount, vendor="woolworths-test", category="groceries", partner=True)
    assert points(partner_grocer) == {"points": expected, "tier_points": expected}


def test_an_unknown_customer_earns_under_the_default_class() -> None:
    assert points(card(25_050), customer=None) == {"points": 25, "tier_points": 25}


def test_a_late_event_earns_under_the_rule_of_its_own_day() -> None:
    before = card(30_000, at=datetime(2026, 2, 28, 12, tzinfo=UTC), vendor="engen")
    after = card(30_000, at=datetime(2026, 3, 1, 12, tzinfo=UTC), vendor="engen")
    assert dispatch(PROGRAMME, RETAIL_BLUE, before).rules["points"].id == "card-points-2025"
    assert dispatch(PROGRAMME, RETAIL_BLUE, after).rules["points"].id == "card-points-standard"
    assert points(before)["points"] == 30  # no partner multiplier before March 2026
    assert points(after)["points"] == 60


def test_the_day_is_the_programmes_local_day() -> None:
    late_evening_utc = datetime(2026, 2, 28, 22, 30, tzinfo=UTC)  # 00:30 on 1 March in SAST
    assert local_date(late_evening_utc, "Africa/Johannesburg") == date(2026, 3, 1)
    found = dispatch(PROGRAMME, RETAIL_BLUE, card(30_000, at=late_evening_utc))
    assert found.rules["points"].id == "card-points-standard"


def test_the_most_specific_agreement_serving_the_class_wins() -> None:
    gold = CustomerClass("retail", "gold")
    premier = CustomerClass("premier", "blue")
    assert dispatch(PROGRAMME, gold, card(1000)).agreement.id == "retail-gold"  # type: ignore[union-attr]
    assert dispatch(PROGRAMME, premier, card(1000)).agreement.id == "premier-and-private"  # type: ignore[union-attr]
    silver = CustomerClass("retail", "silver")
    assert dispatch(PROGRAMME, silver, card(1000)).agreement.id == "standard"  # type: ignore[union-attr]
    # Before premier's own agreement began, premier earned under the standard one.
    early = card(1000, at=datetime(2025, 6, 1, tzinfo=UTC))
    assert dispatch(PROGRAMME, premier, early).agreement.id == "standard"  # type: ignore[union-attr]


def test_partner_multipliers_for_gold_and_premier() -> None:
    grocer = card(10_000, vendor="woolworths", category="groceries", partner=True)
    assert points(grocer, CustomerClass("retail", "gold"))["points"] == 15
    assert points(grocer, CustomerClass("premier", "gold"))["points"] == 30  # 1.5/R10 x2
    fuel = card(10_000, vendor="engen", category="fuel", partner=True)
    assert points(fuel, CustomerClass("retail", "gold"))["points"] == 20  # the best wins: x2


@pytest.mark.parametrize(
    ("activity", "reason"),
    [
        (account(50_000, channel="fee"), "bank-fees"),
        (account(50_000, channel="transfer"), "own-account-transfers"),
        (account(50_000, channel="atm"), "cash-withdrawals"),
        (card(50_000, mcc="6011"), "cash-and-quasi-cash"),
        (card(50_000, mcc="9222"), "cash-and-quasi-cash"),
    ],
)
def test_fees_transfers_and_cash_never_earn(activity, reason: str) -> None:
    found = dispatch(PROGRAMME, RETAIL_BLUE, activity)
    assert found.excluded_by is not None
    assert found.excluded_by.id == reason
    assert points(activity) == {}


def test_event_types() -> None:
    assert event_type(card(1000)) == "card_purchase"
    assert event_type(card(1000, kind="refund")) is None
    assert event_type(account(1000)) == "eft_payment"
    assert event_type(account(1000, channel="debit_order")) == "debit_order"
    assert event_type(account(1000, channel="other")) == "account_payment"
    assert event_type(account(1000, direction="credit")) is None
    assert event_type(debit_order(1000)) == "debit_order"


def test_only_partner_debit_orders_earn() -> None:
    assert points(debit_order(50_000)) == {"points": 50, "tier_points": 50}
    assert points(debit_order(50_000, partner=False)) == {"points": 0, "tier_points": 0}


def test_eft_payments_earn_above_their_minimum() -> None:
    assert points(account(50_000)) == {"points": 25}
    assert points(account(9_999)) == {"points": 0}


def test_a_promotion_adds_a_bonus_within_its_dates() -> None:
    black_friday = datetime(2026, 11, 28, 10, tzinfo=UTC)
    at_makro = card(25_050, at=black_friday, vendor="makro", partner=True, category="retail")
    evaluation = evaluate(PROGRAMME, RETAIL_BLUE, at_makro, {})
    rating = evaluation.ratings["points"]
    assert (rating.rule_points, rating.bonus_points, rating.promotion_id) == (
        25, 25, "black-friday-2026",
    )  # fmt: skip
    assert evaluation.ratings["tier_points"].points == 25  # tier points have no promotion
    assert points(card(25_050, vendor="makro", partner=True))["points"] == 25  # a week earlier


def test_caps_per_transaction_and_per_customer_per_month() -> None:
    capped = rule(cap_per_transaction=100, cap_per_period=month_cap(150))
    p = programme(capped)
    first = evaluate(p, None, card(500_000), {}).ratings["points"]
    assert first.points == 100
    assert first.rule_cap_key is not None
    second = evaluate(p, None, card(500_000), {first.rule_cap_key: 100}).ratings["points"]
    assert second.points == 50
    assert any("left this month" in s for s in second.steps)
    other_month = card(500_000, at=datetime(2026, 12, 1, 8, tzinfo=UTC))
    assert evaluate(p, None, other_month, {first.rule_cap_key: 150}).points("points") == 100


@pytest.mark.parametrize(("rounding", "expected"), [("down", 2), ("half_up", 3), ("up", 3)])
def test_rounding(rounding: str, expected: int) -> None:
    r = rule(points=3, per=2000, rounding=rounding)  # 1.5 points per R10
    assert rate(r, card(1_800), NOV.date(), {}).points == expected  # 2.7 points


def test_minimum_amount_and_multiplier_order() -> None:
    r = rule(minimum_amount_cents=5_000, multipliers=(
        multiplier("partner", "1.5", partner=True),
        multiplier("fuel", "2", categories=frozenset({"fuel"})),
    ))  # fmt: skip
    assert rate(r, card(4_999, partner=True), NOV.date(), {}).points == 0
    assert rate(r, card(10_000, partner=True), NOV.date(), {}).points == 15
    assert rate(r, card(10_000, partner=True, category="fuel"), NOV.date(), {}).points == 20


def test_the_most_generous_promotion_applies_alone() -> None:
    r = rule(promotions=(
        promotion("flat", date(2026, 11, 1), date(2026, 11, 30), bonus_points=7),
        promotion("double", date(2026, 11, 1), date(2026, 11, 30), multiplier=Fraction(2)),
    ))  # fmt: skip
    rating = rate(r, card(50_000), NOV.date(), {})
    assert (rating.rule_points, rating.bonus_points, rating.promotion_id) == (50, 50, "double")
    small = rate(r, card(3_000), NOV.date(), {})
    assert (small.bonus_points, small.promotion_id) == (7, "flat")


def test_lots_expire_at_the_end_of_the_month_n_months_later() -> None:
    assert end_of_month_after(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert end_of_month_after(date(2026, 11, 20), 24) == date(2028, 11, 30)
    assert expiry_date(ExpiryPolicy(None), NOV, "Africa/Johannesburg") is None
    # 31 December 23:30 UTC is already January in Johannesburg.
    new_year = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert expiry_date(ExpiryPolicy(0), new_year, "Africa/Johannesburg") == date(2027, 1, 31)
