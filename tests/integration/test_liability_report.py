"""`loyalty report liability` on the real database, against the test's own account of what it
did: the report's change over the test equals what the test's customers were given."""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.loyalty import PointsPosted
from services.redemption import handlers
from services.redemption.cli import liability_report, register
from shared.cli import runtime_passwords
from shared.db.engine import create_engine, runtime_role
from shared.infra.embedded import Endpoints
from shared.verify_cli import wait_quiet
from tests.integration.test_wallet import decide, member, request, run
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
TODAY = NOW.date()
SOON = date(TODAY.year + 1, 3, 15)  # expires within the window of the second as-of day
LATER = date(TODAY.year + 1, 5, 1)
AFTER_SOON = date(TODAY.year + 1, 4, 1)


async def _engine(admin_url: str, service: str) -> AsyncEngine:
    url = make_url(admin_url).set(
        username=runtime_role(service), password=runtime_passwords([service])[service]
    )
    return create_engine(url)


@pytest.fixture
async def engines(pg_admin_url: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    wallet = await _engine(pg_admin_url, "redemption")
    accrual = await _engine(pg_admin_url, "accrual")
    yield wallet, accrual
    await wallet.dispose()
    await accrual.dispose()


async def post(
    engine: AsyncEngine, customer: str, points: int, expires: date | None,
    currency: str = "points",
) -> str:  # fmt: skip
    posting_id = f"liab:{uuid.uuid4().hex}"
    posted = PointsPosted(
        message_id=f"posted:{posting_id}", sent_at=NOW, posting_id=posting_id,
        customer_no=customer, currency=currency, points=points,  # type: ignore[arg-type]
        kind="earn" if points > 0 else "reversal", source_transaction_id=None,
        reverses_posting_id=None, expires_at=expires, rule_id=None, rule_version=None,
        earned_at=NOW, actor=None, reason=None,
    )  # fmt: skip
    await run(engine, handlers.apply_postings, handlers.POSTED_TOPIC, posted)
    return posting_id


async def pending(
    accrual: AsyncEngine, customer: str, points: int, state: str, at: datetime,
    currency: str = "points",
) -> None:  # fmt: skip
    """A row as accrual writes it for a card authorisation (accrual's own role)."""
    async with accrual.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO accrual.pending_points (source, transaction_id, currency, "
                "customer_no, points, state, rule_id, rule_version, transaction_at) "
                "VALUES ('card', :t, :cur, :c, :p, :s, 'test-rule', 1, :at)"
            ),
            {"t": f"CT{uuid.uuid4().hex[:12]}", "cur": currency, "c": customer, "p": points,
             "s": state, "at": at},
        )  # fmt: skip


