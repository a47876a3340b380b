"""accrual's lookup of earlier earnings probes the unique key, whatever plan it is given.

asyncpg prepares every statement; PostgreSQL then switches a prepared statement to a
generic plan after five executions when that looks no dearer, and keeps it until the
table's statistics change. On a fresh schema that plan is made for empty tables and stays
while they grow, until autovacuum's first ANALYZE. The redemption benchmark caught this
lookup (repository.originals) in such a plan reading, for every wanted transaction, all of
earnings through the index of reverses_posting_id (null in every row): 300-360 ms a batch.
"""

from __future__ import annotations

import json

from sqlalchemy import text

from services.accrual.repository import EARNED_BY_TRANSACTION
from shared.db.engine import create_engine


def _indexes(plan: dict[str, object], table: str) -> set[str]:
    """How the plan reads `table`: the indexes it scans, or the node type."""
    found: set[str] = set()
    if plan.get("Relation Name") == table:
        found.add(str(plan.get("Index Name", plan["Node Type"])))
    for child in plan.get("Plans", []):  # type: ignore[attr-defined]
        found |= _indexes(child, table)
    return found


async def test_the_lookup_of_earlier_earnings_probes_the_unique_key_in_a_generic_plan(
    pg_admin_url,
):
    # The statement itself, on an empty copy of earnings with the same indexes.
    sql = (
        EARNED_BY_TRANSACTION.replace('"accrual".earnings', "earnings_probe")
        .replace("CAST(:s AS text[])", "CAST($1 AS text[])")
        .replace("CAST(:t AS text[])", "CAST($2 AS text[])")
    )
    assert "earnings_probe" in sql
    assert "$2" in sql
    engine = create_engine(pg_admin_url)
    try:
        async with engine.connect() as conn:
            await conn.execute(
                text("CREATE TEMP TABLE earnings_probe (LIKE accrual.earnings INCLUDING ALL)")
            )
            # Rows arrive before the first ANALYZE (autovacuum has not run yet).
            await conn.execute(
                text(
                    "INSERT INTO earnings_probe (posting_id, source, source_transaction_id, "
                    "status, customer_no, currency, points, amount_cents, rule_id, rule_version, "
                    "transaction_at) SELECT 'P' || i, 'card', 'T' || i, 'posted', 'C' || i, "
                    "'points', 1, 100, 'rule', 1, now() "
                    "FROM generate_series(1, 5000) i"
                )
            )
            await conn.execute(text("SET plan_cache_mode = force_generic_plan"))
            await conn.execute(text(f"PREPARE lookup(text[], text[]) AS {sql}"))
            explained = (
                await conn.execute(
                    text("EXPLAIN (FORMAT JSON) EXECUTE lookup(ARRAY['card'], ARRAY['T1'])")
                )
            ).scalar_one()
            await conn.execute(text("DEALLOCATE lookup"))
    finally:
        await engine.dispose()
    plan = explained if isinstance(explained, list) else json.loads(explained)
    assert _indexes(plan[0]["Plan"], "earnings_probe") == {
        "earnings_probe_source_source_transaction_id_status_currency_key"
    }, plan
