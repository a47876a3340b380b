"""Tier rules: up at once when a threshold is crossed, down only at a review, after a grace
period, one tier at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.customer_profile.tiers import (
    Direction,
    Tier,
    TierConfigurationError,
    TierLadder,
    TierPolicy,
    TierState,
    months_before,
    on_points,
    on_review,
    progress,
)

LADDER = TierLadder.of(
    [Tier("blue", 0, 0), Tier("silver", 1, 1000), Tier("gold", 2, 5000), Tier("platinum", 3, 15000)]
)
POLICY = TierPolicy(window_months=12, grace_days=90)
T0 = datetime(2026, 11, 1, tzinfo=UTC)
NAMES = [t.name for t in LADDER.tiers]

tiers = st.sampled_from(NAMES)
points = st.integers(min_value=-1000, max_value=30_000)
moments = st.datetimes(  # Hypothesis bounds are naive; `timezones` makes the values aware
    min_value=datetime(2025, 1, 1),  # noqa: DTZ001
    max_value=datetime(2028, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
states = st.builds(
    TierState,
    tier=tiers,
    changed_at=st.none() | moments,
    below_since=st.none() | moments,
)


def rank(name: str) -> int:
    return NAMES.index(name)


def test_the_points_decide_the_tier_by_threshold() -> None:
    assert [LADDER.qualifying(p).name for p in (0, 999, 1000, 4999, 5000, 15000, 99999)] == [
        "blue", "blue", "silver", "silver", "gold", "platinum", "platinum"
    ]  # fmt: skip
    assert LADDER.qualifying(-50).name == "blue"  # reversals may leave a negative total


def test_crossing_a_threshold_upgrades_at_once_even_over_several_tiers() -> None:
    decision = on_points(LADDER, TierState("blue"), 5200, T0)
    assert decision.direction is Direction.UP
    assert decision.state == TierState("gold", T0, None)


def test_a_shortfall_starts_the_grace_period_and_costs_a_tier_only_after_it() -> None:
    gold = TierState("gold", T0 - timedelta(days=400))
    first = on_review(LADDER, POLICY, gold, 1200, T0)
    assert first.direction is None
    assert first.state.below_since == T0

    within = on_review(LADDER, POLICY, first.state, 1200, T0 + timedelta(days=89))
    assert within.direction is None

    after = on_review(LADDER, POLICY, within.state, 0, T0 + timedelta(days=90))
    assert after.direction is Direction.DOWN
    assert after.state.tier == "silver"  # not blue, although 0 points: one tier per review
    assert after.state.below_since == T0 + timedelta(days=90)  # a new grace period for silver


def test_earning_back_during_the_grace_period_keeps_the_tier() -> None:
    at_risk = TierState("gold", T0 - timedelta(days=400), below_since=T0)
    recovered = on_points(LADDER, at_risk, 5000, T0 + timedelta(days=30))
    assert recovered.direction is None
    assert recovered.state.below_since is None


def test_points_to_the_next_tier_and_the_end_of_grace() -> None:
    shown = progress(LADDER, POLICY, TierState("silver"), 3200)
    assert (shown.next_tier, shown.points_to_next_tier) == ("gold", 1800)
    top = progress(LADDER, POLICY, TierState("platinum", below_since=T0), 100)
    assert (top.next_tier, top.points_to_next_tier) == (None, None)
    assert top.grace_until == T0 + timedelta(days=90)


def test_a_ladder_that_makes_no_sense_is_refused() -> None:
    with pytest.raises(TierConfigurationError, match="0 points"):
        TierLadder.of([Tier("blue", 0, 10)])
    with pytest.raises(TierConfigurationError, match="more points"):
        TierLadder.of([Tier("blue", 0, 0), Tier("silver", 1, 500), Tier("gold", 2, 500)])
    with pytest.raises(TierConfigurationError):
        TierPolicy(window_months=0)


def test_a_rolling_window_counts_calendar_months() -> None:
    assert months_before(datetime(2027, 3, 31, tzinfo=UTC), 1) == datetime(2027, 2, 28, tzinfo=UTC)
    assert months_before(datetime(2027, 1, 15, tzinfo=UTC), 12) == datetime(2026, 1, 15, tzinfo=UTC)


@given(state=states, points=points, as_of=moments)
def test_points_arriving_never_lower_the_tier(
    state: TierState, points: int, as_of: datetime
) -> None:
    decided = on_points(LADDER, state, points, as_of)
    assert rank(decided.state.tier) >= rank(state.tier)
    assert rank(decided.state.tier) >= rank(LADDER.qualifying(points).name)


@given(state=states, points=points, as_of=moments)
def test_a_review_goes_down_at_most_one_tier(
    state: TierState, points: int, as_of: datetime
) -> None:
    decided = on_review(LADDER, POLICY, state, points, as_of)
    assert rank(decided.state.tier) >= rank(state.tier) - 1
    if decided.direction is Direction.DOWN:
        assert state.below_since is not None
        assert as_of - state.below_since >= timedelta(days=POLICY.grace_days)
        assert rank(LADDER.qualifying(points).name) < rank(state.tier)


@given(state=states, points=points, as_of=moments)
def test_reviewing_twice_as_of_the_same_moment_is_reviewing_once(
    state: TierState, points: int, as_of: datetime
) -> None:
    once = on_review(LADDER, POLICY, state, points, as_of)
    twice = on_review(LADDER, POLICY, once.state, points, as_of)
    assert twice.state == once.state
    assert twice.direction is None


@given(
    state=states,
    points=points,
    as_of=moments,
    grace_days=st.integers(min_value=0, max_value=365),
)
def test_a_customer_who_qualifies_keeps_or_gains_their_tier(
    state: TierState, points: int, as_of: datetime, grace_days: int
) -> None:
    policy = TierPolicy(grace_days=grace_days)
    decided = on_review(LADDER, policy, state, points, as_of)
    if rank(LADDER.qualifying(points).name) >= rank(state.tier):
        assert decided.state.tier == LADDER.qualifying(points).name
        assert decided.state.below_since is None
    elif decided.direction is Direction.DOWN:  # a new grace period unless the points now do
        short = rank(LADDER.qualifying(points).name) < rank(decided.state.tier)
        assert (decided.state.below_since is not None) == short
    else:
        assert decided.state.below_since is not None  # at risk


@given(state=states, low=points, extra=st.integers(min_value=0, max_value=20_000), as_of=moments)
def test_more_points_never_mean_a_lower_tier(
    state: TierState, low: int, extra: int, as_of: datetime
) -> None:
    fewer = on_review(LADDER, POLICY, state, low, as_of)
    more = on_review(LADDER, POLICY, state, low + extra, as_of)
    assert rank(more.state.tier) >= rank(fewer.state.tier)


@given(tier=tiers, points=st.integers(min_value=0, max_value=30_000))
def test_points_to_the_next_tier_reach_exactly_its_threshold(tier: str, points: int) -> None:
    shown = progress(LADDER, POLICY, TierState(tier), points)
    if shown.points_to_next_tier is None:
        assert tier == "platinum"
    else:
        assert shown.next_threshold is not None
        assert points + shown.points_to_next_tier >= shown.next_threshold
        assert shown.points_to_next_tier == 0 or (
            points + shown.points_to_next_tier == shown.next_threshold
        )
