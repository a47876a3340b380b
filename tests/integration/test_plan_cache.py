"""Statements that reach rows by key read them by key, whatever plan PostgreSQL gives them.

asyncpg prepares every statement; PostgreSQL then switches a prepared statement to a
generic plan after five executions when that looks no dearer, and keeps it until the
table's statistics change. On a fresh schema (a new install, a replay) that plan is made
while the tables are empty or small and stays while they grow, until autovacuum's first
ANALYZE a minute or more later. The redemption benchmark caught accrual's lookup of earlier
earnings in such a plan reading, for every wanted transaction, all of earnings through the
index of reverses_posting_id (null in every row), 300-360 ms a batch; and auto_explain
caught the wallet's accounts lock hash-joining the batch's keys to a sequential scan of
every account, ~140 ms a call.

Each test copies a service's tables (indexes included, no rows, autovacuum off) into a
scratch schema and asks PostgreSQL for the generic plan of the service's own statements
(EXPLAIN (GENERIC_PLAN), the plan a prepared statement would keep) while the tables hold
0, 300 and 5,000 rows: none may scan a whole table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.accrual import open_items
from services.accrual import repository as accrual
from services.customer_profile import tier_repository as tiers
from services.redemption import repository as wallet
from shared.db.engine import create_engine

SIZES = (0, 300, 5000)  # 300: where accrual's former lookup chose reverses_posting_id
SCRATCH = "plan_probe"

EXPLAIN = """
CREATE FUNCTION pg_temp.generic_plan(statement text) RETURNS json LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
    EXECUTE 'EXPLAIN (GENERIC_PLAN, FORMAT JSON) ' || statement INTO plan;
    RETURN plan;
