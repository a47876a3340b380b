"""debit_orders' handlers against a real migrated Postgres, as its runtime role."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.loyalty import CashbackPayoutRequested, ProfileChanged
from services.debit_orders import handlers
from services.debit_orders.app import definition
from shared.db.engine import create_engine, runtime_url
from shared.messaging.uow import Handler, Inbound, UnitOfWork
from shared.settings import PlatformSettings, service_settings
from tests.support import messages as m
from tests.support.db import fetch

pytestmark = pytest.mark.integration

SERVICE = "debit_orders"
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
_offsets = itertools.count()


@pytest.fixture(scope="module")
async def engine(pg_admin_url: str) -> AsyncIterator[AsyncEngine]:
    runtime = create_engine(
        runtime_url(SERVICE, pg_admin_url, PlatformSettings(), service_settings(SERVICE))
    )
    yield runtime
    await runtime.dispose()


async def apply(
    engine: AsyncEngine, handler: Handler, topic: str, messages: Sequence[Any]
) -> UnitOfWork:
    async with engine.begin() as conn:
        uow = UnitOfWork(conn, SERVICE)
        batch = [Inbound(topic, 0, next(_offsets), msg.customer_no, msg) for msg in messages]
        await handler(uow, batch)
        published = list(uow.outgoing)
        await uow.flush_outbox()
    uow.outgoing.extend(published)
    return uow


def payout(customer: str, amount_cents: int = 15_000) -> CashbackPayoutRequested:
    payout_id = m.new_id("payout")
    return CashbackPayoutRequested(
        message_id=f"payout:{payout_id}",
        sent_at=T0,
        payout_id=payout_id,
        customer_no=customer,
        account_no="4071234567",
        amount_cents=amount_cents,
        currency="ZAR",
        points=1_500,
        reference=payout_id[:20],
        narrative="Lojaliteit kontant terug",
        language="af",
        requested_at=T0,
    )


def profile(customer: str, version: int, account: str | None, language: str) -> ProfileChanged:
    return ProfileChanged(
        message_id=f"profile:{customer}:{version}",
        sent_at=T0,
        customer_no=customer,
        status="active",
        loyalty_member=True,
        first_name="Annelie",
        last_name="van der Merwe",
        preferred_language=language,
        segment="retail",
        tier="blue",
        cashback_account_no=account,
        profile_version=version,
        changed_at=T0,
    )


def test_the_service_subscribes_exactly_to_its_registry_topics() -> None:
    from contracts.registry import topics_consumed_by

    subscribed = [s.topic for s in definition().subscriptions]
    assert sorted(subscribed) == sorted(topics_consumed_by(SERVICE))


async def test_a_payout_waits_once_for_the_next_lycred_file(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customer = m.customer_no()
    requested = payout(customer)
    await apply(engine, handlers.queue_payouts, handlers.PAYOUT_TOPIC, [requested])
    await apply(engine, handlers.queue_payouts, handlers.PAYOUT_TOPIC, [requested])  # replayed

    rows = await fetch(
        pg_admin_url,
        "SELECT payout_id, account_no, amount_cents, currency, narrative, language, "
        "exported_file_id FROM debit_orders.payouts WHERE customer_no = $1",
        customer,
    )
    assert [tuple(r) for r in rows] == [
        (requested.payout_id, "4071234567", 15_000, "ZAR", "Lojaliteit kontant terug", "af", None)
    ]


async def test_the_newest_profile_version_wins_in_any_order(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customer = m.customer_no()
    await apply(
        engine,
        handlers.record_profiles,
        handlers.PROFILE_TOPIC,
        [profile(customer, 2, "4071234567", "af"), profile(customer, 1, None, "en")],
    )
    await apply(
        engine, handlers.record_profiles, handlers.PROFILE_TOPIC, [profile(customer, 1, None, "en")]
    )

    async def current() -> tuple[Any, ...]:
        rows = await fetch(
            pg_admin_url,
            "SELECT cashback_account_no, preferred_language, profile_version "
            "FROM debit_orders.customers WHERE customer_no = $1",
            customer,
        )
        return tuple(rows[0])

    assert await current() == ("4071234567", "af", 2)
    await apply(
        engine, handlers.record_profiles, handlers.PROFILE_TOPIC, [profile(customer, 3, None, "af")]
    )
    assert await current() == (None, "af", 3)  # the customer closed their cheque account
