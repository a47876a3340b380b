"""The call centre's query API over real HTTP: `loyalty run customer_profile --http-port PORT`
as an OS process on the session's broker and Postgres, answering in the customer's language."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.loyalty import PendingPointsChanged
from services.customer_profile import handlers
from services.customer_profile.api import create_app, openapi_document
from shared.db.engine import create_engine, runtime_url
from shared.infra.embedded import Endpoints, free_port
from shared.settings import PlatformSettings, service_settings
from tests.integration.test_customer_profile_handlers import (
    _balance,
    _decided,
    _enriched,
    _posted,
    apply,
    customer_updated,
)
from tests.integration.test_customer_profile_tiers import tier_points
from tests.support import messages as m
from tests.support.processes import LOGS, ServiceProcess

pytestmark = pytest.mark.integration

SERVICE = "customer_profile"
LOYALTY = [sys.executable, "-c", "from shared.cli import main; main()"]
# Recent days, so that the tier points count in today's rolling window.
DAY1 = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=20)
DAY2, DAY3 = DAY1 + timedelta(days=5), DAY1 + timedelta(days=10)


class QueryApiProcess(ServiceProcess):
    """`loyalty run customer_profile --http-port PORT`: consumers and the query API."""

    def __init__(self, endpoints: Endpoints) -> None:
        super().__init__(SERVICE, endpoints)
        self.api_port = free_port()

    def start(self, *, wait_ready: bool = True) -> QueryApiProcess:
        LOGS.mkdir(parents=True, exist_ok=True)
        log = (LOGS / f"{SERVICE}-api.log").open("ab")
        self.proc = subprocess.Popen(
            [*LOYALTY, "run", SERVICE, "--http-port", str(self.api_port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if wait_ready:
            self.wait_ready()
            self.wait_api()
        return self

    def api(self, path: str) -> str:
        return f"http://127.0.0.1:{self.api_port}{path}"

    def wait_api(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.api("/openapi.json"), timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise TimeoutError(f"query API not answering on port {self.api_port}")


@pytest.fixture(scope="module")
def service(endpoints: Endpoints, pg_admin_url: str) -> Iterator[QueryApiProcess]:
    del pg_admin_url  # migrated
    process = QueryApiProcess(endpoints).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
async def engine(pg_admin_url: str) -> AsyncIterator[AsyncEngine]:
    runtime = create_engine(
        runtime_url(SERVICE, pg_admin_url, PlatformSettings(), service_settings(SERVICE))
    )
    yield runtime
    await runtime.dispose()


@dataclass(frozen=True)
class Annelie:
    customer_no: str
    first_name: str
    account_no: str


def _pending(customer: str, transaction_id: str, state: str, points: int, at: datetime) -> Any:
    return PendingPointsChanged(
        message_id=m.new_id("pending"),
        sent_at=at,
        customer_no=customer,
        transaction_id=transaction_id,
        state=state,  # type: ignore[arg-type]
        points=points,
        currency="points",
        changed_at=at,
    )


@pytest.fixture(scope="module")
async def annelie(engine: AsyncEngine) -> Annelie:
    """An Afrikaans-speaking customer who bought, earned, went up a tier, was declined a
    redemption, and has points pending."""
    who = Annelie(
        m.customer_no(), f"Annelie{uuid.uuid4().hex[:8]}", f"{uuid.uuid4().int % 10**10:010d}"
    )
    created = customer_updated(
        who.customer_no,
        DAY1 - timedelta(days=1),
        change="created",
        language="af",
        first_name=who.first_name,
        accounts=[{"account_no": who.account_no, "type": "cheque"}],
    )
    await apply(engine, handlers.update_customers, handlers.CUSTOMER_TOPIC, [created])
    bought = _enriched(who.customer_no).model_copy(update={"transaction_at": DAY1})
    await apply(engine, handlers.record_transactions, handlers.ENRICHED_TOPIC, [bought])
    earned = _posted(who.customer_no, bought.transaction_id, "points", 25)
    earned = earned.model_copy(update={"earned_at": DAY1 + timedelta(seconds=1)})
    await apply(engine, handlers.record_postings, handlers.POSTED_TOPIC, [earned])
    await apply(engine, handlers.record_balances, handlers.BALANCE_TOPIC, [
        _balance(who.customer_no, 25, DAY1 + timedelta(seconds=2))
    ])  # fmt: skip
    await apply(engine, handlers.record_postings, handlers.POSTED_TOPIC, [
        tier_points(who.customer_no, 1200, DAY2)
    ])  # fmt: skip
    declined = _decided(
        who.customer_no,
        outcome="declined",
        points=0,
        reason_code="insufficient_points",
        reason_text="Not enough points",
        decided_at=DAY3.isoformat(),
    )
    await apply(engine, handlers.record_decisions, handlers.DECIDED_TOPIC, [declined])
    hour = timedelta(hours=1)
    await apply(engine, handlers.record_pending, handlers.PENDING_TOPIC, [
        _pending(who.customer_no, "TX-WAITING", "created", 40, DAY3 + hour),
        _pending(who.customer_no, "TX-DONE", "created", 15, DAY3 + 2 * hour),
        _pending(who.customer_no, "TX-DONE", "confirmed", 15, DAY3 + 3 * hour),
    ])  # fmt: skip
    return who


async def get(service: QueryApiProcess, path: str, **params: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(service.api(path), params=params)


async def test_the_single_customer_view_is_in_afrikaans(
    service: QueryApiProcess, annelie: Annelie
) -> None:
    response = await get(service, f"/customers/{annelie.customer_no}")

    assert response.status_code == 200, response.text
    view = response.json()
    assert (view["customer_no"], view["language"]) == (annelie.customer_no, "af")
    profile = view["profile"]
    assert (profile["first_name"], profile["status"], profile["customer_class"]) == (
        annelie.first_name,
        "active",
        "retail",
    )
    assert profile["loyalty_member"] is True
    assert profile["accounts"] == [{"account_no": annelie.account_no, "type": "cheque"}]
    assert profile["cashback_account_no"] == annelie.account_no
    tier = view["tier"]
    assert (tier["code"], tier["name"], tier["next_tier"], tier["next_tier_name"]) == (
        "silver",
        "Silwer",
        "gold",
        "Goud",
    )
    assert (tier["qualifying_points"], tier["points_to_next_tier"]) == (1200, 3800)
    assert [(b["currency"], b["balance"], b["held"], b["debt"]) for b in view["balances"]] == [
        ("points", 25, 0, 0)
    ]
    assert view["pending"] == [{"currency": "points", "points": 40}]  # TX-DONE was confirmed


async def test_the_activity_is_in_afrikaans_newest_first(
    service: QueryApiProcess, annelie: Annelie
) -> None:
    response = await get(service, f"/customers/{annelie.customer_no}/activity", page_size=100)

    assert response.status_code == 200, response.text
    page = response.json()
    assert (page["language"], page["page"], page["page_size"], page["total"]) == ("af", 1, 100, 8)
    items = page["items"]
    assert [i["occurred_at"] for i in items] == sorted(
        (i["occurred_at"] for i in items), reverse=True
    )
    assert [(i["type"], i["description"]) for i in items] == [
        ("confirmed", "15 hangende punte bevestig"),
        ("pending", "15 hangende punte"),
        ("pending", "40 hangende punte"),
        (
            "declined",
            "Inwisseling by takealot geweier: Nie genoeg punte vir hierdie inwisseling nie",
        ),
        ("tier_changed", "Welkom by Silwer: jy het die afgelope 12 maande 1200 vlakpunte verdien"),
        ("earned", "Jy het 1200 vlakpunte verdien"),
        ("earned", "Jy het 25 punte verdien"),
        ("transaction", "Aankoop by Woolworths: ZAR 250,50"),
    ]
    declined = items[3]
    assert declined["reason"] == "Nie genoeg punte vir hierdie inwisseling nie"
    assert (declined["points"], declined["currency"]) == (0, "points")
    assert items[6]["points"] == 25
    assert items[7]["points"] is None


async def test_pages_cover_the_history_once_and_filters_narrow_it(
    service: QueryApiProcess, annelie: Annelie
) -> None:
    path = f"/customers/{annelie.customer_no}/activity"
    everything = (await get(service, path, page_size=100)).json()["items"]

    pages = [(await get(service, path, page=n, page_size=3)).json() for n in (1, 2, 3, 4)]

    assert [len(p["items"]) for p in pages] == [3, 3, 2, 0]
    assert {p["total"] for p in pages} == {8}
    assert [i for p in pages for i in p["items"]] == everything

    earned = (await get(service, path, type="earned")).json()
    assert [i["description"] for i in earned["items"]] == [
        "Jy het 1200 vlakpunte verdien",
        "Jy het 25 punte verdien",
    ]
    assert earned["total"] == 2
    two_types = (await get(service, path, type=["earned", "declined"])).json()
    assert [i["type"] for i in two_types["items"]] == ["declined", "earned", "earned"]

    day3 = DAY3.date().isoformat()
    since_day3 = (await get(service, path, **{"from": day3})).json()
    assert [i["type"] for i in since_day3["items"]] == [
        "confirmed",
        "pending",
        "pending",
        "declined",
    ]
    day1 = DAY1.date().isoformat()
    on_day1 = (await get(service, path, **{"from": day1, "to": day1})).json()
    assert [i["type"] for i in on_day1["items"]] == ["earned", "transaction"]
    pending_on_day3 = (await get(service, path, type="pending", to=day3, **{"from": day3})).json()
    assert [i["description"] for i in pending_on_day3["items"]] == [
        "15 hangende punte",
        "40 hangende punte",
    ]


async def test_customers_are_found_by_number_name_or_account(
    service: QueryApiProcess, annelie: Annelie
) -> None:
    for query in (annelie.customer_no, annelie.first_name.lower(), annelie.account_no):
        response = await get(service, "/customers", q=query)
        assert response.status_code == 200, response.text
        found = response.json()["customers"]
        assert [c["customer_no"] for c in found] == [annelie.customer_no], query
        assert (found[0]["language"], found[0]["tier"]) == ("af", "silver")
    nobody = await get(service, "/customers", q=f"Nobody{uuid.uuid4().hex}")
    assert nobody.json()["customers"] == []
    wildcard = await get(service, "/customers", q="%_%")  # LIKE wildcards match themselves
    assert wildcard.status_code == 200
    assert wildcard.json()["customers"] == []


async def test_a_customer_in_debt_and_an_unknown_one(
    service: QueryApiProcess, engine: AsyncEngine
) -> None:
    in_debt = m.customer_no()  # the wallet knows them; the bank has not announced them yet
    minus = _balance(in_debt, -30, DAY1, cause="reversal", change=-55)
    await apply(engine, handlers.record_balances, handlers.BALANCE_TOPIC, [minus])

    view = (await get(service, f"/customers/{in_debt}")).json()
    assert (view["language"], view["profile"], view["tier"]) == ("en", None, None)
    assert [(b["balance"], b["debt"]) for b in view["balances"]] == [(-30, 30)]

    unknown = m.customer_no()
    for path in (f"/customers/{unknown}", f"/customers/{unknown}/activity"):
        response = await get(service, path)
        assert response.status_code == 404
        assert response.json() == {"detail": f"no customer {unknown}"}


@pytest.mark.parametrize(
    "params",
    [
        {"page": "0"},
        {"page_size": "1000"},
        {"type": "bonus"},
        {"from": "2026-02-30"},
        {"from": "2026-03-02", "to": "2026-03-01"},
    ],
)
async def test_bad_parameters_are_422_over_http(
    service: QueryApiProcess, annelie: Annelie, params: dict[str, str]
) -> None:
    response = await get(service, f"/customers/{annelie.customer_no}/activity", **params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/json"


async def test_the_openapi_document_is_served(service: QueryApiProcess) -> None:
    response = await get(service, "/openapi.json")
    assert response.status_code == 200
    assert response.json() == openapi_document()


def test_sigterm_stops_the_api_with_the_service(endpoints: Endpoints, pg_admin_url: str) -> None:
    del pg_admin_url
    process = QueryApiProcess(endpoints).start()
    assert httpx.get(process.api("/openapi.json"), timeout=5).status_code == 200

    assert process.stop() == 0  # SIGTERM: consumers, relay and the API stop; exit status 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(process.api("/openapi.json"), timeout=5)


async def test_the_api_reads_in_read_only_transactions(engine: AsyncEngine) -> None:
    reader = create_app(engine).state.engine
    async with reader.connect() as conn:
        assert await conn.scalar(text("SHOW transaction_read_only")) == "on"
        with pytest.raises(DBAPIError, match="read-only transaction"):
            await conn.execute(
                text("INSERT INTO customer_profile.vendors VALUES ('v', 'V', now())")
            )
