"""SQL for what is still open: pending (potential) points and held refunds and reversals.

State changes are conditional (`WHERE state = 'pending'` / `'held'`), so that a lapse run and
a posting racing for the same pending points settle it once, whoever comes first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.accrual.facts import activity_from_facts
from services.accrual.ledger import (
    CurrencyKey,
    Hold,
    Pending,
    PendingChange,
    Resolution,
    TxKey,
)
from services.accrual.repository import WANTED, pairs
from services.accrual.rules.model import Activity
from services.accrual.tables import SCHEMA

PENDING_COLUMNS = (
    "source, transaction_id, currency, customer_no, points, rule_id, rule_version, "
    "transaction_at, state, reason"
)


# Keyed statements probe their keys whatever the plan (see repository.SEEN).
PENDING_FOR = (
    f"SELECT p.* FROM {WANTED} CROSS JOIN LATERAL (SELECT {PENDING_COLUMNS} "
    f'FROM "{SCHEMA}".pending_points '
    "WHERE source = w.source AND transaction_id = w.transaction_id OFFSET 0) p"
)
SETTLE_PENDING = (
    f'UPDATE "{SCHEMA}".pending_points p SET state = u.state, reason = u.reason, '
    "changed_at = now() FROM unnest(CAST(:s AS text[]), CAST(:t AS text[]), "
    "CAST(:cur AS text[]), CAST(:st AS text[]), CAST(:r AS text[])) "
    "AS u(source, transaction_id, currency, state, reason) "
    "WHERE (p.source, p.transaction_id, p.currency) = "
    "(u.source, u.transaction_id, u.currency) AND p.state = 'pending' "
    "AND p.source = ANY(CAST(:s AS text[])) AND p.transaction_id = ANY(CAST(:t AS text[])) "
    "RETURNING p.source, p.transaction_id, p.currency"
)
HELD_FOR = (
    "SELECT h.source, h.original_transaction_id, t.facts "
    "FROM unnest(CAST(:s AS text[]), CAST(:t AS text[])) AS w(source, original) "
    "CROSS JOIN LATERAL (SELECT source, transaction_id, status, original_transaction_id, "
    f'held_at FROM "{SCHEMA}".held_reversals WHERE source = w.source '
    "AND original_transaction_id = w.original AND state = 'held' OFFSET 0) h "
    "CROSS JOIN LATERAL (SELECT facts, received_at "
    f'FROM "{SCHEMA}".transactions WHERE source = h.source '
    "AND transaction_id = h.transaction_id AND status = h.status OFFSET 0) t "
    "ORDER BY h.held_at, t.received_at, h.transaction_id"
)


async def pending_for(conn: AsyncConnection, keys: Iterable[TxKey]) -> dict[CurrencyKey, Pending]:
    rows = await conn.execute(text(PENDING_FOR), pairs(keys))
    return {(r.source, r.transaction_id, r.currency): Pending(*r) for r in rows}


async def save_pending(
    conn: AsyncConnection, changes: Sequence[PendingChange]
) -> list[PendingChange]:
    """Create and settle pending points; returns the changes that took effect."""
    created = [c.pending for c in changes if c.state == "created"]
    done: list[PendingChange] = []
    if created:
        rows = await conn.execute(
            text(
                f'INSERT INTO "{SCHEMA}".pending_points (source, transaction_id, currency, '
                "customer_no, points, rule_id, rule_version, transaction_at, state) "
                "SELECT *, 'pending' FROM unnest(CAST(:s AS text[]), CAST(:t AS text[]), "
                "CAST(:cur AS text[]), CAST(:c AS text[]), CAST(:p AS bigint[]), "
                "CAST(:r AS text[]), CAST(:rv AS int[]), CAST(:at AS timestamptz[])) "
                "ON CONFLICT DO NOTHING RETURNING source, transaction_id, currency"
            ),
            {
                "s": [p.source for p in created],
                "t": [p.transaction_id for p in created],
                "cur": [p.currency for p in created],
                "c": [p.customer_no for p in created],
                "p": [p.points for p in created],
                "r": [p.rule_id for p in created],
                "rv": [p.rule_version for p in created],
                "at": [p.transaction_at for p in created],
            },
        )
        inserted = {tuple(r) for r in rows}
        done += [c for c in changes if c.state == "created" and _key(c.pending) in inserted]
    settled = [c for c in changes if c.state != "created"]
    if settled:
        rows = await conn.execute(
            text(SETTLE_PENDING),
            {
                "s": [c.pending.source for c in settled],
                "t": [c.pending.transaction_id for c in settled],
                "cur": [c.pending.currency for c in settled],
                "st": [c.state for c in settled],
                "r": [c.pending.reason for c in settled],
            },
        )
        updated = {tuple(r) for r in rows}
        done += [c for c in settled if _key(c.pending) in updated]
    return done


def _key(p: Pending) -> tuple[str, str, str]:
    return (p.source, p.transaction_id, p.currency)


async def lapse_pending(conn: AsyncConnection, older_than: datetime, limit: int) -> list[Pending]:
    """Cancel pending points whose authorization is older than `older_than`, oldest first."""
    rows = await conn.execute(
        text(
            f"""
