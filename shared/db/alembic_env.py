"""The Alembic environment every service's migrations/env.py delegates to."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from shared.db.migrate import service_metadata_of


def run() -> None:
    config = context.config
    service = config.get_main_option("service")
    connection: Connection | None = config.attributes.get("connection")
    if service is None or connection is None:
        raise RuntimeError("run migrations with `loyalty migrate`, which provides the connection")
    context.configure(
        connection=connection,
        target_metadata=service_metadata_of(service),
        version_table_schema=service,
        include_schemas=True,
        # Autogenerate compares only this service's schema (never another service's).
        include_name=lambda name, type_, _parents: type_ != "schema" or name == service,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()
