"""Use cases of tiers: upgrade as tier points arrive, and the scheduled review.

A tier change bumps the profile version and announces the profile (accrual keys its
agreements on the tier), is journaled in tier_changes, and becomes a line of the customer's
history.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time

from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.loyalty import PointsPosted
from services.customer_profile import activity, repository
from services.customer_profile import tier_repository as tiers_db
from services.customer_profile.activity import ActivityRow
from services.customer_profile.profile_events import (
    PROFILE_TOPIC,
    profile_changed,
    profile_message_id,
)
from services.customer_profile.repository import CustomerRow
from services.customer_profile.tables import SCHEMA
from services.customer_profile.tier_repository import TierChangeRow, TierPointsRow
from services.customer_profile.tiers import (
    Direction,
    TierLadder,
    TierPolicy,
    TierState,
    on_points,
    on_review,
    window_start,
)
from shared.messaging.uow import UnitOfWork

TIER_CURRENCY = "tier_points"
REVIEW_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class ReviewReport:
    as_of: datetime
    reviewed: int
    upgraded: int
    downgraded: int
    at_risk: int  # short of their tier, within the grace period
    first_review: bool  # False: a review as of this moment had already run


def review_moment(day: date) -> datetime:
    """A review as of a day looks at the start of that day (UTC)."""
    return datetime.combine(day, time(0), tzinfo=UTC)


async def apply_tier_points(uow: UnitOfWork, postings: Sequence[PointsPosted]) -> None:
    """Count tier points (reversals too); a customer whose points cross a threshold goes up
    at once, as of the latest posting's `earned_at` (replaying the log decides the same)."""
    rows = [
        TierPointsRow(p.posting_id, p.customer_no, p.points, p.earned_at)
        for p in postings
        if p.currency == TIER_CURRENCY
    ]
    if not rows:
        return
    await tiers_db.record_tier_points(uow.conn, rows)
    as_of: dict[str, datetime] = {}
    for r in rows:
        as_of[r.customer_no] = max(as_of.get(r.customer_no, r.earned_at), r.earned_at)
    ladder, policy = await tiers_db.tier_rules(uow.conn)
    await _decide(uow, as_of, ladder, policy, review=False)


async def review_chunk(
    uow: UnitOfWork, as_of: datetime, ladder: TierLadder, policy: TierPolicy, *, after: str
) -> tuple[Counter[str], str | None]:
    """Review the next customers after `after`; returns the counts and the last customer
    reviewed (None when there was nobody left)."""
    customers = await tiers_db.review_candidates(
        uow.conn, lowest=ladder.lowest.name, after=after, limit=REVIEW_CHUNK
    )
    if not customers:
        return Counter(), None
    return await review_customers(uow, customers, as_of, ladder, policy), customers[-1]


async def review_customers(
    uow: UnitOfWork,
    customers: Sequence[str],
    as_of: datetime,
    ladder: TierLadder,
    policy: TierPolicy,
) -> Counter[str]:
    """Review these customers as of a moment (the review's unit of work)."""
    return await _decide(uow, dict.fromkeys(customers, as_of), ladder, policy, review=True)


async def review_tiers(engine: AsyncEngine, as_of: datetime) -> ReviewReport:
    """The scheduled review of every customer who may change tier, one transaction per chunk.

    Safe to repeat or to resume after a crash: a customer changed as of this moment is not
    changed again, and the grace clock only starts once.
    """
    async with engine.connect() as conn:
        ladder, policy = await tiers_db.tier_rules(conn)
    totals: Counter[str] = Counter()
    after: str | None = ""
    while after is not None:
        async with engine.begin() as conn:
            uow = UnitOfWork(conn, SCHEMA)
            counts, after = await review_chunk(uow, as_of, ladder, policy, after=after)
            await uow.flush_outbox()
        totals += counts
    counted = {k: totals[k] for k in ("reviewed", "upgraded", "downgraded", "at_risk")}
    async with engine.begin() as conn:
        first = await tiers_db.record_review(conn, as_of, counted)
    return ReviewReport(as_of=as_of, first_review=first, **counted)


async def _decide(
    uow: UnitOfWork,
    as_of: Mapping[str, datetime],
    ladder: TierLadder,
    policy: TierPolicy,
    *,
    review: bool,
) -> Counter[str]:
    members = await tiers_db.lock_members(uow.conn, as_of)
    windows = {c: (window_start(as_of[c], policy), as_of[c]) for c in members}
    points = await tiers_db.qualifying_points(uow.conn, windows)
    counts: Counter[str] = Counter(reviewed=len(members))
    states: list[tuple[CustomerRow, TierState]] = []
    changes: list[TierChangeRow] = []
    history: list[ActivityRow] = []
    now = datetime.now(UTC)
    for customer_no, member in members.items():
        at = as_of[customer_no]
        decision = (
            on_review(ladder, policy, member.state, points[customer_no], at)
            if review
            else on_points(ladder, member.state, points[customer_no], at)
        )
        if decision.direction is None and decision.state.below_since is not None:
            counts["at_risk"] += 1
        if decision.state == member.state:
            continue
        profile = member.profile
        if decision.direction is not None:
            counts["upgraded" if decision.direction is Direction.UP else "downgraded"] += 1
            profile = replace(
                profile, tier=decision.state.tier, profile_version=profile.profile_version + 1
            )
            announced = profile_changed(profile, now, changed_at=max(at, profile.changed_at))
            uow.publish(PROFILE_TOPIC, customer_no, announced)
            change = TierChangeRow(
                customer_no=customer_no,
                profile_version=profile.profile_version,
                from_tier=member.state.tier,
                to_tier=decision.state.tier,
                direction=decision.direction.value,
                qualifying_points=points[customer_no],
                as_of=at,
            )
            changes.append(change)
            history.append(_history(change, ladder, policy))
        states.append((profile, decision.state))
    await tiers_db.update_tier_states(uow.conn, states)
    await tiers_db.record_tier_changes(uow.conn, changes)
    await repository.record_activity(uow.conn, history)
    return counts


def _history(change: TierChangeRow, ladder: TierLadder, policy: TierPolicy) -> ActivityRow:
    upgrade = change.direction == Direction.UP.value
    # Up: the threshold reached; down: the one the previous tier needs and was missed.
    measured = change.to_tier if upgrade else change.from_tier
    threshold = next((t.threshold for t in ladder.tiers if t.name == measured), 0)
    return activity.from_tier_change(
        message_id=profile_message_id(change.customer_no, change.profile_version),
        customer_no=change.customer_no,
        as_of=change.as_of,
        from_tier=change.from_tier,
        to_tier=change.to_tier,
        upgrade=upgrade,
        points=change.qualifying_points,
        threshold=threshold,
        window_months=policy.window_months,
    )
