"""Each service's runtime role sees only its own schema; audit rows can't be changed."""

from __future__ import annotations

import asyncpg
import pytest
from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from shared.cli import runtime_passwords
from shared.db.engine import create_engine, owner_role, runtime_role
from shared.db.migrate import MIGRATE_LOCK, alembic_config
from tests.support.db import execute, fetch

pytestmark = pytest.mark.integration


def _runtime_dsn(admin_url: str, service: str) -> str:
    password = runtime_passwords([service])[service]
    url = make_url(admin_url).set(username=runtime_role(service), password=password)
    return url.render_as_string(hide_password=False)


async def test_runtime_role_cannot_read_or_write_another_services_schema(
    pg_admin_url: str,
) -> None:
    accrual = _runtime_dsn(pg_admin_url, "accrual")
    for statement in (
        "SELECT count(*) FROM redemption.accounts",
        "INSERT INTO redemption.inbox (topic, message_id, payload_hash) VALUES ('t', 'x', '')",
        "SELECT count(*) FROM vendor_matching.vendors",
        "CREATE TABLE accrual.sneaky (id int)",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await execute(accrual, statement)
    # ...while its own schema works.
    assert await fetch(accrual, "SELECT count(*) FROM accrual.earnings")


async def test_updates_and_deletes_are_audited_and_audit_rows_are_immutable(
    pg_admin_url: str,
) -> None:
    accrual = _runtime_dsn(pg_admin_url, "accrual")
    await execute(
        accrual,
        "INSERT INTO accrual.customer_classes VALUES ('AUDIT0000001', 'retail', 'blue', true, "
        "'active', 1) ON CONFLICT DO NOTHING",
    )
    await execute(
        accrual,
        "UPDATE accrual.customer_classes SET tier = 'gold', profile_version = 2 "
        "WHERE customer_no = 'AUDIT0000001'",
    )
    await execute(
        accrual, "DELETE FROM accrual.customer_classes WHERE customer_no = 'AUDIT0000001'"
    )
    rows = await fetch(
        accrual,
        "SELECT operation, old_row->>'tier' AS tier, changed_by FROM accrual.audit "
        "WHERE old_row->>'customer_no' = 'AUDIT0000001' ORDER BY id",
    )
    assert [(r["operation"], r["tier"]) for r in rows] == [("UPDATE", "blue"), ("DELETE", "gold")]
    assert rows[0]["changed_by"] == "accrual_app"
    for statement in ("UPDATE accrual.audit SET operation = 'X'", "DELETE FROM accrual.audit"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await execute(accrual, statement)


async def test_a_statement_changing_many_rows_audits_each_row_as_it_was(
    pg_admin_url: str,
) -> None:
    accrual = _runtime_dsn(pg_admin_url, "accrual")
    customers = [f"AUDITMANY{i:03d}" for i in range(3)]
    for n, customer in enumerate(customers):
        await execute(
            accrual,
            "INSERT INTO accrual.customer_classes VALUES ($1, 'retail', $2, true, 'active', 1) "
            "ON CONFLICT DO NOTHING",
            customer,
            f"tier{n}",
        )
    await execute(
        accrual,
        "UPDATE accrual.customer_classes SET tier = 'gold' WHERE customer_no LIKE 'AUDITMANY%'",
    )
    await execute(
        accrual, "DELETE FROM accrual.customer_classes WHERE customer_no LIKE 'AUDITMANY%'"
    )
    rows = await fetch(
        accrual,
        "SELECT operation, old_row->>'customer_no' AS customer, old_row->>'tier' AS tier, "
        "changed_by, txid FROM accrual.audit WHERE old_row->>'customer_no' LIKE 'AUDITMANY%'",
    )
    assert sorted((r["operation"], r["customer"], r["tier"]) for r in rows) == sorted(
        [("UPDATE", c, f"tier{n}") for n, c in enumerate(customers)]
        + [("DELETE", c, "gold") for c in customers]
    )
    assert {r["changed_by"] for r in rows} == {"accrual_app"}
    assert len({r["txid"] for r in rows if r["operation"] == "UPDATE"}) == 1  # one statement


async def test_audit_triggers_run_once_a_statement(pg_admin_url: str) -> None:
    """Every audited table of every service: statement triggers for UPDATE and DELETE."""
    triggers = await fetch(
        pg_admin_url,
        "SELECT n.nspname AS schema, c.relname AS table_name, t.tgname, "
        "(t.tgtype & 1) = 1 AS per_row FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE NOT t.tgisinternal AND t.tgname LIKE 'audit%'",
    )
    assert triggers
    assert [r["tgname"] for r in triggers if r["per_row"]] == []
    audited = {(r["schema"], r["table_name"]) for r in triggers}
    assert ("redemption", "accounts") in audited
    assert ("customer_profile", "balances") in audited
    for schema, table in audited:
        names = {r["tgname"] for r in triggers if (r["schema"], r["table_name"]) == (schema, table)}
        assert names == {f"audit_{table}_update", f"audit_{table}_delete"}, (schema, table)


async def test_journal_tables_are_append_only_for_the_runtime_role(pg_admin_url: str) -> None:
    accrual = _runtime_dsn(pg_admin_url, "accrual")
    for statement in ("UPDATE accrual.earnings SET points = 0", "DELETE FROM accrual.earnings"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await execute(accrual, statement)


def _audit_trigger_kinds(sync_conn: Connection) -> set[tuple[str, bool]]:
    rows = sync_conn.exec_driver_sql(
        "SELECT t.tgname, (t.tgtype & 1) = 1 FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'redemption' AND c.relname = 'accounts' AND t.tgname LIKE 'audit%'"
    )
    return {(r[0], r[1]) for r in rows}


def _outbox_columns(sync_conn: Connection) -> set[str]:
    rows = sync_conn.exec_driver_sql(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'redemption' AND table_name = 'outbox'"
    )
    return {r[0] for r in rows}


def _down_and_up(sync_conn: Connection) -> list[tuple[set[tuple[str, bool]], set[str]]]:
    cfg = alembic_config("redemption")
    cfg.attributes["connection"] = sync_conn
    sync_conn.exec_driver_sql(f'SET ROLE "{owner_role("redemption")}"')
    sync_conn.exec_driver_sql('SET search_path = "redemption"')
    command.downgrade(cfg, "0005")
    down = _audit_trigger_kinds(sync_conn), _outbox_columns(sync_conn)
    command.upgrade(cfg, "head")
    up = _audit_trigger_kinds(sync_conn), _outbox_columns(sync_conn)
    sync_conn.exec_driver_sql("RESET ROLE")
    sync_conn.exec_driver_sql("RESET search_path")
    return [down, up]


async def test_the_audit_and_outbox_migrations_go_down_and_up_again(
    pg_admin_url: str,
) -> None:
    engine = create_engine(pg_admin_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATE_LOCK})
            down, up = await conn.run_sync(_down_and_up)
    finally:
        await engine.dispose()
    assert down[0] == {("audit_accounts", True)}
    assert up[0] == {("audit_accounts_update", False), ("audit_accounts_delete", False)}
    # Down, published rows were marked sent; up, the relay deletes them and the mark is gone.
    assert "sent_at" in down[1]
    assert up[1] == down[1] - {"sent_at"}
