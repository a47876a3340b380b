"""Properties of rating and reversing that hold for any rule and any sequence of activities."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from services.accrual.rules.calendar import end_of_month_after
from services.accrual.rules.dispatch import dispatch
from services.accrual.rules.model import Condition, DateRange, Multiplier, PeriodCap, Promotion
from services.accrual.rules.rating import consume, rate
from services.accrual.rules.reversals import (
    proportional_reversal,
    replay_reversals,
    rerate_difference,
)
from tests.unit.accrual.factories import NOV, RETAIL_BLUE, card, programme, rule

amounts = st.integers(min_value=1, max_value=10_000_000)
caps = st.none() | st.integers(min_value=1, max_value=5_000)


@st.composite
def rules(draw):
    multipliers = tuple(
        Multiplier(
            f"m{i}",
            Condition(partner=draw(st.booleans())),
            Fraction(draw(st.integers(1, 40)), draw(st.integers(1, 10))),
        )
        for i in range(draw(st.integers(0, 3)))
    )
    promotions = tuple(
        Promotion(
            f"p{i}",
            DateRange(NOV.date() - timedelta(days=1), NOV.date() + timedelta(days=1)),
            bonus_points=draw(st.integers(1, 500)),
            minimum_amount_cents=draw(st.integers(0, 100_000)),
            cap_per_transaction=draw(caps),
            cap_per_period=draw(
                st.none() | st.builds(PeriodCap, st.just("month"), caps.filter(bool))
            ),
        )
        for i in range(draw(st.integers(0, 2)))
    )
    return rule(
        points=draw(st.integers(1, 5)),
        per=draw(st.sampled_from([100, 500, 1000, 2000])),
        rounding=draw(st.sampled_from(["down", "half_up", "up"])),
        minimum_amount_cents=draw(st.integers(0, 50_000)),
        multipliers=multipliers,
        promotions=promotions,
        cap_per_transaction=draw(caps),
        cap_per_period=draw(st.none() | st.builds(PeriodCap, st.just("month"), caps.filter(bool))),
    )


@settings(max_examples=150, deadline=None)
@given(rules(), amounts, amounts, st.booleans())
def test_more_spend_never_earns_fewer_points(r, a, b, partner) -> None:
    low, high = sorted((a, b))
    day = NOV.date()
    assert (
        rate(r, card(low, partner=partner), day, {}).points
        <= rate(r, card(high, partner=partner), day, {}).points
    )


@settings(max_examples=150, deadline=None)
@given(rules(), st.lists(amounts, min_size=1, max_size=20))
def test_caps_hold_over_any_sequence_of_purchases(r, spends) -> None:
    usage: dict = {}
    total_rule_points = 0
    for amount in spends:
        rating = rate(r, card(amount), NOV.date(), usage)
        assert rating.points >= 0
        if r.cap_per_transaction is not None:
            assert rating.rule_points <= r.cap_per_transaction
        consume(usage, rating)
        total_rule_points += rating.rule_points
    if r.cap_per_period is not None:
        assert total_rule_points <= r.cap_per_period.points


@settings(max_examples=500)
@given(st.integers(0, 100_000), amounts, st.lists(st.integers(1, 20_000_000), max_size=10))
def test_refunds_never_take_back_more_than_was_earned(earned, original, refunds) -> None:
    taken = 0
    for refunded in refunds:
        share = proportional_reversal(earned, taken, original, refunded)
        assert share >= 0
        taken += share
    assert taken <= earned
    assert taken == replay_reversals(earned, original, refunds)
    if sum(refunds) >= original and refunds and max(refunds) >= original:
        assert taken == earned  # one full refund takes back everything that was left


@settings(max_examples=500)
@given(
    st.integers(0, 100_000), st.integers(0, 100_000), amounts,
    st.lists(st.integers(1, 20_000_000), max_size=5),
)  # fmt: skip
def test_rerating_twice_finds_no_difference(stood, rerated, original, refunds) -> None:
    reversed_ = replay_reversals(stood, original, refunds)
    first = rerate_difference(
        rerated=rerated, earned=stood, reversed_=reversed_, original=original, refunds=refunds
    )
    # After the adjustment, what stands is the re-rated earning and its replayed refunds.
    again = rerate_difference(
        rerated=rerated, earned=stood + first.earned, reversed_=reversed_ + first.reversed,
        original=original, refunds=refunds,
    )  # fmt: skip
    assert not again
    net_before = stood - reversed_
    assert net_before + first.posting == rerated - replay_reversals(rerated, original, refunds)


@settings(max_examples=300)
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(0, 60))
def test_expiry_is_the_last_day_of_a_month_not_before_earning(day, months) -> None:
    expiry = end_of_month_after(day, months)
    assert expiry >= day
    assert (expiry + timedelta(days=1)).day == 1
    assert (expiry.year - day.year) * 12 + expiry.month - day.month == months


@settings(max_examples=300, deadline=None)
@given(
    st.dates(min_value=date(2025, 1, 2), max_value=date(2027, 12, 30)),
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)),  # noqa: DTZ001
)
def test_dispatch_picks_the_rule_in_force_on_the_activitys_day(change, moment) -> None:
    old = rule("old", end=change - timedelta(days=1))
    new = rule("new", start=change)
    activity = card(10_000, at=moment.replace(tzinfo=UTC))
    found = dispatch(programme(old, new), RETAIL_BLUE, activity)
    expected = "new" if found.day >= change else "old"
    assert found.rules["points"].id == expected
