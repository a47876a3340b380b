"""DDL every service's migrations call after creating their tables: audit and privileges."""

from __future__ import annotations

from collections.abc import Iterable

from alembic import op

from shared.db.engine import runtime_role
from shared.db.reliability import append_only_sql, audit_function_sql, audit_trigger_sql


def finish_schema(
    service: str, *, audited: Iterable[str] = (), append_only: Iterable[str] = ()
) -> None:
    """Audit triggers on business tables; journals and the audit table append-only."""
    op.execute(audit_function_sql(service))
    op.execute(f'REVOKE ALL ON "{service}".alembic_version FROM "{runtime_role(service)}"')
    for table in audited:
        op.execute(audit_trigger_sql(service, table))
    for table in ("audit", *append_only):
        for statement in append_only_sql(service, table, runtime_role(service)):
            op.execute(statement)
