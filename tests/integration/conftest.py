"""A running platform: every service as a real process on the session's broker and Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.cli import runtime_passwords
from shared.db.engine import create_engine, runtime_role
from shared.infra.embedded import Endpoints
from shared.up import platform_processes
from tests.support.processes import ServiceProcess


@pytest.fixture(scope="session")
def platform(endpoints: Endpoints, pg_admin_url: str) -> Iterator[dict[str, ServiceProcess]]:
    del pg_admin_url  # migrated and topics created
    # The processes `loyalty up` runs: the wallet's gateway lane in a process of its own.
    # customer_profile's workers are left to the modules that drive them: its miners' module
    # rebuilds and hands over the miners itself, which a worker here would do at any moment.
    # (Stopping this process for that module instead wedged its consumer group on Tansu:
    # a member leaving while another joins leaves the group in state Unknown, joins hang.)
    running = {
        p.name: ServiceProcess(
            p.service,
            endpoints,
            {"LOYALTY_CUSTOMER_PROFILE_WORKERS": "false"} if p.name == "customer_profile" else {},
            lanes=p.lanes,
            name=p.name,
        )
        for p in platform_processes()
    }
    for process in running.values():
        process.start(wait_ready=False)
    try:
        for process in running.values():
            process.wait_ready()
        yield running
    finally:
        for process in running.values():
            process.stop()


@pytest.fixture
async def wallet(pg_admin_url: str) -> AsyncIterator[AsyncEngine]:
    """The redemption schema as the service's runtime role sees it."""
    url = make_url(pg_admin_url).set(
        username=runtime_role("redemption"),
        password=runtime_passwords(["redemption"])["redemption"],
    )
    engine = create_engine(url)
    yield engine
    await engine.dispose()
