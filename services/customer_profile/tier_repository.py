"""SQL for tiers: the ladder and policy, tier points, customers' tier state, tier changes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.customer_profile.repository import CustomerRow
from services.customer_profile.tables import SCHEMA
from services.customer_profile.tiers import Tier, TierLadder, TierPolicy, TierState

PROGRAMME = "default"


@dataclass(frozen=True, slots=True)
class TierPointsRow:
    posting_id: str
    customer_no: str
    points: int
    earned_at: datetime


@dataclass(frozen=True, slots=True)
class Member:
    """A customer's profile (to announce it) and where they stand on the ladder."""

    profile: CustomerRow
    state: TierState


@dataclass(frozen=True, slots=True)
class TierChangeRow:
    customer_no: str
    profile_version: int
    from_tier: str
    to_tier: str
    direction: str
    qualifying_points: int
    as_of: datetime


async def tier_rules(conn: AsyncConnection) -> tuple[TierLadder, TierPolicy]:
    """The configured ladder and policy (data, so that a programme can change them)."""
    tiers = await conn.execute(text(f'SELECT tier, rank, threshold FROM "{SCHEMA}".tiers'))
    ladder = TierLadder.of(Tier(r.tier, r.rank, r.threshold) for r in tiers)
    policy = (
        await conn.execute(
            text(
                f'SELECT window_months, grace_days FROM "{SCHEMA}".tier_policy WHERE programme = :p'
            ),
            {"p": PROGRAMME},
        )
    ).one_or_none()
    return ladder, TierPolicy(*policy) if policy else TierPolicy()


async def record_tier_points(conn: AsyncConnection, rows: Sequence[TierPointsRow]) -> None:
    """Append tier-qualifying postings; a posting already recorded counts once."""
    if not rows:
        return
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".tier_points (posting_id, customer_no, points, earned_at) '
            "SELECT * FROM unnest(CAST(:p AS text[]), CAST(:c AS text[]), "
            "CAST(:n AS bigint[]), CAST(:e AS timestamptz[])) ON CONFLICT DO NOTHING"
        ),
        {
            "p": [r.posting_id for r in rows],
            "c": [r.customer_no for r in rows],
            "n": [r.points for r in rows],
            "e": [r.earned_at for r in rows],
        },
    )


# One probe of ix_tier_points_customer_earned per customer, whatever the plan: a plain join
# may be planned, generically, on an empty table as a scan of all of tier_points, kept until
# its first ANALYZE (tests/integration/test_plan_cache.py).
QUALIFYING_POINTS = (
    "SELECT w.c AS customer_no, COALESCE(t.points, 0) AS points FROM unnest("
    "CAST(:c AS text[]), CAST(:s AS timestamptz[]), CAST(:e AS timestamptz[])) "
    "AS w(c, s, e) CROSS JOIN LATERAL (SELECT SUM(points) AS points "
    f'FROM "{SCHEMA}".tier_points WHERE customer_no = w.c '
    "AND earned_at > w.s AND earned_at <= w.e) t"
)


async def qualifying_points(
    conn: AsyncConnection, windows: Mapping[str, tuple[datetime, datetime]]
) -> dict[str, int]:
    """Tier points per customer earned in (start, end]; customers without any have 0."""
    if not windows:
        return {}
    customers = sorted(windows)
    rows = await conn.execute(
        text(QUALIFYING_POINTS),
        {
            "c": customers,
            "s": [windows[c][0] for c in customers],
            "e": [windows[c][1] for c in customers],
        },
    )
    return {r.customer_no: int(r.points) for r in rows}


_MEMBER_COLUMNS = (
    "customer_no, first_name, last_name, preferred_language, segment, loyalty_member, status, "
    "tier, accounts, cashback_account_no, changed_at, profile_version, tier_changed_at, "
    "tier_below_since"
)


