"""Tier distribution over time: how many members each tier had at the end of every month.

It reads loyalty.customer.profile-changed.v1 (keyed by customer; the highest profile_version
wins). A customer counts in their tier while active and a member of the programme; every change
of that standing on a (local) day is one `left` of the old tier and one `joined` of the new, so
the members of a tier on any day are the joins minus the leaves up to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Date, DateTime, Integer, Table, Text, text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.loyalty import ProfileChanged
from services.customer_profile.miners.base import Miner, local_day
from services.customer_profile.tables import SCHEMA, metadata
from shared.messaging.uow import Inbound, Subscription, UnitOfWork

PROFILE_TOPIC = "loyalty.customer.profile-changed.v1"

members = Table(
    "report_tier_members",
    metadata,
    Column("customer_no", Text, primary_key=True),
    Column("tier", Text),  # null: not counted (closed, or not a member)
    Column("profile_version", Integer, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)
moves = Table(
    "report_tier_moves",
    metadata,
    Column("day", Date, primary_key=True),
    Column("tier", Text, primary_key=True),
    Column("joined", Integer, nullable=False),
    Column("left", Integer, nullable=False),
)


@dataclass
class Standing:
    tier: str | None
    profile_version: int
    changed_at: datetime


def counted_tier(p: ProfileChanged) -> str | None:
    return p.tier if p.status == "active" and p.loyalty_member else None


def tier_moves(
    standings: dict[str, Standing], profiles: Iterable[ProfileChanged]
) -> dict[tuple[date, str], list[int]]:
    """Apply the profiles (newer versions only) to the standings; the joins and leaves."""
    result: dict[tuple[date, str], list[int]] = {}
    for p in sorted(profiles, key=lambda p: (p.customer_no, p.profile_version)):
        old = standings.get(p.customer_no)
        if old is not None and old.profile_version >= p.profile_version:
            continue
        tier = counted_tier(p)
        before = old.tier if old is not None else None
        if tier != before:
            day = local_day(p.changed_at)
            if before is not None:
                result.setdefault((day, before), [0, 0])[1] += 1
            if tier is not None:
                result.setdefault((day, tier), [0, 0])[0] += 1
        standings[p.customer_no] = Standing(tier, p.profile_version, p.changed_at)
    return result


async def apply(uow: UnitOfWork, batch: Sequence[Inbound[ProfileChanged]]) -> None:
    profiles = [item.message for item in batch]
    if not profiles:
        return
    conn = uow.conn
    wanted = sorted({p.customer_no for p in profiles})
    rows = await conn.execute(
        text(
            "SELECT customer_no, tier, profile_version, changed_at "
            f'FROM "{SCHEMA}".report_tier_members WHERE customer_no = ANY(CAST(:c AS text[])) '
            "ORDER BY customer_no FOR UPDATE"
        ),
        {"c": wanted},
    )
    standings = {r.customer_no: Standing(r.tier, r.profile_version, r.changed_at) for r in rows}
    counts = tier_moves(standings, profiles)
    changed = [c for c in wanted if c in standings]
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".report_tier_members '
            "(customer_no, tier, profile_version, changed_at) "
            "SELECT * FROM unnest(CAST(:c AS text[]), CAST(:t AS text[]), CAST(:v AS int[]), "
            "CAST(:a AS timestamptz[])) ON CONFLICT (customer_no) DO UPDATE SET "
            "tier = excluded.tier, profile_version = excluded.profile_version, "
            "changed_at = excluded.changed_at"
        ),
        {
            "c": changed,
            "t": [standings[c].tier for c in changed],
            "v": [standings[c].profile_version for c in changed],
            "a": [standings[c].changed_at for c in changed],
        },
    )
    keys = sorted(counts)
    if keys:
        await conn.execute(
            text(
                f'INSERT INTO "{SCHEMA}".report_tier_moves (day, tier, joined, "left") '
                "SELECT * FROM unnest(CAST(:d AS date[]), CAST(:t AS text[]), "
                "CAST(:j AS int[]), CAST(:l AS int[])) ON CONFLICT (day, tier) DO UPDATE SET "
                "joined = report_tier_moves.joined + excluded.joined, "
                '"left" = report_tier_moves."left" + excluded."left"'
            ),
            {
                "d": [k[0] for k in keys],
                "t": [k[1] for k in keys],
                "j": [counts[k][0] for k in keys],
                "l": [counts[k][1] for k in keys],
            },
        )


# --- the report --------------------------------------------------------------------------


def month_ends(first: date, as_of: date) -> list[date]:
    """The last day of every month from `first`'s to `as_of`'s; `as_of` itself last."""
    ends: list[date] = []
    month = first.replace(day=1)
    while month <= as_of:
        following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        ends.append(min(following.fromordinal(following.toordinal() - 1), as_of))
        month = following
    return ends


def distribution(
    rows: Iterable[dict[str, Any]], ladder: Sequence[str], as_of: date
) -> list[dict[str, Any]]:
    """Members per tier at every month end up to `as_of`."""
    moves_by_day = sorted((r["day"], r["tier"], int(r["joined"]) - int(r["left"])) for r in rows)
    if not moves_by_day:
        return []
    tiers = list(ladder) + sorted({t for _, t, _ in moves_by_day} - set(ladder))
    counts = dict.fromkeys(tiers, 0)
    series: list[dict[str, Any]] = []
    i = 0
    for end in month_ends(moves_by_day[0][0], as_of):
        while i < len(moves_by_day) and moves_by_day[i][0] <= end:
            counts[moves_by_day[i][1]] += moves_by_day[i][2]
            i += 1
        total = sum(counts.values())
        series.append(
            {
                "as_of": end,
                "members": total,
                "tiers": {
                    t: {"members": n, "share": round(n / total, 4) if total else 0.0}
                    for t, n in counts.items()
                },
            }
        )
    return series


async def tier_report(conn: AsyncConnection, as_of: date) -> list[dict[str, Any]]:
    ladder = [
        r.tier for r in await conn.execute(text(f'SELECT tier FROM "{SCHEMA}".tiers ORDER BY rank'))
    ]
    rows = await conn.execute(
        text(
            f'SELECT day, tier, joined, "left" FROM "{SCHEMA}".report_tier_moves '
            "WHERE day <= :d ORDER BY day, tier"
        ),
        {"d": as_of},
    )
    return distribution([dict(r) for r in rows.mappings()], ladder, as_of)


MINER = Miner(
    name="tiers",
    subscriptions=(Subscription(PROFILE_TOPIC, apply),),
    tables=(moves, members),
    description="tier distribution: members per tier at every month end",
)
