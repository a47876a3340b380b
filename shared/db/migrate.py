"""`loyalty migrate`: roles, schemas and Alembic migrations per service, idempotently."""

from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, MetaData, text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db.engine import create_engine, owner_role, runtime_role

MIGRATE_LOCK = 0x10_7A17  # one migrator at a time across the cluster


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def bootstrap_sql(service: str, password: str) -> list[str]:
    """Owner and runtime roles and the service's schema, with least privilege."""
    owner, app, schema = owner_role(service), runtime_role(service), service
    pw = _quote_literal(password)
    return [
        f"""DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{owner}') THEN
    CREATE ROLE "{owner}" NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{app}') THEN
    CREATE ROLE "{app}" LOGIN PASSWORD {pw};
  ELSE
    ALTER ROLE "{app}" LOGIN PASSWORD {pw};
  END IF;
END $$""",
        f'GRANT "{owner}" TO CURRENT_USER',
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f'CREATE SCHEMA IF NOT EXISTS "{schema}" AUTHORIZATION "{owner}"',
        f'REVOKE ALL ON SCHEMA "{schema}" FROM PUBLIC',
        f'GRANT USAGE ON SCHEMA "{schema}" TO "{app}"',
        f'ALTER ROLE "{app}" SET search_path = "{schema}"',
        (
            f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA "{schema}" '
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{app}"'
        ),
        (
            f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA "{schema}" '
            f'GRANT USAGE, SELECT ON SEQUENCES TO "{app}"'
        ),
        (
            f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA "{schema}" '
            f'GRANT EXECUTE ON FUNCTIONS TO "{app}"'
        ),
    ]


def service_metadata_of(service: str) -> MetaData:
    module = importlib.import_module(f"services.{service}.tables")
    metadata: MetaData = module.metadata
    return metadata


def alembic_config(service: str) -> Config:
    package = importlib.import_module(f"services.{service}")
    location = Path(next(iter(package.__path__))) / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(location))
    cfg.set_main_option("service", service)
    return cfg


def _upgrade(sync_conn: Connection, service: str) -> None:
    cfg = alembic_config(service)
    cfg.attributes["connection"] = sync_conn
    sync_conn.exec_driver_sql(f'SET ROLE "{owner_role(service)}"')
    sync_conn.exec_driver_sql(f'SET search_path = "{service}"')
    command.upgrade(cfg, "head")
    sync_conn.exec_driver_sql("RESET ROLE")
    sync_conn.exec_driver_sql("RESET search_path")


async def migrate_service(conn: AsyncConnection, service: str, password: str) -> None:
    for statement in bootstrap_sql(service, password):
        await conn.execute(text(statement))
    await conn.run_sync(_upgrade, service)


async def migrate(admin_url: str, services: dict[str, str]) -> None:
    """Migrate each service (name -> runtime password) under one advisory lock."""
    engine = create_engine(admin_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATE_LOCK})
            for service, password in services.items():
                await migrate_service(conn, service, password)
    finally:
        await engine.dispose()


def _autogenerate(sync_conn: Connection, service: str, message: str) -> None:
    cfg = alembic_config(service)
    cfg.attributes["connection"] = sync_conn
    location = Path(cfg.get_main_option("script_location") or "")
    (location / "versions").mkdir(parents=True, exist_ok=True)
    template = location / "script.py.mako"
    template.write_text((Path(__file__).parent / "script.py.mako").read_text())
    try:
        sync_conn.exec_driver_sql(f'SET ROLE "{owner_role(service)}"')
        command.revision(cfg, message=message, autogenerate=True)
    finally:
        template.unlink(missing_ok=True)


async def autogenerate(admin_url: str, service: str, password: str, message: str) -> None:
    """Developer tool: write a migration for the difference between tables.py and the DB."""
    engine = create_engine(admin_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            for statement in bootstrap_sql(service, password):
                await conn.execute(text(statement))
            await conn.run_sync(_upgrade, service)
            await conn.run_sync(_autogenerate, service, message)
    finally:
        await engine.dispose()
