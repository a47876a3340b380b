"""The console over real Postgres: no customer data without logging in, a CSRF token on every
form, roles on the server, the customer's view in the customer's language, and adjustments
that go to the outbox at once or wait for a second person's approval."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.loyalty import (
    AdjustmentRequested,
    BalanceChanged,
    MatchReviewDecided,
    MatchReviewRequested,
    ReviewCandidate,
)
from contracts.vendor_gateway import RedemptionRequested
from services.customer_profile import handlers
from services.customer_profile.api import create_app
from services.customer_profile.console import reviews, store
from services.customer_profile.console.passwords import hash_password
from services.customer_profile.console.settings import ConsoleSettings
from services.customer_profile.console.users import User
from services.customer_profile.console.web import console_router
from shared.db.engine import create_engine, runtime_url
from shared.infra.embedded import Endpoints
from shared.settings import PlatformSettings, service_settings
from tests.integration.test_customer_profile_handlers import _decided, apply
from tests.integration.test_customer_profile_tiers import EARNED, new_customer, post, tier_points
from tests.support.db import eventually, fetch
from tests.support.kafka import published

pytestmark = pytest.mark.integration

SERVICE = "customer_profile"
PASSWORDS = {"agent.thandi": "thandi-pw", "agent.sipho": "sipho-pw", "sup.pieter": "pieter-pw"}
LIMIT = 1000


@pytest.fixture(scope="module")
async def engine(pg_admin_url: str) -> AsyncIterator[AsyncEngine]:
    runtime = create_engine(
        runtime_url(SERVICE, pg_admin_url, PlatformSettings(), service_settings(SERVICE))
    )
    async with runtime.begin() as conn:
        await store.import_users(
            conn,
            [
                User("agent.thandi", "agent", hash_password(PASSWORDS["agent.thandi"])),
                User("agent.sipho", "agent", hash_password(PASSWORDS["agent.sipho"])),
                User("sup.pieter", "supervisor", hash_password(PASSWORDS["sup.pieter"])),
            ],
        )
    yield runtime
    await runtime.dispose()


PutOut = Callable[..., Awaitable[list[bytes]]]


@pytest.fixture(scope="module")
def put_out(endpoints: Endpoints, pg_admin_url: str) -> PutOut:
    """What customer_profile put out on a topic for some keys: published or in its outbox."""

    async def read(topic: str, keys: list[str], expect: int = 0) -> list[bytes]:
        return await published(
            endpoints.kafka_bootstrap, pg_admin_url, SERVICE, topic, keys=keys, expect=expect
        )

    return read


@pytest.fixture(scope="module")
def app(engine: AsyncEngine) -> Any:
    settings = ConsoleSettings(adjustment_limit=LIMIT)
    return create_app(engine, extra_routers=[console_router(engine, settings)])


@pytest.fixture(scope="module")
async def afrikaans_customer(engine: AsyncEngine) -> str:
    customer = await new_customer(engine, language="af")
    await post(engine, tier_points(customer, 1200, EARNED))
    await post(engine, tier_points(customer, 300, EARNED, currency="points"))
    await apply(
        engine,
        handlers.record_decisions,
        handlers.DECIDED_TOPIC,
        [_decided(customer, vendor_id="woolworths", points=40)],
    )
    return customer


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


@contextlib.asynccontextmanager
async def logged_in(app: Any, username: str) -> AsyncIterator[httpx.AsyncClient]:
    async with client(app) as browser:
        form = await browser.get("/console/login")
        answer = await browser.post(
            "/console/login",
            data={
                "username": username,
                "password": PASSWORDS[username],
                "csrf_token": csrf_of(form.text),
            },
        )
        assert answer.status_code == 303, answer.text
        yield browser


async def test_no_customer_data_without_logging_in(app: Any, afrikaans_customer: str) -> None:
    async with client(app) as browser:
        for path in ("/console/", f"/console/customers/{afrikaans_customer}", "/console/approvals"):
            answer = await browser.get(path)
            assert answer.status_code == 303
            assert answer.headers["location"] == "/console/login"
        forged = await browser.post(
            f"/console/customers/{afrikaans_customer}/adjustments",
            data={"points": "5", "reason_code": "goodwill", "reason_text": "x"},
        )
        assert forged.status_code == 303
        browser.cookies.set("loyalty_console", "made-up-session", path="/console")
        answer = await browser.get(f"/console/customers/{afrikaans_customer}")
        assert answer.status_code == 303


async def test_a_wrong_password_or_a_missing_login_token_is_refused_and_audited(
    app: Any, pg_admin_url: str
) -> None:
    async with client(app) as browser:
        form = await browser.get("/console/login")
        assert "HttpOnly" in form.headers["set-cookie"]
        assert "SameSite=strict" in form.headers["set-cookie"]
        wrong = await browser.post(
            "/console/login",
            data={"username": "agent.sipho", "password": "guess", "csrf_token": csrf_of(form.text)},
        )
        assert wrong.status_code == 401
        assert "Wrong username or password" in wrong.text
        assert "loyalty_console=" not in wrong.headers.get("set-cookie", "")
        no_token = await browser.post(
            "/console/login", data={"username": "agent.sipho", "password": PASSWORDS["agent.sipho"]}
        )
        assert no_token.status_code == 403
    failed = await fetch(
        pg_admin_url,
        "SELECT actor FROM customer_profile.console_audit "
        "WHERE action = 'login.failed' AND actor = 'agent.sipho'",
    )
    assert failed


async def test_the_session_cookie_is_httponly_and_strict_and_logout_ends_it(app: Any) -> None:
    async with client(app) as browser:
        form = await browser.get("/console/login")
        answer = await browser.post(
            "/console/login",
            data={
                "username": "agent.sipho",
                "password": PASSWORDS["agent.sipho"],
                "csrf_token": csrf_of(form.text),
            },
        )
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("loyalty_console=")
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert "Path=/console" in cookie
        home = await browser.get("/console/")
        assert home.status_code == 200
        assert home.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in home.headers["content-security-policy"]
        stolen = browser.cookies.get("loyalty_console")
        without_token = await browser.post("/console/logout", data={})
        assert without_token.status_code == 403
        out = await browser.post("/console/logout", data={"csrf_token": csrf_of(home.text)})
        assert out.status_code == 303
    async with client(app) as other:
        other.cookies.set("loyalty_console", stolen or "", path="/console")
        assert (await other.get("/console/")).status_code == 303  # the session is gone


async def test_find_a_customer_and_see_their_view_in_afrikaans(
    app: Any, afrikaans_customer: str, pg_admin_url: str
) -> None:
    async with logged_in(app, "agent.thandi") as browser:
        found = await browser.get("/console/", params={"q": afrikaans_customer})
        assert f'/console/customers/{afrikaans_customer}"' in found.text
        page = await browser.get(f"/console/customers/{afrikaans_customer}")
        assert page.status_code == 200
        html = page.text
        assert '<div lang="af">' in html
        for afrikaans in (
            "Profiel",
            "Vlak",
            "Silwer",
            "Aktiwiteit",
            "Inwisselings",
            "Jy het 300 punte verdien",
            "Ingewissel",
        ):
            assert afrikaans in html, afrikaans
        filtered = await browser.get(
            f"/console/customers/{afrikaans_customer}", params={"type": "redeemed"}
        )
        assert "Jy het 300 punte verdien" not in filtered.text
        unknown = await browser.get("/console/customers/999999999999")
        assert unknown.status_code == 404
    viewed = await fetch(
        pg_admin_url,
        "SELECT actor FROM customer_profile.console_audit "
        "WHERE action = 'customer.viewed' AND customer_no = $1",
        afrikaans_customer,
    )
    assert {r["actor"] for r in viewed} == {"agent.thandi"}


async def test_a_form_without_the_sessions_csrf_token_changes_nothing(
    app: Any, afrikaans_customer: str, put_out: PutOut
) -> None:
    before = await _adjustments(put_out, afrikaans_customer)
    async with logged_in(app, "agent.thandi") as browser:
        answer = await browser.post(
            f"/console/customers/{afrikaans_customer}/adjustments",
            data={
                "points": "5",
                "currency": "points",
                "reason_code": "goodwill",
                "reason_text": "forged",
                "csrf_token": "not-the-token",
            },
        )
        assert answer.status_code == 403
    assert await _adjustments(put_out, afrikaans_customer) == before


async def test_an_agents_adjustment_within_the_limit_goes_to_accrual_with_the_agent_as_actor(
    app: Any, afrikaans_customer: str, put_out: PutOut
) -> None:
    async with logged_in(app, "agent.thandi") as browser:
        page = await browser.get(f"/console/customers/{afrikaans_customer}")
        answer = await browser.post(
            f"/console/customers/{afrikaans_customer}/adjustments",
            data={
                "points": "150",
                "currency": "points",
                "reason_code": "goodwill",
                "reason_text": "missed partner bonus",
                "csrf_token": csrf_of(page.text),
            },
            follow_redirects=True,
        )
        assert "Adjustment ADJ-" in answer.text
        bad = await browser.post(
            f"/console/customers/{afrikaans_customer}/adjustments",
            data={
                "points": "1.5",
                "currency": "points",
                "reason_code": "goodwill",
                "reason_text": "x",
                "csrf_token": csrf_of(page.text),
            },
        )
        assert bad.status_code == 422
        assert "whole number" in bad.text
    [sent] = await _adjustments(put_out, afrikaans_customer, expect=1)
    assert (sent.points, sent.actor, sent.reason_code) == (150, "agent.thandi", "goodwill")


async def test_an_agent_is_refused_a_large_adjustment_until_a_supervisor_approves_it(
    app: Any, engine: AsyncEngine, pg_admin_url: str, put_out: PutOut
) -> None:
    customer = await new_customer(engine, language="af")
    async with logged_in(app, "agent.sipho") as agent:
        page = await agent.get(f"/console/customers/{customer}")
        answer = await agent.post(
            f"/console/customers/{customer}/adjustments",
            data={
                "points": "5000",
                "currency": "points",
                "reason_code": "complaint",
                "reason_text": "long-standing complaint",
                "csrf_token": csrf_of(page.text),
            },
            follow_redirects=True,
        )
        assert "Refused: this adjustment is above your limit" in answer.text
        assert (await agent.get("/console/approvals")).status_code == 403
        [approval_id] = re.findall(r"APR-\d{8}-[0-9a-f]{12}", answer.text)[:1]
        forbidden = await agent.post(
            f"/console/approvals/{approval_id}",
            data={"decision": "approve", "csrf_token": csrf_of(page.text)},
        )
        assert forbidden.status_code == 403
    assert await _adjustments(put_out, customer) == []

    async with logged_in(app, "sup.pieter") as supervisor:
        queue = await supervisor.get("/console/approvals")
        assert approval_id in queue.text
        approved = await supervisor.post(
            f"/console/approvals/{approval_id}",
            data={"decision": "approve", "csrf_token": csrf_of(queue.text)},
        )
        assert approved.status_code == 303
        again = await supervisor.post(
            f"/console/approvals/{approval_id}",
            data={"decision": "reject", "csrf_token": csrf_of(queue.text)},
        )
        assert again.status_code == 409  # decided once
    [sent] = await _adjustments(put_out, customer, expect=1)
    assert (sent.points, sent.actor) == (5000, "agent.sipho")
    assert f"approved by sup.pieter, {approval_id}" in sent.reason_text
    audit = await fetch(
        pg_admin_url,
        "SELECT actor, action FROM customer_profile.console_audit "
        "WHERE customer_no = $1 AND action LIKE 'adjustment.%' ORDER BY id",
        customer,
    )
    assert [(r["actor"], r["action"]) for r in audit] == [
        ("agent.sipho", "adjustment.approval_requested"),
        ("sup.pieter", "adjustment.approved"),
    ]


async def test_nobody_approves_their_own_request_and_the_audit_log_cannot_be_changed(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO customer_profile.console_approvals (approval_id, customer_no, "
                "currency, points, reason_code, reason_text, requested_by) "
                "VALUES ('APR-SELF', '1', 'points', 5000, 'goodwill', 'x', 'sup.pieter')"
            )
        )
    with pytest.raises(DBAPIError, match="four_eyes"):
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE customer_profile.console_approvals SET state = 'approved', "
                    "decided_by = 'sup.pieter', decided_at = now() WHERE approval_id = 'APR-SELF'"
                )
            )
    with pytest.raises(DBAPIError, match="permission denied"):
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM customer_profile.console_audit"))
    del pg_admin_url


async def _adjustments(
    put_out: PutOut, customer: str, expect: int = 0
) -> list[AdjustmentRequested]:
    payloads = await put_out("loyalty.points.adjustment-requested.v1", [customer], expect)
    return [AdjustmentRequested.model_validate_json(p) for p in payloads]


async def test_an_agent_cancels_an_approved_redemption_through_the_wallets_topic(
    app: Any, engine: AsyncEngine, pg_admin_url: str, put_out: PutOut
) -> None:
    customer = await new_customer(engine, language="af")
    redeemed = _decided(customer, vendor_id="woolworths", points=40)
    declined = _decided(
        customer,
        vendor_id="woolworths",
        outcome="declined",
        points=0,
        reason_code="insufficient_points",
        reason_text="Onvoldoende punte",
    )
    await apply(engine, handlers.record_decisions, handlers.DECIDED_TOPIC, [redeemed, declined])
    async with logged_in(app, "agent.thandi") as browser:
        page = await browser.get(f"/console/customers/{customer}")
        assert page.text.count(">Cancel redemption</button>") == 1  # only the approved one
        assert "Afgekeur: Nie genoeg punte vir hierdie inwisseling nie" in page.text
        token = csrf_of(page.text)
        refused = await browser.post(
            f"/console/customers/{customer}/redemptions/cancel",
            data={
                "vendor_id": "woolworths",
                "request_id": declined.request_id,
                "csrf_token": token,
            },
        )
        assert refused.status_code == 409
        done = await browser.post(
            f"/console/customers/{customer}/redemptions/cancel",
            data={
                "vendor_id": "woolworths",
                "request_id": redeemed.request_id,
                "csrf_token": token,
            },
            follow_redirects=True,
        )
        assert f"Cancellation of redemption {redeemed.request_id} sent" in done.text
    payloads = await put_out("loyalty.redemption.requested.v1", [customer], 1)
    [sent] = [RedemptionRequested.model_validate_json(p) for p in payloads]
    assert (sent.action, sent.vendor_id, sent.request_id) == (
        "cancel",
        "woolworths",
        redeemed.request_id,
    )
    audit = await fetch(
        pg_admin_url,
        "SELECT actor FROM customer_profile.console_audit "
        "WHERE customer_no = $1 AND action = 'redemption.cancel_requested'",
        customer,
    )
    assert [r["actor"] for r in audit] == ["agent.thandi"]


def _review_requested(customer: str) -> MatchReviewRequested:
    transaction_id = f"CT{uuid.uuid4().hex[:12].upper()}"
    return MatchReviewRequested(
        message_id=f"review-requested:{transaction_id}",
        sent_at=datetime.now(UTC),
        review_id=f"review:card:{transaction_id}:posted",
        customer_no=customer,
        source="card",
        transaction_id=transaction_id,
        descriptor=f"CHKRS HYPER {transaction_id} PTA ZA",
        candidates=[
            ReviewCandidate(vendor_id="checkers", confidence=72),
            ReviewCandidate(vendor_id="shoprite", confidence=40),
        ],
    )


async def test_a_review_is_queued_once_and_decided_once_for_vendor_matching(
    app: Any, engine: AsyncEngine, put_out: PutOut
) -> None:
    first, second = _review_requested("C00000000001"), _review_requested("C00000000002")
    await apply(engine, reviews.queue_reviews, reviews.REQUESTED_TOPIC, [first, second, first])
    await apply(engine, reviews.queue_reviews, reviews.REQUESTED_TOPIC, [first])  # redelivered
    async with logged_in(app, "agent.sipho") as browser:
        queue = await browser.get("/console/reviews")
        # Queued once: its two forms (confirm, reject) appear once each.
        assert queue.text.count(f'name="review_id" value="{first.review_id}"') == 2
        token = csrf_of(queue.text)
        not_a_candidate = await browser.post(
            "/console/reviews",
            data={
                "review_id": first.review_id,
                "decision": "confirm",
                "vendor_id": "spar",
                "csrf_token": token,
            },
        )
        assert not_a_candidate.status_code == 409
        confirmed = await browser.post(
            "/console/reviews",
            data={
                "review_id": first.review_id,
                "decision": "confirm",
                "vendor_id": "checkers",
                "csrf_token": token,
            },
            follow_redirects=True,
        )
        assert "vendor confirmed" in confirmed.text
        assert first.descriptor not in confirmed.text
        again = await browser.post(
            "/console/reviews",
            data={"review_id": first.review_id, "decision": "reject", "csrf_token": token},
        )
        assert again.status_code == 409
        rejected = await browser.post(
            "/console/reviews",
            data={"review_id": second.review_id, "decision": "reject", "csrf_token": token},
        )
        assert rejected.status_code == 303
    ours = {first.review_id, second.review_id}  # earlier tests may have used the same keys

    async def our_decisions() -> list[MatchReviewDecided]:
        payloads = await put_out(
            "loyalty.match.review-decided.v1", ["C00000000001", "C00000000002"]
        )
        decided = (MatchReviewDecided.model_validate_json(p) for p in payloads)
        return sorted((d for d in decided if d.review_id in ours), key=lambda d: d.decided_at)

    decided = await eventually(our_decisions, lambda d: len(d) >= 2, timeout=30)
    assert [(d.review_id, d.decision, d.vendor_id, d.actor) for d in decided] == [
        (first.review_id, "confirm", "checkers", "agent.sipho"),
        (second.review_id, "reject", None, "agent.sipho"),
    ]


async def test_the_next_expiries_show_in_the_customers_language(
    app: Any, engine: AsyncEngine
) -> None:
    customer = await new_customer(engine, language="af")
    async with logged_in(app, "agent.thandi") as browser:
        page = await browser.get(f"/console/customers/{customer}")
        assert 'data-testid="expiries"' not in page.text
        # The wallet's last statement of the balance, as customer_profile keeps it.
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO customer_profile.balances (customer_no, currency, balance, "
                    "held, as_of, next_expiries) VALUES (:c, 'points', 320, 0, now(), "
                    "CAST(:e AS jsonb))"
                ),
                {"c": customer, "e": '[{"expires_at": "2099-01-31", "points": 120}]'},
            )
        page = await browser.get(f"/console/customers/{customer}")
        assert "<h3>Volgende vervaldatums</h3>" in page.text
        assert "120 punte: Verval op 2099-01-31" in page.text


async def test_the_open_lots_show_as_a_table_in_the_customers_language(
    app: Any, engine: AsyncEngine
) -> None:
    customer = await new_customer(engine, language="af")
    today = datetime.now(UTC).date()
    soon, later = today + timedelta(days=30), today + timedelta(days=200)
    async with logged_in(app, "agent.thandi") as browser:
        page = await browser.get(f"/console/customers/{customer}")
        assert 'data-testid="lots"' not in page.text
        # The wallet states its lots with a balance change; customer_profile's handler keeps
        # them. It has 25 open lots and lists the first 20 (three here, for the page).
        change = BalanceChanged.model_validate({
            "message_id": f"balance:{uuid.uuid4().hex}", "sent_at": datetime.now(UTC),
            "customer_no": customer, "currency": "points", "change": -70, "balance": 410,
            "held": 0, "cause": "redemption", "reference": "R-1",
            "occurred_at": datetime.now(UTC),
            "open_lots": [
                {"lot_id": 901, "starting": 100, "current": 30, "expires_at": soon.isoformat(),
                 "source": "POS-A"},
                {"lot_id": 902, "starting": 250, "current": 250,
                 "expires_at": later.isoformat(), "source": "POS-B"},
                {"lot_id": 777, "starting": 130, "current": 130, "expires_at": None,
                 "source": "POS-C"},
            ],
            "open_lots_total": 25,
        })  # fmt: skip
        await apply(engine, handlers.record_balances, handlers.BALANCE_TOPIC, [change])
        page = await browser.get(f"/console/customers/{customer}")
    html = page.text
    assert '<h3 id="lots">Puntelotte</h3>' in html
    headings = re.search(r'<table aria-labelledby="lots">\s*<thead>(.*?)</thead>', html, re.DOTALL)
    assert headings, html
    assert re.findall(r'<th scope="col">([^<]*)</th>', headings.group(1)) == [
        "Lot", "Geldeenheid", "Beginpunte", "Punte oor", "Verval", "Bron",
    ]  # fmt: skip
    body = re.search(r'<tbody data-testid="lots">(.*?)</tbody>', html, re.DOTALL)
    assert body, html
    rows = [
        re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row)
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.DOTALL)
    ]
    assert rows == [
        ["901", "punte", "100", "30", soon.isoformat(), "POS-A"],
        ["902", "punte", "250", "250", later.isoformat(), "POS-B"],
        ["777", "punte", "130", "130", "Nooit", "POS-C"],
    ]
    assert "Die eerste 3 van 25 lotte" in html
