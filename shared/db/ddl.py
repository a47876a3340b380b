"""DDL every service's migrations call after creating their tables: audit and privileges."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from alembic import op
from sqlalchemy import text

from shared.db.engine import runtime_role
from shared.db.reliability import (
    append_only_sql,
    audit_function_sql,
    audit_rows_function_sql,
    audit_trigger_sql,
    statement_audit_sql,
)


def finish_schema(
    service: str, *, audited: Iterable[str] = (), append_only: Iterable[str] = ()
) -> None:
    """Audit triggers on business tables; journals and the audit table append-only.

    It installs row audit triggers, as it did when the first migrations were written; a
    later migration of every service turns them into statement triggers
    (audit_by_statement), and a new migration calling this must do the same (a test fails
    while any row audit trigger is left)."""
    op.execute(audit_function_sql(service))
    op.execute(f'REVOKE ALL ON "{service}".alembic_version FROM "{runtime_role(service)}"')
    for table in audited:
        op.execute(audit_trigger_sql(service, table))
    for table in ("audit", *append_only):
        for statement in append_only_sql(service, table, runtime_role(service)):
            op.execute(statement)


def _audited_tables(service: str, trigger_suffix: str) -> list[str]:
    """The service's tables that have the audit trigger `audit_<table><suffix>`."""
    rows = op.get_bind().execute(
        text(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :s AND NOT t.tgisinternal "
            "AND t.tgname = 'audit_' || c.relname || :suffix ORDER BY c.relname"
        ),
        {"s": service, "suffix": trigger_suffix},
    )
    return [r[0] for r in rows]


def audit_by_statement(service: str) -> None:
    """Turn every row audit trigger of the schema into statement triggers (same audit rows)."""
    op.execute(audit_rows_function_sql(service))
    for table in _audited_tables(service, ""):
        for statement in statement_audit_sql(service, table):
            op.execute(statement)


def audit_by_row(service: str) -> None:
    """The reverse of audit_by_statement (a downgrade)."""
    op.execute(audit_function_sql(service))
    for table in _audited_tables(service, "_update"):
        for event in ("update", "delete"):
            op.execute(f'DROP TRIGGER IF EXISTS audit_{table}_{event} ON "{service}"."{table}"')
        op.execute(audit_trigger_sql(service, table))


def outbox_without_sent_at(service: str) -> None:
    """The relay deletes what it published: rows already marked sent go, and with them the
    mark and the index of unsent rows (every row left is unsent; the primary key orders
    them). A relay of the previous release fails every round on the missing column (letting
    go of its lock each time) until it is replaced; the new release's relays publish what is
    left."""
    op.drop_index("ix_outbox_unsent", table_name="outbox", schema=service)
    op.execute(f'DELETE FROM "{service}".outbox WHERE sent_at IS NOT NULL')
    op.drop_column("outbox", "sent_at", schema=service)


def outbox_with_sent_at(service: str) -> None:
    """The reverse of outbox_without_sent_at (a downgrade): every row left is unsent."""
    op.add_column(
        "outbox", sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True), schema=service
    )
    op.create_index(
        "ix_outbox_unsent",
        "outbox",
        ["id"],
        unique=False,
        schema=service,
        postgresql_where=sa.text("sent_at IS NULL"),
    )
