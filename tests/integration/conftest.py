"""A running platform: every service as a real process on the session's broker and Postgres."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.infra.embedded import Endpoints
from shared.settings import SERVICES
from tests.support.processes import ServiceProcess


@pytest.fixture(scope="session")
def platform(endpoints: Endpoints, pg_admin_url: str) -> Iterator[dict[str, ServiceProcess]]:
    del pg_admin_url  # migrated and topics created
    running = {name: ServiceProcess(name, endpoints) for name in SERVICES}
    for process in running.values():
        process.start(wait_ready=False)
    try:
        for process in running.values():
            process.wait_ready()
        yield running
    finally:
        for process in running.values():
            process.stop()
