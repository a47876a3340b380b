"""Tiers against a real migrated Postgres: tier points, prompt upgrades, the review's
downgrade policy, announcements for accrual, and the history in the customer's language.

Dates stay within the 12 months before today for points that must count when the service's
own daily review runs (other tests may have started it), and reviews look ahead of today.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.loyalty import PointsPosted, ProfileChanged
from services.customer_profile import handlers, tier_repository
from services.customer_profile.tiering import review_customers, review_moment, review_tiers
from services.customer_profile.views import single_customer_view
from shared.db.engine import create_engine, runtime_url
from shared.messaging.uow import UnitOfWork
from shared.settings import PlatformSettings, service_settings
from tests.integration.test_customer_profile_handlers import apply, customer_updated
from tests.support import messages as m
from tests.support.db import eventually, fetch

pytestmark = pytest.mark.integration

SERVICE = "customer_profile"
EARNED = datetime(2026, 2, 10, 12, 0, tzinfo=UTC)  # gold earned then; out of the window in 2027


@pytest.fixture(scope="module")
async def engine(pg_admin_url: str) -> AsyncIterator[AsyncEngine]:
    runtime = create_engine(
        runtime_url(SERVICE, pg_admin_url, PlatformSettings(), service_settings(SERVICE))
    )
    yield runtime
    await runtime.dispose()


def tier_points(
    customer: str, points: int, earned_at: datetime, *, currency: str = "tier_points"
) -> PointsPosted:
    posting_id = m.new_id(f"earn:{currency}")
    return PointsPosted.model_validate(
        {
            "message_id": f"posted:{posting_id}",
            "sent_at": m.now(),
            "posting_id": posting_id,
            "customer_no": customer,
            "currency": currency,
            "points": points,
            "kind": "earn" if points > 0 else "reversal",
            "source_transaction_id": m.new_id("tx"),
            "reverses_posting_id": None,
            "expires_at": None,
            "rule_id": "flat-tier-points-per-r10",
            "rule_version": 1,
            "earned_at": earned_at.isoformat(),
            "actor": None,
            "reason": None,
        }
    )


async def new_customer(engine: AsyncEngine, *, language: str = "en") -> str:
    customer = m.customer_no()
    created = customer_updated(customer, EARNED - timedelta(days=30), change="created")
    created = created.model_copy(update={"preferred_language": language})
    await apply(engine, handlers.update_customers, handlers.CUSTOMER_TOPIC, [created])
    return customer


async def post(engine: AsyncEngine, *postings: PointsPosted) -> list[ProfileChanged]:
    uow = await apply(engine, handlers.record_postings, handlers.POSTED_TOPIC, list(postings))
    return announced(uow)


def announced(uow: UnitOfWork) -> list[ProfileChanged]:
    return [
        ProfileChanged.model_validate_json(o.payload)
        for o in uow.outgoing
        if o.topic == handlers.PROFILE_TOPIC
    ]


async def review(engine: AsyncEngine, customer: str, day: date) -> list[ProfileChanged]:
    async with engine.begin() as conn:
        uow = UnitOfWork(conn, SERVICE)
        ladder, policy = await tier_repository.tier_rules(conn)
        await review_customers(uow, [customer], review_moment(day), ladder, policy)
        published = list(uow.outgoing)
        await uow.flush_outbox()
    uow.outgoing.extend(published)
    return announced(uow)


async def standing(url: str, customer: str) -> dict[str, Any]:
    [row] = await fetch(
        url,
        "SELECT tier, profile_version, tier_changed_at, tier_below_since "
        "FROM customer_profile.customers WHERE customer_no = $1",
        customer,
    )
    return dict(row)


async def tier_history(engine: AsyncEngine, customer: str, as_of: datetime) -> list[str]:
    async with engine.connect() as conn:
        view = await single_customer_view(conn, customer, as_of=as_of)
    return [a["description"] for a in view["activity"] if a["kind"] == "tier_changed"]


async def test_crossing_a_threshold_upgrades_at_once_and_announces_the_tier(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customer = await new_customer(engine, language="af")

    assert await post(engine, tier_points(customer, 600, EARNED)) == []
    spendable = tier_points(customer, 5000, EARNED, currency="points")  # not tier-qualifying
    assert await post(engine, spendable) == []
    [event] = await post(engine, tier_points(customer, 500, EARNED + timedelta(days=1)))

    assert (event.tier, event.profile_version) == ("silver", 2)
    assert event.message_id == f"profile:{customer}:2"
    assert (await standing(pg_admin_url, customer))["tier"] == "silver"
    changes = await fetch(
        pg_admin_url,
        "SELECT from_tier, to_tier, direction, qualifying_points "
        "FROM customer_profile.tier_changes WHERE customer_no = $1",
        customer,
    )
    assert [tuple(c) for c in changes] == [("blue", "silver", "up", 1100)]
    assert await tier_history(engine, customer, EARNED + timedelta(days=2)) == [
        "Welkom by Silwer: jy het die afgelope 12 maande 1100 vlakpunte verdien"
    ]


async def test_enough_points_at_once_skip_tiers_and_a_replay_counts_once(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customer = await new_customer(engine)
    posting = tier_points(customer, 16_000, EARNED)

    [event] = await post(engine, posting)
    assert await post(engine, posting) == []  # redelivered past the inbox: no second effect

    assert event.tier == "platinum"
    counted = await fetch(
        pg_admin_url,
        "SELECT points FROM customer_profile.tier_points WHERE customer_no = $1",
        customer,
    )
    assert [r["points"] for r in counted] == [16_000]


async def test_a_reversal_does_not_cost_the_tier_before_the_review(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customer = await new_customer(engine)
    await post(engine, tier_points(customer, 5200, EARNED))

    assert await post(engine, tier_points(customer, -3000, EARNED + timedelta(days=3))) == []

    assert (await standing(pg_admin_url, customer))["tier"] == "gold"


async def test_the_review_waits_out_the_grace_period_and_goes_down_one_tier_at_a_time(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customer = await new_customer(engine)
    [gold] = await post(engine, tier_points(customer, 5200, EARNED))
    assert gold.tier == "gold"

    # A year on the points have left the window: the 90-day grace period starts.
    assert await review(engine, customer, date(2027, 3, 1)) == []
    at_risk = await standing(pg_admin_url, customer)
    assert at_risk["tier"] == "gold"
    assert at_risk["tier_below_since"] == review_moment(date(2027, 3, 1))
    assert await review(engine, customer, date(2027, 5, 29)) == []  # day 89

    [silver] = await review(engine, customer, date(2027, 5, 30))  # day 90
    assert (silver.tier, silver.profile_version) == ("silver", gold.profile_version + 1)
    assert await review(engine, customer, date(2027, 5, 30)) == []  # the same review again
    assert await review(engine, customer, date(2027, 6, 30)) == []  # silver's own grace period

    [blue] = await review(engine, customer, date(2027, 8, 28))
    assert blue.tier == "blue"
    after = await standing(pg_admin_url, customer)
    assert (after["tier"], after["tier_below_since"]) == ("blue", None)
    assert await tier_history(engine, customer, review_moment(date(2027, 9, 1))) == [
        "Your tier is now Blue: 0 tier points in the last 12 months, 1000 needed for Silver",
        "Your tier is now Silver: 0 tier points in the last 12 months, 5000 needed for Gold",
        "Welcome to Gold: you earned 5200 tier points in the last 12 months",
    ]


async def test_earning_back_during_the_grace_period_keeps_the_tier(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customer = await new_customer(engine)
    await post(engine, tier_points(customer, 1500, EARNED))
    await review(engine, customer, date(2027, 3, 1))
    assert (await standing(pg_admin_url, customer))["tier_below_since"] is not None

    assert await post(engine, tier_points(customer, 1200, datetime(2027, 4, 1, tzinfo=UTC))) == []
    assert await review(engine, customer, date(2027, 7, 1)) == []

    kept = await standing(pg_admin_url, customer)
    assert (kept["tier"], kept["tier_below_since"]) == ("silver", None)


async def test_a_bank_update_after_a_tier_change_keeps_the_tier_and_a_newer_version(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customer = await new_customer(engine)
    [silver] = await post(engine, tier_points(customer, 1000, EARNED))
    moved = customer_updated(customer, EARNED + timedelta(days=5), first_name="Thabang")
    uow = await apply(engine, handlers.update_customers, handlers.CUSTOMER_TOPIC, [moved])

    [event] = announced(uow)
    assert (event.tier, event.profile_version) == ("silver", silver.profile_version + 1)
    assert (await standing(pg_admin_url, customer))["profile_version"] == event.profile_version


async def test_the_view_shows_the_points_to_the_next_tier_in_the_customers_language(
    engine: AsyncEngine,
) -> None:
    customer = await new_customer(engine, language="af")
    await post(engine, tier_points(customer, 1200, EARNED), tier_points(customer, 2000, EARNED))

    async with engine.connect() as conn:
        view = await single_customer_view(conn, customer, as_of=EARNED + timedelta(days=1))
        later = await single_customer_view(conn, customer, as_of=datetime(2027, 3, 1, tzinfo=UTC))

    assert view["tier"] == {
        "tier": "silver",
        "name": "Silwer",
        "tier_points": 3200,
        "window_months": 12,
        "next_tier": "gold",
        "next_tier_name": "Goud",
        "points_to_next_tier": 1800,
        "at_risk_until": None,
    }
    assert (later["tier"]["tier_points"], later["tier"]["points_to_next_tier"]) == (0, 5000)


async def test_the_scheduled_review_covers_every_customer_once_per_day(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customers = [await new_customer(engine) for _ in range(3)]
    for customer in customers:
        await post(engine, tier_points(customer, 5000, EARNED))
    as_of = review_moment(date(2031, 1, 1))  # far ahead: nobody else reviews as of then

    first = await review_tiers(engine, as_of)
    again = await review_tiers(engine, as_of)

    assert first.first_review
    assert not again.first_review
    assert again.downgraded == 0
    standings = Counter([(await standing(pg_admin_url, c))["tier"] for c in customers])
    assert standings == Counter({"gold": 3})  # at risk, but only from today
    recorded = await fetch(
        pg_admin_url, "SELECT reviewed FROM customer_profile.tier_reviews WHERE as_of = $1", as_of
    )
    assert [r["reviewed"] for r in recorded] == [first.reviewed]
    assert first.reviewed >= 3


def test_loyalty_tiers_review_and_show(
    pg_admin_url: str, endpoints: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    import argparse

    from services.customer_profile import cli

    monkeypatch.setenv("LOYALTY_KAFKA_BOOTSTRAP", endpoints.kafka_bootstrap)
    monkeypatch.setenv("LOYALTY_DATABASE_URL", pg_admin_url)
    monkeypatch.setenv("LOYALTY_INFRA_MODE", "embedded")  # the runtime role's dev password
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))

    args = parser.parse_args(["tiers", "review", "--as-of", "2032-02-01"])
    assert args.func(args) == 0
    assert "tier review as of 2032-02-01" in capsys.readouterr().out
    args = parser.parse_args(["tiers", "review", "--as-of", "2032-02-01"])
    assert args.func(args) == 0
    assert "nothing repeated" in capsys.readouterr().out

    args = parser.parse_args(["tiers", "show"])
    assert args.func(args) == 0
    shown = capsys.readouterr().out
    assert "gold" in shown
    assert "grace period 90 days" in shown


def test_loyalty_customer_show_prints_the_tier_progress(
    pg_admin_url: str, endpoints: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    import argparse
    import asyncio

    from services.customer_profile import cli

    async def seed() -> str:
        runtime = create_engine(
            runtime_url(SERVICE, pg_admin_url, PlatformSettings(), service_settings(SERVICE))
        )
        try:
            customer = await new_customer(runtime)
            recent = datetime.now(UTC) - timedelta(days=1)
            await post(runtime, tier_points(customer, 1300, recent))
            return customer
        finally:
            await runtime.dispose()

    customer = asyncio.run(seed())
    monkeypatch.setenv("LOYALTY_KAFKA_BOOTSTRAP", endpoints.kafka_bootstrap)
    monkeypatch.setenv("LOYALTY_DATABASE_URL", pg_admin_url)
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))

    args = parser.parse_args(["customer", "show", customer])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "tier Silver (silver): 1300 tier points in 12 months, 3700 to Gold" in out
    assert "Welcome to Silver" in out

    args = parser.parse_args(["customer", "show", customer, "--json"])
    assert args.func(args) == 0
    assert orjson.loads(capsys.readouterr().out)["tier"]["points_to_next_tier"] == 3700


async def test_the_services_worker_reviews_once_a_day_and_stops_when_asked(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    import asyncio

    from services.customer_profile.scheduler import review_if_due, review_tiers_daily
    from shared.runtime import ServiceContext

    today = review_moment(datetime.now(UTC).date())
    stop = asyncio.Event()
    worker = asyncio.create_task(
        review_tiers_daily(ServiceContext(SERVICE, engine, service_settings(SERVICE), stop))
    )
    try:
        reviewed = await eventually(
            lambda: fetch(
                pg_admin_url, "SELECT 1 FROM customer_profile.tier_reviews WHERE as_of = $1", today
            ),
            until=bool,
        )
        assert reviewed  # whichever ran it first (this worker, or a running service's)
        assert await review_if_due(engine, datetime.now(UTC)) is None  # done for today
    finally:
        stop.set()
        await asyncio.wait_for(worker, timeout=10)
