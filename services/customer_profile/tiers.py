"""Tier rules (pure): which tier the tier-qualifying points earn, and when a tier changes.

The points counted are the tier points earned in a rolling window (12 months by default)
ending at the moment of the decision. A customer goes up as soon as the points cross a
threshold; going down waits for the scheduled review, a grace period, and is never more
than one tier per review.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise


class TierConfigurationError(ValueError):
    """The tier ladder or policy in the database does not make sense."""


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    rank: int
    threshold: int  # tier points in the window needed to reach it


@dataclass(frozen=True, slots=True)
class TierLadder:
    """The programme's tiers, lowest first; the lowest needs no points."""

    tiers: tuple[Tier, ...]

    @classmethod
    def of(cls, tiers: Iterable[Tier]) -> TierLadder:
        ordered = tuple(sorted(tiers, key=lambda t: t.rank))
        if not ordered:
            raise TierConfigurationError("there must be at least one tier")
        if ordered[0].threshold != 0:
            raise TierConfigurationError(f"the lowest tier {ordered[0].name} must need 0 points")
        for lower, upper in pairwise(ordered):
            if upper.rank == lower.rank or upper.threshold <= lower.threshold:
                raise TierConfigurationError(
                    f"{upper.name} must rank above and need more points than {lower.name}"
                )
        return cls(ordered)

    @property
    def lowest(self) -> Tier:
        return self.tiers[0]

    def qualifying(self, points: int) -> Tier:
        """The highest tier the points reach (the lowest, even for a negative total)."""
        return next((t for t in reversed(self.tiers) if points >= t.threshold), self.lowest)

    def position(self, name: str) -> int:
        """Index of a tier on the ladder; a tier no longer configured counts as below all."""
        return next((i for i, t in enumerate(self.tiers) if t.name == name), -1)

    def above(self, name: str) -> Tier | None:
        position = self.position(name)
        return self.tiers[position + 1] if position + 1 < len(self.tiers) else None

    def below(self, name: str) -> Tier:
        return self.tiers[max(self.position(name) - 1, 0)]


@dataclass(frozen=True, slots=True)
class TierPolicy:
    window_months: int = 12
    grace_days: int = 90

    def __post_init__(self) -> None:
        if not 1 <= self.window_months <= 60 or self.grace_days < 0:
            raise TierConfigurationError("window_months must be 1..60 and grace_days >= 0")


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class TierState:
    """Where a customer stands: the tier, when it last changed, since when they fall short."""

    tier: str
    changed_at: datetime | None = None
    below_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class TierDecision:
    state: TierState
    direction: Direction | None  # None: the tier stays (the grace clock may still move)

    @property
    def tier_changed(self) -> bool:
        return self.direction is not None


def months_before(moment: datetime, months: int) -> datetime:
    """The same moment `months` calendar months earlier (31 March - 1 month = 28/29 Feb)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def window_start(as_of: datetime, policy: TierPolicy) -> datetime:
    """Points earned after this moment (and up to `as_of`) qualify."""
    return months_before(as_of, policy.window_months)


def _keep(state: TierState, ladder: TierLadder, points: int) -> TierDecision:
    """No change of tier; a customer who qualifies again is no longer on the grace clock."""
    if ladder.position(ladder.qualifying(points).name) >= ladder.position(state.tier):
        state = replace(state, below_since=None)
    return TierDecision(state, None)


def on_points(ladder: TierLadder, state: TierState, points: int, as_of: datetime) -> TierDecision:
    """Tier points arrived: go up at once if they cross a threshold; never go down here."""
    reached = ladder.qualifying(points)
    if ladder.position(reached.name) > ladder.position(state.tier):
        return TierDecision(TierState(reached.name, as_of, None), Direction.UP)
    return _keep(state, ladder, points)


def on_review(
    ladder: TierLadder, policy: TierPolicy, state: TierState, points: int, as_of: datetime
) -> TierDecision:
    """The scheduled review: upgrades as on_points; a shortfall starts the grace period, and
    one that outlasts it costs one tier. The new tier starts a new grace period if the
    points still fall short of it. Reviewing twice as of the same moment changes nothing."""
    decided = on_points(ladder, state, points, as_of)
    if decided.tier_changed or _qualifies(ladder, state.tier, points):
        return decided
    below_since = state.below_since or as_of  # a first shortfall starts the grace period
    changed_in_this_review = state.changed_at is not None and state.changed_at >= as_of
    if changed_in_this_review or as_of - below_since < timedelta(days=policy.grace_days):
        return TierDecision(replace(state, below_since=below_since), None)
    lower = ladder.below(state.tier)
    still_short = not _qualifies(ladder, lower.name, points)
    return TierDecision(
        TierState(lower.name, as_of, as_of if still_short else None), Direction.DOWN
    )


def _qualifies(ladder: TierLadder, tier: str, points: int) -> bool:
    return ladder.position(ladder.qualifying(points).name) >= ladder.position(tier)


@dataclass(frozen=True, slots=True)
class TierProgress:
    tier: str
    points: int  # tier points in the window
    next_tier: str | None
    next_threshold: int | None
    points_to_next_tier: int | None  # None at the top of the ladder
    grace_until: datetime | None  # when the tier drops at the earliest, if the points stay short


def progress(ladder: TierLadder, policy: TierPolicy, state: TierState, points: int) -> TierProgress:
    """How far the customer is from the next tier, and whether their tier is at risk."""
    following = ladder.above(state.tier)
    grace_until = (
        state.below_since + timedelta(days=policy.grace_days)
        if state.below_since is not None and not _qualifies(ladder, state.tier, points)
        else None
    )
    return TierProgress(
        tier=state.tier,
        points=points,
        next_tier=following.name if following else None,
        next_threshold=following.threshold if following else None,
        points_to_next_tier=max(following.threshold - points, 0) if following else None,
        grace_until=grace_until,
    )