def delta(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """What changed per currency, field by field (months too); zeros left out."""
    changed: dict[str, Any] = {}
    for currency, now in after["currencies"].items():
        then = before["currencies"].get(currency, {})
        fields: dict[str, Any] = {}
        for name, value in now.items():
            if isinstance(value, dict):
                old = then.get(name, {})
                months = {m: n - old.get(m, 0) for m, n in value.items() if n != old.get(m, 0)}
                if months:
                    fields[name] = months
            elif value != then.get(name, 0):
                fields[name] = value - then.get(name, 0)
        if fields:
            changed[currency] = fields
    return changed


async def test_the_liability_is_what_customers_were_given_less_what_they_spent(
    engines: tuple[AsyncEngine, AsyncEngine],
    platform: dict[str, ServiceProcess],
    endpoints: Endpoints,
    pg_admin_url: str,
) -> None:
    wallet, accrual = engines
    later_day = AFTER_SOON
    # The totals are the programme's: earlier modules' postings still on their way to the
    # wallet would count as this test's.
    del platform
    assert await wait_quiet(pg_admin_url, endpoints.kafka_bootstrap, 120), "not caught up"
    before = (await liability_report(wallet, accrual, TODAY)).to_json()
    before_later = (await liability_report(wallet, accrual, later_day)).to_json()

    # Annelie earns three lots, spends 120 (from the soonest-expiring), holds 50.
    annelie = await member(wallet)
    await post(wallet, annelie, 300, SOON)
    await post(wallet, annelie, 200, LATER)
    await post(wallet, annelie, 100, None)
    await post(wallet, annelie, 500, LATER, currency="tier_points")
    (spent,) = await decide(wallet, request(annelie, "redeem", 120, "L1"))
    (held,) = await decide(wallet, request(annelie, "authorize", 50, "L2"))
    assert (spent.outcome, held.outcome) == ("approved", "approved")
    # Ben spends his 40 points, then the purchase is refunded: 70 points clawed back.
    ben = await member(wallet)
    await post(wallet, ben, 40, None)
    (gone,) = await decide(wallet, request(ben, "redeem", 40, "L3"))
    assert gone.outcome == "approved"
    await post(wallet, ben, -70, None)
    # Card authorisations not posted yet; a confirmed one and tomorrow's do not count today.
    await pending(accrual, annelie, 25, "pending", NOW - timedelta(hours=1))
    await pending(accrual, annelie, 10, "confirmed", NOW - timedelta(hours=1))
    await pending(accrual, ben, 5, "pending", NOW + timedelta(days=2))
    await pending(accrual, ben, 8, "pending", NOW - timedelta(days=3), currency="tier_points")

    after = (await liability_report(wallet, accrual, TODAY)).to_json()
    cost = after["cost_per_point_cents"]
    soon, later = SOON.strftime("%Y-%m"), LATER.strftime("%Y-%m")
    net = 180 + 200 + 100 - 70
    assert delta(after, before) == {
        "points": {
            "outstanding": 480,
            "by_expiry_month": {soon: 180, later: 200, "never": 100},
            "debt": 70,
            "net": net,
            "held": 50,
            "pending": 25,
            "value_cents": net * cost,
            "pending_value_cents": 25 * cost,
        },
        "tier_points": {
            "outstanding": 500,
            "by_expiry_month": {later: 500},
            "net": 500,
            "pending": 8,
        },
    }

    # Seen on a later day, the soonest lot has expired and is no liability any more; Ben's
    # authorisation of two days on is pending by then.
    after_later = (await liability_report(wallet, accrual, later_day)).to_json()
    assert delta(after_later, before_later)["points"] == {
        "outstanding": 300,
        "by_expiry_month": {later: 200, "never": 100},
        "expired_unswept": 180,
        "debt": 70,
        "net": 230,
        "held": 50,
        "pending": 30,
        "value_cents": 230 * cost,
        "pending_value_cents": 30 * cost,
    }


async def test_the_command_prints_the_report_at_the_configured_cost(
    engines: tuple[AsyncEngine, AsyncEngine], endpoints: Endpoints, pg_admin_url: str,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    wallet, accrual = engines
    customer = await member(wallet)
    await post(wallet, customer, 1000, None)
    monkeypatch.setenv("LOYALTY_KAFKA_BOOTSTRAP", endpoints.kafka_bootstrap)
    monkeypatch.setenv("LOYALTY_DATABASE_URL", pg_admin_url)
    monkeypatch.setenv("LOYALTY_INFRA_MODE", "embedded")
    monkeypatch.setenv("LOYALTY_REDEMPTION_COST_PER_POINT_CENTS", "7")
    expected = (await liability_report(wallet, accrual, TODAY)).currencies["points"]

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["report", "liability", "--as-of", TODAY.isoformat(), "--json"])
    status = await asyncio.to_thread(args.func, args)
    printed = json.loads(capsys.readouterr().out)

    assert status == 0
    assert printed["cost_per_point_cents"] == 7
    points = printed["currencies"]["points"]
    assert points["net"] == expected.net >= 1000
    assert points["value_cents"] == expected.net * 7
