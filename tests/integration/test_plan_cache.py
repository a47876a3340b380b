"""Every statement is planned for its own parameters, never with a plan kept from before.

asyncpg prepares every statement; PostgreSQL's default then switches a prepared statement to
a generic plan after five executions when that looks no dearer, and keeps it until the
table's statistics change. On a fresh schema that plan is made for empty tables and stays
while they grow, until autovacuum's first ANALYZE. The redemption benchmark caught accrual's
lookup of earlier earnings (repository.originals) running such a plan: for every wanted
transaction it read all of earnings through the index of reverses_posting_id (null in every
row), 300-360 ms a batch and most of PostgreSQL's CPU.
"""

from __future__ import annotations

from sqlalchemy import text

from shared.db.engine import create_engine

# The shape of repository.originals, on a copy of accrual's earnings table.
LOOKUP = (
    "SELECT e.posting_id FROM unnest(CAST($1 AS text[]), CAST($2 AS text[])) "
    "AS w(source, transaction_id) CROSS JOIN LATERAL (SELECT * FROM earnings_probe e "
    "WHERE e.source = w.source AND e.source_transaction_id = w.transaction_id "
    "AND e.status = 'posted' AND e.reverses_posting_id IS NULL OFFSET 0) e"
)


def _array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"


async def _keys_planned_for(conn, mode: str | None) -> str:  # type: ignore[no-untyped-def]
    """Prepare the lookup on an empty table, run it six times for batches of 200 keys, and
    return the plan's line for the keys when it is then run for three."""
    if mode is not None:
        await conn.execute(text(f"SET plan_cache_mode = {mode}"))
    await conn.execute(text("DROP TABLE IF EXISTS earnings_probe"))
    await conn.execute(
        text("CREATE TEMP TABLE earnings_probe (LIKE accrual.earnings INCLUDING ALL)")
    )
    name = f"lookup_{mode or 'ours'}"
    await conn.execute(text(f"PREPARE {name}(text[], text[]) AS {LOOKUP}"))
    batch = (_array(["card"] * 200), _array([f"T{i}" for i in range(200)]))
    for _ in range(6):
        await conn.execute(text(f"EXECUTE {name}({batch[0]}, {batch[1]})"))
    three = (_array(["card"] * 3), _array(["T1", "T2", "T3"]))
    plan = (await conn.execute(text(f"EXPLAIN EXECUTE {name}({three[0]}, {three[1]})"))).all()
    return next(line for (line,) in plan if "Function Scan on w" in line)


async def test_the_services_connections_plan_each_statement_for_its_parameters(pg_admin_url):
    engine = create_engine(pg_admin_url)
    try:
        async with engine.connect() as conn:
            mode = (await conn.execute(text("SHOW plan_cache_mode"))).scalar_one()
            assert mode == "force_custom_plan"
            ours = await _keys_planned_for(conn, None)
            default = await _keys_planned_for(conn, "auto")
    finally:
        await engine.dispose()
    # Ours is planned for the three keys it is given; PostgreSQL's default runs the generic
    # plan it settled on, made for any number of keys (it guesses ten) and an empty table.
    assert "rows=3 " in ours, ours
    assert "rows=10 " in default, default
