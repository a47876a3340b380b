"""SQL for the accrual schema: classes, transactions seen, earnings, what originals stand at,
period cap usage. One statement per batch and kind."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.loyalty import TransactionEnriched
from services.accrual.ledger import CurrencyKey, Earning, Member, Original, SeenKey, TxKey
from services.accrual.rules.calendar import period_bounds
from services.accrual.rules.model import CustomerClass, Period
from services.accrual.rules.rating import CapKey
from services.accrual.tables import SCHEMA


def pairs(keys: Iterable[TxKey]) -> dict[str, list[str]]:
    unique = sorted(set(keys))
    return {"s": [k[0] for k in unique], "t": [k[1] for k in unique]}


WANTED = "unnest(CAST(:s AS text[]), CAST(:t AS text[])) AS w(source, transaction_id)"


async def members(conn: AsyncConnection, customers: Iterable[str]) -> dict[str, Member]:
    rows = await conn.execute(
        text(
            f"SELECT customer_no, segment, tier, loyalty_member, status "
            f'FROM "{SCHEMA}".customer_classes WHERE customer_no = ANY(CAST(:c AS text[]))'
        ),
        {"c": sorted(set(customers))},
    )
    return {
        r.customer_no: Member(
            CustomerClass(r.segment, r.tier), r.loyalty_member and r.status != "closed"
        )
        for r in rows
    }


async def upsert_classes(conn: AsyncConnection, rows: Sequence[tuple[object, ...]]) -> None:
    """(customer_no, segment, tier, member, status, version); older versions are ignored."""
    if not rows:
        return
    cols = list(zip(*rows, strict=True))
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".customer_classes AS c '
            "(customer_no, segment, tier, loyalty_member, status, profile_version) "
            "SELECT * FROM unnest(CAST(:a AS text[]), CAST(:b AS text[]), CAST(:c AS text[]), "
            "CAST(:d AS boolean[]), CAST(:e AS text[]), CAST(:f AS int[])) "
            "ON CONFLICT (customer_no) DO UPDATE SET segment = excluded.segment, "
            "tier = excluded.tier, loyalty_member = excluded.loyalty_member, "
            "status = excluded.status, profile_version = excluded.profile_version "
            "WHERE c.profile_version < excluded.profile_version"
        ),
        dict(zip("abcdef", (list(c) for c in cols), strict=True)),
    )


# Statements that reach rows by key probe the key per wanted row (a LATERAL subquery that
# OFFSET 0 keeps apart): a plain join to the unnest(...) of keys may be planned, generically,
# while a table is empty, as a hash join over a sequential scan of the whole table, and the
# plan stays until the table's first ANALYZE (tests/integration/test_plan_cache.py).
SEEN = (
    f"SELECT t.source, t.transaction_id, t.status FROM {WANTED} CROSS JOIN LATERAL ("
    f'SELECT source, transaction_id, status FROM "{SCHEMA}".transactions '
    "WHERE source = w.source AND transaction_id = w.transaction_id OFFSET 0) t"
)


async def seen(conn: AsyncConnection, keys: Iterable[TxKey]) -> set[SeenKey]:
    """Every status already recorded of the given transactions."""
    rows = await conn.execute(text(SEEN), pairs(keys))
    return {(r.source, r.transaction_id, r.status) for r in rows}


async def record_transactions(
    conn: AsyncConnection, rows: Sequence[tuple[TransactionEnriched, Member]]
) -> set[SeenKey]:
    """Record each transaction and status once; returns the keys recorded now."""
    if not rows:
        return set()
    result = await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".transactions (source, transaction_id, status, kind, '
            "original_transaction_id, customer_no, segment, tier, earns, amount_cents, "
            "transaction_at, facts) "
            "SELECT * FROM unnest(CAST(:s AS text[]), CAST(:t AS text[]), CAST(:st AS text[]), "
            "CAST(:k AS text[]), CAST(:o AS text[]), CAST(:c AS text[]), CAST(:seg AS text[]), "
            "CAST(:tier AS text[]), CAST(:e AS boolean[]), CAST(:a AS bigint[]), "
            "CAST(:at AS timestamptz[]), CAST(CAST(:f AS text[]) AS jsonb[])) "
            "ON CONFLICT DO NOTHING RETURNING source, transaction_id, status"
        ),
        {
            "s": [tx.source for tx, _ in rows],
            "t": [tx.transaction_id for tx, _ in rows],
            "st": [tx.status for tx, _ in rows],
            "k": [tx.kind for tx, _ in rows],
            "o": [tx.original_transaction_id for tx, _ in rows],
            "c": [tx.customer_no for tx, _ in rows],
            "seg": [m.customer.segment for _, m in rows],
            "tier": [m.customer.tier for _, m in rows],
            "e": [m.earns for _, m in rows],
            "a": [tx.amount_cents for tx, _ in rows],
            "at": [tx.transaction_at for tx, _ in rows],
            "f": [tx.model_dump_json() for tx, _ in rows],
        },
    )
    return {(r.source, r.transaction_id, r.status) for r in result}


_EARNING_COLUMNS = (
    ("posting_id", "text"), ("source", "text"), ("source_transaction_id", "text"),
    ("status", "text"), ("customer_no", "text"), ("currency", "text"), ("points", "bigint"),
    ("amount_cents", "bigint"), ("rule_id", "text"), ("rule_version", "int"),
    ("reverses_posting_id", "text"), ("expires_at", "date"), ("transaction_at", "timestamptz"),
    ("agreement_id", "text"), ("rule_points", "bigint"), ("bonus_points", "bigint"),
    ("promotion_id", "text"), ("programme_version", "int"),
)  # fmt: skip


async def insert_earnings(conn: AsyncConnection, earnings: Sequence[Earning]) -> set[str]:
    """Insert; returns the posting ids that are new (the rest were earned before)."""
    if not earnings:
        return set()
    names = ", ".join(name for name, _ in _EARNING_COLUMNS)
    arrays = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _EARNING_COLUMNS)
    rows = await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".earnings ({names}) SELECT * FROM unnest({arrays}) '
            "ON CONFLICT DO NOTHING RETURNING posting_id"
        ),
        {name: [getattr(e, name) for e in earnings] for name, _ in _EARNING_COLUMNS},
    )
    return {r.posting_id for r in rows}


# The probe's only condition the planner may use is the unique key: the reversal filter
# sits outside the subquery (OFFSET 0 keeps it there). Inside, a plan made while earnings
# was empty (PostgreSQL's generic plan of a prepared statement, kept until the table's first
# ANALYZE) read every row through the index of reverses_posting_id, null in all of them,
# for every wanted transaction: 300-360 ms a batch in the redemption benchmark.
EARNED_BY_TRANSACTION = (
    "SELECT e.source, e.source_transaction_id, e.currency, e.posting_id, e.customer_no, "
    "e.amount_cents, e.points, e.rule_id, e.rule_version, e.rule_points, e.bonus_points "
    f"FROM {WANTED} CROSS JOIN LATERAL (SELECT * "
    f'FROM "{SCHEMA}".earnings e WHERE e.source = w.source '
    "AND e.source_transaction_id = w.transaction_id AND e.status = 'posted' OFFSET 0) e "
    "WHERE e.reverses_posting_id IS NULL"
)


async def originals(conn: AsyncConnection, keys: Iterable[TxKey]) -> dict[CurrencyKey, Original]:
    """What the given transactions earned per currency, re-rating and reversals included."""
    params = pairs(keys)
    if not params["s"]:
        return {}
    found: dict[CurrencyKey, Original] = {}
    earned = await conn.execute(text(EARNED_BY_TRANSACTION), params)
    for r in earned:
        found[(r.source, r.source_transaction_id, r.currency)] = Original(
            r.posting_id, r.customer_no, r.amount_cents, r.points, 0, r.rule_id, r.rule_version,
            r.rule_points, r.bonus_points,
        )  # fmt: skip
    await _add_rerating(conn, params, found)
    postings = {o.posting_id: o for o in found.values()}
    if postings:
        taken = await conn.execute(
            text(
                "SELECT reverses_posting_id, CAST(-SUM(points) AS bigint) AS points "
                f'FROM "{SCHEMA}".earnings WHERE reverses_posting_id = ANY(CAST(:p AS text[])) '
                "GROUP BY reverses_posting_id"
            ),
            {"p": sorted(postings)},
        )
        for r in taken:
            postings[r.reverses_posting_id].reversed += r.points
    return found


async def _add_rerating(
    conn: AsyncConnection, params: dict[str, list[str]], found: dict[CurrencyKey, Original]
) -> None:
    rows = await conn.execute(
        text(
            "SELECT l.source, l.source_transaction_id, l.currency, l.customer_no, "
            "CAST(SUM(l.earned_delta) AS bigint) AS earned, "
            "CAST(SUM(l.reversed_delta) AS bigint) AS reversed, "
            "CAST(SUM(l.rule_points_delta) AS bigint) AS rule_points, "
            "CAST(SUM(l.bonus_points_delta) AS bigint) AS bonus, "
            "MIN(l.posting_id) AS posting_id, MAX(l.rule_id) AS rule_id, "
            "MAX(l.rule_version) AS rule_version, MAX(t.amount_cents) AS amount_cents "
            f'FROM "{SCHEMA}".rerate_lines l JOIN {WANTED} '
            "ON (l.source, l.source_transaction_id) = (w.source, w.transaction_id) "
            f'JOIN "{SCHEMA}".transactions t ON (t.source, t.transaction_id, t.status) = '
            "(l.source, l.source_transaction_id, 'posted') "
            "GROUP BY l.source, l.source_transaction_id, l.currency, l.customer_no"
        ),
        params,
    )
    for r in rows:
        key = (r.source, r.source_transaction_id, r.currency)
        original = found.get(key)
        if original is None:
            original = Original(
                r.posting_id or f"rerate:{key}", r.customer_no, r.amount_cents, 0, 0,
                r.rule_id or "", r.rule_version or 0,
            )  # fmt: skip
            found[key] = original
        original.earned += r.earned
        original.reversed += r.reversed
        original.rule_points += r.rule_points
        original.bonus_points += r.bonus


async def cap_usage(
    conn: AsyncConnection, keys: Iterable[CapKey], timezone: str, before: datetime | None = None
) -> dict[CapKey, int]:
    """Points each rule or promotion gave each customer in the period, adjustments included;
    only earnings that happened before `before` when given (re-rating a window)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    bounds = [period_bounds(k[5], cast("Period", k[4]), timezone) for k in wanted]
    rows = await conn.execute(
        text(
            f"""
WITH q AS (
    SELECT * FROM unnest(CAST(:c AS text[]), CAST(:k AS text[]), CAST(:cur AS text[]),
                         CAST(:id AS text[]), CAST(:s AS timestamptz[]), CAST(:e AS timestamptz[]))
        WITH ORDINALITY AS q(customer_no, kind, currency, id, s, e, i)
)
SELECT q.i,
    COALESCE((SELECT SUM(CASE WHEN q.kind = 'rule' THEN e.rule_points ELSE e.bonus_points END)
              FROM "{SCHEMA}".earnings e
              WHERE e.customer_no = q.customer_no AND e.currency = q.currency
                -- not "IS NULL": without statistics the planner would AND in the bitmap of
                -- ix_earnings_reverses_posting_id, i.e. every earning, once per key
                AND COALESCE(e.reverses_posting_id, '') = ''
                AND e.transaction_at >= q.s AND e.transaction_at < q.e
                AND CASE WHEN q.kind = 'rule' THEN e.rule_id ELSE e.promotion_id END = q.id), 0)
  + COALESCE((SELECT SUM(CASE WHEN q.kind = 'rule' THEN l.rule_points_delta
                              ELSE l.bonus_points_delta END)
              FROM "{SCHEMA}".rerate_lines l
              WHERE l.customer_no = q.customer_no AND l.currency = q.currency
                AND l.transaction_at >= q.s AND l.transaction_at < q.e
                AND CASE WHEN q.kind = 'rule' THEN l.rule_id ELSE l.promotion_id END = q.id), 0)
    AS used
FROM q
"""
        ),
        {
            "c": [k[0] for k in wanted],
            "k": [k[1] for k in wanted],
            "cur": [k[2] for k in wanted],
            "id": [k[3] for k in wanted],
            "s": [b[0] for b in bounds],
            "e": [b[1] if before is None else min(b[1], before) for b in bounds],
        },
    )
    used: dict[int, Any] = {r.i: r.used for r in rows}
    return {key: int(used[i + 1]) for i, key in enumerate(wanted)}
