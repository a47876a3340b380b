"""Session fixtures: real infrastructure (embedded by default, containers by setting)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.vendor_matching import native
from shared.infra import embedded
from shared.infra.embedded import Endpoints
from shared.settings import SERVICES, PlatformSettings


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to test compiled matching modules older than their sources (they would hide
    the edit): `make test` rebuilds them."""
    del config
    if stale := native.stale():
        raise pytest.UsageError(
            "compiled vendor matching modules are out of date ("
            + "; ".join(stale)
            + "): run `make test`, or `python -m services.vendor_matching.native build`"
        )


def _passwords() -> dict[str, str]:
    from shared.cli import runtime_passwords

    return runtime_passwords(list(SERVICES))


@pytest.fixture(scope="session")
def endpoints() -> Iterator[Endpoints]:
    """A broker and a Postgres for the whole session.

    LOYALTY_INFRA_MODE=containers uses testcontainers (Apache Kafka KRaft, Postgres) where a
    Docker engine is reachable; external URLs in the environment are used as they are;
    otherwise embedded Tansu and PostgreSQL are started in a project-local directory.
    """
    platform = PlatformSettings()
    if platform.kafka_bootstrap and platform.database_url:
        yield Endpoints(platform.kafka_bootstrap, platform.database_url)
        return
    if os.environ.get("LOYALTY_INFRA_MODE") == "containers":
        from shared.infra import containers

        found, stop = containers.start()
        try:
            yield found
        finally:
            stop()
        return
    home = Path(".loyalty") / f"test-{os.getpid()}"
    state = embedded.up(home)
    try:
        yield state.endpoints
    finally:
        embedded.down(home, wipe=True)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_admin_url(endpoints: Endpoints) -> str:
    """The admin URL of a Postgres with every service migrated (and the topics created)."""
    from shared.db.migrate import migrate
    from shared.messaging.topics import create_topics

    asyncio.run(migrate(endpoints.database_url, _passwords()))
    asyncio.run(create_topics(endpoints.kafka_bootstrap))
    return endpoints.database_url


@pytest.fixture(scope="session")
def migrated_admin_url(pg_admin_url: str) -> str:
    return pg_admin_url