END $$
"""

# Rows a..b of each table a statement reads by key.
ROWS = "generate_series(CAST(:a AS int), CAST(:b AS int)) i"
FILLS = {
    "accrual": {
        "transactions": (
            "INSERT INTO {t} (source, transaction_id, status, kind, customer_no, segment, tier, "
            "earns, amount_cents, transaction_at, facts) SELECT 'card', 'T' || i, 'posted', "
            "'purchase', 'C' || i, 'retail', 'blue', true, 100, now(), '{{}}' FROM {rows}"
        ),
        "pending_points": (
            "INSERT INTO {t} (source, transaction_id, currency, customer_no, points, state, "
            "rule_id, rule_version, transaction_at) SELECT 'card', 'T' || i, 'points', "
            "'C' || i, 1, 'pending', 'rule', 1, now() FROM {rows}"
        ),
        "held_reversals": (
            "INSERT INTO {t} (source, transaction_id, status, original_transaction_id, "
            "customer_no, amount_cents, state, reason) SELECT 'card', 'R' || i, 'posted', "
            "'T' || i, 'C' || i, 100, 'held', 'original not seen' FROM {rows}"
        ),
        "earnings": (
            "INSERT INTO {t} (posting_id, source, source_transaction_id, status, customer_no, "
            "currency, points, amount_cents, rule_id, rule_version, transaction_at) "
            "SELECT 'P' || i, 'card', 'T' || i, 'posted', 'C' || i, 'points', 1, 100, 'rule', 1, "
            "now() FROM {rows}"
        ),
    },
    "customer_profile": {
        "tier_points": (
            "INSERT INTO {t} (posting_id, customer_no, points, earned_at) "
            "SELECT 'P' || i, 'C' || (i % 1000), 1, now() FROM {rows}"
        ),
    },
    "redemption": {
        "accounts": (
            "INSERT INTO {t} (customer_no, currency, balance) "
            "SELECT 'C' || i, 'points', i FROM {rows}"
        ),
        "customers": (
            "INSERT INTO {t} (customer_no, preferred_language, loyalty_member, status, "
            "profile_version) SELECT 'C' || i, 'en', true, 'active', 1 "
            "FROM {rows}"
        ),
        "vendors": (
            "INSERT INTO {t} (vendor_id, accepts_redemptions, active, changed_at) "
            "SELECT 'V' || i, true, true, now() FROM {rows}"
        ),
        "lots": (
            "INSERT INTO {t} (customer_no, currency, posting_id, initial_points, "
            "remaining_points, expires_at) SELECT 'C' || (i % 1000), 'points', 'P' || i, 10, "
            "10, DATE '2030-01-01' + (i % 365) FROM {rows}"
        ),
        "redemptions": (
            "INSERT INTO {t} (vendor_id, request_id, action, message_id, customer_no, points, "
            "outcome, decision, decided_at) SELECT 'V' || (i % 50), 'R' || i, 'redeem', "
            "'M' || i, 'C' || i, 1, 'approved', '{{}}', now() FROM {rows}"
        ),
    },
}


Read = tuple[str, str, str]  # node type, table, index ("" for none)


def _reads(plan: dict[str, object]) -> Iterator[Read]:
    """How each node of the plan that reads a table reads it."""
    if "Relation Name" in plan:
        yield str(plan["Node Type"]), str(plan["Relation Name"]), str(plan.get("Index Name", ""))
    for child in plan.get("Plans", []):  # type: ignore[attr-defined]
        yield from _reads(child)


def _positional(sql: str, schema: str) -> str:
    """The statement on the scratch copy, its named parameters numbered in order."""
    numbers: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        return f"${numbers.setdefault(match.group(1), len(numbers) + 1)}"

    sql = sql.replace(f'"{schema}".', f"{SCRATCH}.")
    return re.sub(r"(?<![:\w]):([A-Za-z_]\w*)", number, sql)


async def _generic_plans(
    conn: AsyncConnection, schema: str, statements: dict[str, str]
) -> dict[tuple[int, str], list[Read]]:
    """For each size and statement: how its generic plan reads tables."""
    await conn.execute(text(f"DROP SCHEMA IF EXISTS {SCRATCH} CASCADE"))
    await conn.execute(text(f"CREATE SCHEMA {SCRATCH}"))
    tables = (
        await conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}
        )
    ).scalars()
    for table in tables:
        await conn.execute(
            text(
                f"CREATE TABLE {SCRATCH}.{table} (LIKE {schema}.{table} INCLUDING ALL) "
                "WITH (autovacuum_enabled = false)"
            )
        )
    await conn.execute(text(EXPLAIN))
    found: dict[tuple[int, str], list[Read]] = {}
    done = 0
    for size in SIZES:
        if size:
            for table, fill in FILLS[schema].items():
                await conn.execute(
                    text(fill.format(t=f"{SCRATCH}.{table}", rows=ROWS)), {"a": done + 1, "b": size}
                )
            done = size
        for name, sql in statements.items():
            plan = (
                await conn.execute(
                    text("SELECT pg_temp.generic_plan(:q)"), {"q": _positional(sql, schema)}
                )
            ).scalar_one()
            plan = plan if isinstance(plan, list) else json.loads(plan)
            found[(size, name)] = list(_reads(plan[0]["Plan"]))
    return found


@pytest.mark.parametrize(
    ("schema", "statements"),
    [
        (
            "accrual",
            {
                "EARNED_BY_TRANSACTION": accrual.EARNED_BY_TRANSACTION,
                "SEEN": accrual.SEEN,
                "PENDING_FOR": open_items.PENDING_FOR,
                "SETTLE_PENDING": open_items.SETTLE_PENDING,
                "HELD_FOR": open_items.HELD_FOR,
            },
        ),
        ("customer_profile", {"QUALIFYING_POINTS": tiers.QUALIFYING_POINTS}),
        (
            "redemption",
            {
                name: getattr(wallet, name)
                for name in (
                    "LOCK_ACCOUNTS",
                    "SAVE_BALANCES",
                    "LOCK_OPEN_LOTS",
                    "LOCK_USABLE_LOTS",
                    "CONSUME_LOTS",
                    "USABLE_LOTS",
                    "EARLIER_DECISIONS",
                    "DECISION_LOOKUPS",
                    "DECISION_ACCOUNTS_AND_LOTS",
                    "WRITE_DECISIONS",
                )
            },
        ),
    ],
)
async def test_generic_plans_of_keyed_statements_scan_no_whole_table(
    pg_admin_url, schema, statements
):
    engine = create_engine(pg_admin_url)
    try:
        async with engine.begin() as conn:
            found = await _generic_plans(conn, schema, statements)
            await conn.rollback()
    finally:
        await engine.dispose()
    assert len(found) == len(SIZES) * len(statements)
    whole = {key: [r for r in reads if r[0] == "Seq Scan"] for key, reads in found.items()}
    assert {key: scans for key, scans in whole.items() if scans} == {}


async def test_the_lookup_of_earlier_earnings_reads_earnings_by_its_unique_key(pg_admin_url):
    engine = create_engine(pg_admin_url)
    try:
        async with engine.begin() as conn:
            found = await _generic_plans(conn, "accrual", {"lookup": accrual.EARNED_BY_TRANSACTION})
            await conn.rollback()
    finally:
        await engine.dispose()
    key = "earnings_source_source_transaction_id_status_currency_key"
    assert {size: reads for (size, _), reads in found.items()} == {
        size: [("Index Scan", "earnings", key)] for size in SIZES
    }


async def test_the_accounts_lock_returns_the_wanted_accounts_in_the_order_asked(pg_admin_url):
    engine = create_engine(pg_admin_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO redemption.accounts (customer_no, currency, balance) "
                    "VALUES ('plan-C9', 'points', 9), ('plan-C2', 'points', 2), "
                    "('plan-C2', 'tier', 20)"
                )
            )
            locked = (
                await conn.execute(
                    text(wallet.LOCK_ACCOUNTS),
                    {"c": ["plan-C2", "plan-C2", "plan-C5", "plan-C9"],
                     "cur": ["points", "tier", "points", "points"]},
                )
            ).all()  # fmt: skip
            await conn.rollback()
    finally:
        await engine.dispose()
    assert [(r.customer_no, r.currency, r.balance) for r in locked] == [
        ("plan-C2", "points", 2),
        ("plan-C2", "tier", 20),
        ("plan-C9", "points", 9),
    ]