UPDATE "{SCHEMA}".pending_points p SET state = 'cancelled', reason = 'lapsed',
       changed_at = now()
FROM (SELECT source, transaction_id, currency FROM "{SCHEMA}".pending_points
      WHERE state = 'pending' AND transaction_at < :t
      ORDER BY transaction_at, source, transaction_id, currency
      LIMIT :n FOR UPDATE SKIP LOCKED) due
WHERE (p.source, p.transaction_id, p.currency) = (due.source, due.transaction_id, due.currency)
RETURNING {", ".join(f"p.{c.strip()}" for c in PENDING_COLUMNS.split(","))}
"""
        ),
        {"t": older_than, "n": limit},
    )
    return [Pending(*r) for r in rows]


async def held_for(conn: AsyncConnection, keys: Iterable[TxKey]) -> dict[TxKey, list[Activity]]:
    """Refunds and reversals waiting for the given originals, in the order they were held."""
    rows = await conn.execute(text(HELD_FOR), pairs(keys))
    held: dict[TxKey, list[Activity]] = {}
    for r in rows:
        held.setdefault((r.source, r.original_transaction_id), []).append(
            activity_from_facts(r.facts)
        )
    return held


async def save_holds(conn: AsyncConnection, holds: Sequence[Hold]) -> None:
    if not holds:
        return
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".held_reversals (source, transaction_id, status, '
            "original_transaction_id, customer_no, amount_cents, state, reason) "
            "SELECT s, t, st, o, c, a, 'held', r FROM unnest(CAST(:s AS text[]), "
            "CAST(:t AS text[]), CAST(:st AS text[]), CAST(:o AS text[]), CAST(:c AS text[]), "
            "CAST(:a AS bigint[]), CAST(:r AS text[])) AS h(s, t, st, o, c, a, r) "
            "ON CONFLICT DO NOTHING"
        ),
        {
            "s": [h.activity.source for h in holds],
            "t": [h.activity.transaction_id for h in holds],
            "st": [h.activity.status for h in holds],
            "o": [h.activity.original_transaction_id or "" for h in holds],
            "c": [h.activity.customer_no for h in holds],
            "a": [h.activity.amount_cents for h in holds],
            "r": [h.reason for h in holds],
        },
    )


async def resolve_holds(
    conn: AsyncConnection, resolutions: Sequence[Resolution], by: str = "accrual"
) -> None:
    if not resolutions:
        return
    await conn.execute(
        text(
            f'UPDATE "{SCHEMA}".held_reversals h SET state = u.state, resolved_at = now(), '
            "resolved_by = :by FROM unnest(CAST(:s AS text[]), CAST(:t AS text[]), "
            "CAST(:st AS text[]), CAST(:state AS text[])) AS u(source, transaction_id, status, "
            "state) WHERE (h.source, h.transaction_id, h.status) = "
            "(u.source, u.transaction_id, u.status) AND h.state = 'held'"
        ),
        {
            "s": [r.key[0] for r in resolutions],
            "t": [r.key[1] for r in resolutions],
            "st": [r.key[2] for r in resolutions],
            "state": [r.state for r in resolutions],
            "by": by,
        },
    )
