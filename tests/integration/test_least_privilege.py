"""Each service's runtime role sees only its own schema; audit rows can't be changed."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from shared.cli import runtime_passwords
from shared.db.engine import runtime_role
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


async def test_journal_tables_are_append_only_for_the_runtime_role(pg_admin_url: str) -> None:
    accrual = _runtime_dsn(pg_admin_url, "accrual")
    for statement in ("UPDATE accrual.earnings SET points = 0", "DELETE FROM accrual.earnings"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await execute(accrual, statement)
