"""A service talks to a PostgreSQL on its own host over the Unix socket, not TCP: a round trip
over the loopback cost the client 69-97 us of CPU and PostgreSQL 42 us, over the socket 57-59
and 26-30 us (docs/benchmarks.md). The embedded cluster's socket is in its endpoints; `loyalty
up` and the session's platform hand it to every service."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from shared.db.engine import create_engine, runtime_role
from shared.infra.embedded import Endpoints
from tests.support.db import eventually, fetch
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.integration

EMBEDDED_ONLY = pytest.mark.skipif(
    os.environ.get("LOYALTY_INFRA_MODE") == "containers",
    reason="a container's PostgreSQL has no socket on this host",
)


@EMBEDDED_ONLY
async def test_an_engine_given_the_socket_uses_it_and_one_without_uses_tcp(
    endpoints: Endpoints, pg_admin_url: str
) -> None:
    assert endpoints.database_socket_dir is not None, "the embedded cluster's socket"
    for socket_dir, over_socket in ((endpoints.database_socket_dir, True), (None, False)):
        engine = create_engine(pg_admin_url, socket_dir=socket_dir)
        try:
            async with engine.connect() as conn:
                # inet_server_addr() is NULL on a Unix-socket connection
                addr = await conn.scalar(text("SELECT inet_server_addr()::text"))
        finally:
            await engine.dispose()
        assert (addr is None) is over_socket, (socket_dir, addr)


async def test_an_engine_given_a_directory_without_the_socket_falls_back_to_tcp(
    pg_admin_url: str, tmp_path: Path
) -> None:
    engine = create_engine(pg_admin_url, socket_dir=tmp_path)
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT inet_server_addr()::text")) is not None
    finally:
        await engine.dispose()


@EMBEDDED_ONLY
async def test_the_platforms_services_are_connected_over_the_socket(
    platform: dict[str, ServiceProcess], pg_admin_url: str
) -> None:
    del platform  # running
    roles = [runtime_role(s) for s in ("accrual", "redemption", "vendor_matching")]
    rows = await eventually(
        lambda: fetch(
            pg_admin_url,
            "SELECT usename, bool_and(client_addr IS NULL) AS unix FROM pg_stat_activity "
            "WHERE usename = ANY($1::text[]) GROUP BY usename",
            roles,
        ),
        lambda rows: len(rows) == len(roles),
        timeout=30,
    )
    assert {r["usename"]: r["unix"] for r in rows} == dict.fromkeys(roles, True)