async def lock_members(conn: AsyncConnection, customer_nos: Iterable[str]) -> dict[str, Member]:
    """Active customers among these, locked in sorted order for the rest of the transaction."""
    wanted = sorted(set(customer_nos))
    if not wanted:
        return {}
    rows = await conn.execute(
        text(
            f'SELECT {_MEMBER_COLUMNS} FROM "{SCHEMA}".customers '
            "WHERE customer_no = ANY(CAST(:c AS text[])) AND status = 'active' "
            "ORDER BY customer_no FOR UPDATE"
        ),
        {"c": wanted},
    )
    members = {}
    for r in rows.mappings():
        profile = CustomerRow(**{k: r[k] for k in CustomerRow.__dataclass_fields__})
        state = TierState(r["tier"], r["tier_changed_at"], r["tier_below_since"])
        members[r["customer_no"]] = Member(profile, state)
    return members


async def review_candidates(
    conn: AsyncConnection, *, lowest: str, after: str, limit: int
) -> list[str]:
    """Active customers a review may concern, in customer order from `after`: those above the
    lowest tier, those on the grace clock, and those with any tier points."""
    rows = await conn.execute(
        text(
            f'SELECT c.customer_no FROM "{SCHEMA}".customers c '
            "WHERE c.status = 'active' AND c.customer_no > :after "
            "AND (c.tier <> :lowest OR c.tier_below_since IS NOT NULL OR EXISTS ("
            f'SELECT 1 FROM "{SCHEMA}".tier_points t WHERE t.customer_no = c.customer_no)) '
            "ORDER BY c.customer_no LIMIT :n"
        ),
        {"after": after, "lowest": lowest, "n": limit},
    )
    return [r.customer_no for r in rows]


async def update_tier_states(
    conn: AsyncConnection, members: Sequence[tuple[CustomerRow, TierState]]
) -> None:
    """Write each customer's tier, profile version and grace clock (rows in customer order)."""
    if not members:
        return
    ordered = sorted(members, key=lambda m: m[0].customer_no)
    await conn.execute(
        text(
            f'UPDATE "{SCHEMA}".customers c SET tier = u.t, profile_version = u.v, '
            "tier_changed_at = u.ch, tier_below_since = u.b, updated_at = now() FROM unnest("
            "CAST(:c AS text[]), CAST(:t AS text[]), CAST(:v AS int[]), "
            "CAST(:ch AS timestamptz[]), CAST(:b AS timestamptz[])) AS u(c, t, v, ch, b) "
            "WHERE c.customer_no = u.c"
        ),
        {
            "c": [p.customer_no for p, _ in ordered],
            "t": [s.tier for _, s in ordered],
            "v": [p.profile_version for p, _ in ordered],
            "ch": [s.changed_at for _, s in ordered],
            "b": [s.below_since for _, s in ordered],
        },
    )


async def record_tier_changes(conn: AsyncConnection, rows: Sequence[TierChangeRow]) -> None:
    if not rows:
        return
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".tier_changes (customer_no, profile_version, from_tier, '
            "to_tier, direction, qualifying_points, as_of) SELECT * FROM unnest("
            "CAST(:c AS text[]), CAST(:v AS int[]), CAST(:f AS text[]), CAST(:t AS text[]), "
            "CAST(:d AS text[]), CAST(:q AS bigint[]), CAST(:a AS timestamptz[])) "
            "ON CONFLICT DO NOTHING"
        ),
        {
            "c": [r.customer_no for r in rows],
            "v": [r.profile_version for r in rows],
            "f": [r.from_tier for r in rows],
            "t": [r.to_tier for r in rows],
            "d": [r.direction for r in rows],
            "q": [r.qualifying_points for r in rows],
            "a": [r.as_of for r in rows],
        },
    )


async def record_review(conn: AsyncConnection, as_of: datetime, counts: Mapping[str, int]) -> bool:
    """Note a finished review; False when one as of the same moment was already noted."""
    result = await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".tier_reviews (as_of, reviewed, upgraded, downgraded, '
            "at_risk) VALUES (:a, :r, :u, :d, :k) ON CONFLICT DO NOTHING"
        ),
        {
            "a": as_of,
            "r": counts["reviewed"],
            "u": counts["upgraded"],
            "d": counts["downgraded"],
            "k": counts["at_risk"],
        },
    )
    return result.rowcount == 1


async def reviewed(conn: AsyncConnection, as_of: datetime) -> bool:
    """Whether a review as of this moment has finished."""
    found = await conn.execute(
        text(f'SELECT 1 FROM "{SCHEMA}".tier_reviews WHERE as_of = :a'), {"a": as_of}
    )
    return found.first() is not None
