"""The query API's contract without a database: the committed OpenAPI document, the activity
types it names, and bad parameters refused with 422 before any query runs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any, get_args

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from services.customer_profile import activity
from services.customer_profile.api import (
    OPENAPI_FILE,
    TITLE,
    VERSION,
    ActivityType,
    create_app,
    openapi_document,
    render_openapi,
)
from shared.settings import service_settings

LOYALTY = [sys.executable, "-c", "from shared.cli import main; main()"]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    # Nothing listens there: a request that reached the database would fail the test.
    nowhere = create_async_engine("postgresql+asyncpg://nobody:none@127.0.0.1:9/none")
    transport = httpx.ASGITransport(app=create_app(nowhere), raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as test_client:
        yield test_client


def test_the_committed_openapi_document_is_the_apps() -> None:
    committed = OPENAPI_FILE.read_text(encoding="utf-8")
    assert json.loads(committed) == openapi_document(), (
        "openapi.json drifted: python -m services.customer_profile.api"
    )
    assert committed == render_openapi()


def test_the_document_has_a_clean_title_version_and_no_extensions() -> None:
    document = openapi_document()
    assert (document["info"]["title"], document["info"]["version"]) == (TITLE, VERSION)
    assert set(document["paths"]) == {
        "/customers",
        "/customers/{customer_no}",
        "/customers/{customer_no}/activity",
    }

    def keys(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                yield key
                yield from keys(value)
        elif isinstance(node, list):
            for value in node:
                yield from keys(value)

    assert [k for k in keys(document) if k.startswith("x-")] == []


def test_the_activity_types_are_the_kinds_the_service_records() -> None:
    recorded = (
        set(activity.POSTING_KINDS.values())
        | {kind for kind, _ in activity.PENDING.values()}
        | {kind for kind, _, _ in activity.APPROVED.values()}
        | {"transaction", "declined", "expired", "tier_changed", "cancelled"}
    )
    assert set(get_args(ActivityType)) == recorded


@pytest.mark.parametrize(
    "path",
    [
        "/customers/C1/activity?page=0",
        "/customers/C1/activity?page=-3",
        "/customers/C1/activity?page=abc",
        "/customers/C1/activity?page=100001",
        "/customers/C1/activity?page_size=0",
        "/customers/C1/activity?page_size=101",
        "/customers/C1/activity?type=bonus",
        "/customers/C1/activity?type=earned&type=nonsense",
        "/customers/C1/activity?from=2026-13-01",
        "/customers/C1/activity?to=yesterday",
        "/customers/C1/activity?from=2026-03-02&to=2026-03-01",
        "/customers/C1234567890123/activity",
        "/customers/C1234567890123",
        "/customers/C%001",
        "/customers",
        "/customers?q=",
        "/customers?q=%20%20",
        "/customers?q=%00",
        f"/customers?q={'x' * 65}",
    ],
)
async def test_a_bad_parameter_is_a_422_not_an_internal_error(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


def test_the_query_port_is_refused_for_a_service_without_a_query_api() -> None:
    run = subprocess.run(
        [*LOYALTY, "run", "accrual", "--http-port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 1
    assert "loyalty run accrual: accrual has no HTTP query API (--http-port)" in run.stderr


def test_the_query_port_is_a_service_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert service_settings("customer_profile").query_port is None  # not served by default
    monkeypatch.setenv("LOYALTY_CUSTOMER_PROFILE_QUERY_PORT", "8081")
    monkeypatch.setenv("LOYALTY_CUSTOMER_PROFILE_QUERY_HOST", "0.0.0.0")  # noqa: S104
    settings = service_settings("customer_profile")
    assert (settings.query_host, settings.query_port) == ("0.0.0.0", 8081)  # noqa: S104
