"""customer_profile's handlers against a real migrated Postgres, as its runtime role."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.esb import CustomerUpdated
from contracts.loyalty import (
    BalanceChanged,
    PendingPointsChanged,
    PointsPosted,
    ProfileChanged,
    TransactionEnriched,
)
from contracts.vendor_gateway import RedemptionDecided
from services.customer_profile import handlers
from services.customer_profile.app import definition
from services.customer_profile.views import single_customer_view
from shared.db.engine import create_engine, runtime_url
from shared.messaging.uow import Handler, Inbound, UnitOfWork
from shared.settings import PlatformSettings, service_settings
from tests.support import messages as m
from tests.support.contracts import vendor_changed
from tests.support.db import fetch

pytestmark = pytest.mark.integration

SERVICE = "customer_profile"
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
    """One consumed batch, the way the consumer applies it: one transaction, the outbox too."""
    async with engine.begin() as conn:
        uow = UnitOfWork(conn, SERVICE)
        batch = [
            Inbound(topic, 0, next(_offsets), getattr(msg, "customer_no", None), msg)
            for msg in messages
        ]
        await handler(uow, batch)
        published = list(uow.outgoing)
        await uow.flush_outbox()
        # Read back in the batch's transaction: once it commits, a running relay (the
        # session's platform) may publish and delete a row at any moment.
        rows = await conn.execute(
            text(f"SELECT message_id, topic, key FROM {SERVICE}.outbox WHERE message_id = ANY(:m)"),
            {"m": [o.message_id for o in published]},
        )
        IN_OUTBOX.update({r.message_id: (r.topic, r.key) for r in rows})
    uow.outgoing.extend(published)  # kept for the test to read
    return uow


IN_OUTBOX: dict[str, tuple[str, str]] = {}  # message id: (topic, key), as apply wrote them


def customer_updated(
    customer: str,
    changed_at: datetime,
    *,
    change: str = "updated",
    language: str = "en",
    accounts: list[dict[str, str]] | None = None,
    first_name: str = "Thabo",
) -> CustomerUpdated:
    return CustomerUpdated.model_validate(
        {
            "message_id": m.new_id("cif"),
            "sent_at": m.now(),
            "customer_no": customer,
            "change": change,
            "first_name": first_name,
            "last_name": "Nkosi",
            "preferred_language": language,
            "segment": "retail",
            "loyalty_member": True,
            "accounts": accounts
            if accounts is not None
            else [{"account_no": "4071234567", "type": "cheque"}],
            "changed_at": changed_at.isoformat(),
        }
    )


async def customer_row(url: str, customer: str) -> dict[str, Any] | None:
    rows = await fetch(
        url, "SELECT * FROM customer_profile.customers WHERE customer_no = $1", customer
    )
    return dict(rows[0]) if rows else None


def profile_events(uow: UnitOfWork) -> list[ProfileChanged]:
    return [
        ProfileChanged.model_validate_json(o.payload)
        for o in uow.outgoing
        if o.topic == handlers.PROFILE_TOPIC
    ]


def test_the_service_subscribes_exactly_to_its_registry_topics() -> None:
    from contracts.registry import topics_consumed_by

    subscribed = [s.topic for s in definition().subscriptions]
    assert sorted(subscribed) == sorted(topics_consumed_by(SERVICE))


async def test_a_new_customer_gets_a_profile_and_it_is_announced(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customer = m.customer_no()
    accounts = [
        {"account_no": "9000000001", "type": "savings"},
        {"account_no": "4071234567", "type": "cheque"},
        {"account_no": "4079999999", "type": "cheque"},
    ]
    created = customer_updated(customer, T0, change="created", accounts=accounts, language="af")
    uow = await apply(engine, handlers.update_customers, handlers.CUSTOMER_TOPIC, [created])

    row = await customer_row(pg_admin_url, customer)
    assert row is not None
    assert row["status"] == "active"
    assert row["tier"] == "blue"
    assert row["cashback_account_no"] == "4071234567"
    assert row["profile_version"] == 1
    assert orjson.loads(row["accounts"]) == accounts
    [event] = profile_events(uow)
    assert uow.outgoing[0].key == customer
    assert event.message_id == f"profile:{customer}:1"
    assert (event.preferred_language, event.cashback_account_no, event.tier) == (
        "af",
        "4071234567",
        "blue",
    )
    assert IN_OUTBOX[event.message_id] == (handlers.PROFILE_TOPIC, customer)


async def test_a_late_older_change_does_not_overwrite_a_newer_one(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customer = m.customer_no()
    newer = customer_updated(customer, T0 + timedelta(hours=1), first_name="Thabang")
    older = customer_updated(customer, T0, change="created", first_name="Thabo")
    await apply(engine, handlers.update_customers, handlers.CUSTOMER_TOPIC, [newer])
    uow = await apply(engine, handlers.update_customers, handlers.CUSTOMER_TOPIC, [older])

    row = await customer_row(pg_admin_url, customer)
    assert row is not None
    assert (row["first_name"], row["profile_version"]) == ("Thabang", 1)
    assert profile_events(uow) == []


async def test_closing_a_customer_bumps_the_version_and_announces_it(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customer = m.customer_no()
    await apply(
        engine,
        handlers.update_customers,
        handlers.CUSTOMER_TOPIC,
        [customer_updated(customer, T0, change="created")],
    )
    closed = customer_updated(customer, T0 + timedelta(days=30), change="closed")
    uow = await apply(engine, handlers.update_customers, handlers.CUSTOMER_TOPIC, [closed])

    row = await customer_row(pg_admin_url, customer)
    assert row is not None
    assert (row["status"], row["profile_version"]) == ("closed", 2)
    [event] = profile_events(uow)
    assert (event.status, event.profile_version) == ("closed", 2)
    assert event.message_id == f"profile:{customer}:2"
    audited = await fetch(
        pg_admin_url,
        "SELECT old_row FROM customer_profile.audit WHERE table_name = 'customers' "
        "AND old_row ->> 'customer_no' = $1",
        customer,
    )
    assert [orjson.loads(a["old_row"])["status"] for a in audited] == ["active"]


async def test_several_changes_in_one_batch_announce_the_final_profile_once(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customer = m.customer_no()
    batch = [
        customer_updated(customer, T0, change="created", language="en"),
        customer_updated(customer, T0 + timedelta(minutes=5), language="af"),
        customer_updated(customer, T0 + timedelta(minutes=1), language="en"),  # late
    ]
    uow = await apply(engine, handlers.update_customers, handlers.CUSTOMER_TOPIC, batch)

    row = await customer_row(pg_admin_url, customer)
    assert row is not None
    assert (row["preferred_language"], row["profile_version"]) == ("af", 2)
    [event] = profile_events(uow)
    assert (event.preferred_language, event.profile_version) == ("af", 2)


def _enriched(customer: str) -> TransactionEnriched:
    source_id = m.new_id("card")
    return TransactionEnriched(
        message_id=f"enriched:card:{source_id}",
        sent_at=T0,
        source="card",
        source_message_id=source_id,
        transaction_id=m.new_id("tx"),
        status="posted",
        kind="purchase",
        original_transaction_id=None,
        customer_no=customer,
        account_no=None,
        amount_cents=25050,
        currency="ZAR",
        transaction_at=T0,
        descriptor="WOOLWORTHS SANDTON CITY JHB ZA",
        mcc="5411",
        channel="card",
        direction="debit",
        vendor_id="woolworths",
        vendor_name="Woolworths",
        vendor_category="groceries",
        partner=True,
        match_method="merchant_id",
        match_confidence=100,
    )


def _posted(customer: str, transaction_id: str, currency: str, points: int) -> PointsPosted:
    posting_id = f"earn:card:{transaction_id}:{currency}"
    return PointsPosted.model_validate(
        {
            "message_id": f"posted:{posting_id}",
            "sent_at": T0,
            "posting_id": posting_id,
            "customer_no": customer,
            "currency": currency,
            "points": points,
            "kind": "earn",
            "source_transaction_id": transaction_id,
            "reverses_posting_id": None,
            "expires_at": "2027-11-30",
            "rule_id": "flat",
            "rule_version": 1,
            "earned_at": (T0 + timedelta(seconds=1)).isoformat(),
            "actor": None,
            "reason": None,
        }
    )


def _balance(
    customer: str, balance: int, at: datetime, cause: str = "earn", change: int = 25
) -> BalanceChanged:
    return BalanceChanged.model_validate(
        {
            "message_id": m.new_id("balance"),
            "sent_at": m.now(),
            "customer_no": customer,
            "currency": "points",
            "change": change,
            "balance": balance,
            "held": 0,
            "cause": cause,
            "reference": m.new_id("ref"),
            "occurred_at": at.isoformat(),
        }
    )


def _decided(customer: str, **overrides: Any) -> RedemptionDecided:
    fields: dict[str, Any] = {
        "message_id": m.new_id("decided"),
        "sent_at": m.now(),
        "request_id": m.new_id("req"),
        "vendor_id": "takealot",
        "customer_no": customer,
        "action": "redeem",
        "outcome": "approved",
        "points": 10,
        "balance_after": 15,
        "reason_code": None,
        "reason_text": None,
        "language": "af",
        "decided_at": (T0 + timedelta(minutes=10)).isoformat(),
    }
    return RedemptionDecided.model_validate(fields | overrides)


async def _activity(url: str, customer: str) -> list[dict[str, Any]]:
    rows = await fetch(
        url,
        "SELECT kind, points, currency, description_key FROM customer_profile.activity "
        "WHERE customer_no = $1 ORDER BY occurred_at, id",
        customer,
    )
    return [dict(r) for r in rows]


async def test_loyalty_events_become_the_customers_history_once(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customer = m.customer_no()
    tx = _enriched(customer)
    steps: list[tuple[Handler, str, list[Any]]] = [
        (handlers.record_transactions, handlers.ENRICHED_TOPIC, [tx]),
        (
            handlers.record_postings,
            handlers.POSTED_TOPIC,
            [
                _posted(customer, tx.transaction_id, "points", 25),
                _posted(customer, tx.transaction_id, "tier_points", 25),
            ],
        ),
        (
            handlers.record_pending,
            handlers.PENDING_TOPIC,
            [
                PendingPointsChanged(
                    message_id=m.new_id("pending"),
                    sent_at=T0,
                    customer_no=customer,
                    transaction_id=tx.transaction_id,
                    state="created",
                    points=25,
                    currency="points",
                    changed_at=T0 - timedelta(hours=1),
                )
            ],
        ),
        (handlers.record_decisions, handlers.DECIDED_TOPIC, [_decided(customer)]),
        (
            handlers.record_decisions,
            handlers.DECIDED_TOPIC,
            [
                _decided(
                    customer,
                    outcome="declined",
                    points=0,
                    reason_code="insufficient_points",
                    reason_text="Onvoldoende punte",
                    decided_at=(T0 + timedelta(minutes=20)).isoformat(),
                )
            ],
        ),
        (
            handlers.record_balances,
            handlers.BALANCE_TOPIC,
            [_balance(customer, 0, T0 + timedelta(days=400), cause="expiry", change=-15)],
        ),
    ]
    for handler, topic, batch in steps:
        await apply(engine, handler, topic, batch)
    first = await _activity(pg_admin_url, customer)
    # The consumer's inbox drops redeliveries; even a replay past it adds no second row.
    for handler, topic, batch in steps:
        await apply(engine, handler, topic, batch)

    assert await _activity(pg_admin_url, customer) == first
    assert [(a["kind"], a["points"], a["currency"]) for a in first] == [
        ("pending", 0, "points"),
        ("transaction", None, "ZAR"),
        ("earned", 25, "points"),
        ("earned", 25, "tier_points"),
        ("redeemed", -10, "points"),
        ("declined", 0, "points"),
        ("expired", -15, "points"),
    ]


async def test_the_last_known_balance_is_kept_and_an_older_one_ignored(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customer = m.customer_no()
    batch = [_balance(customer, 25, T0), _balance(customer, 50, T0 + timedelta(minutes=1))]
    await apply(engine, handlers.record_balances, handlers.BALANCE_TOPIC, batch)
    late = [_balance(customer, 10, T0 - timedelta(minutes=1))]
    await apply(engine, handlers.record_balances, handlers.BALANCE_TOPIC, late)

    rows = await fetch(
        pg_admin_url,
        "SELECT currency, balance, held FROM customer_profile.balances WHERE customer_no = $1",
        customer,
    )
    assert [tuple(r) for r in rows] == [("points", 50, 0)]
    assert await _activity(pg_admin_url, customer) == []  # balance moves are not activity


async def test_an_afrikaans_customer_reads_the_history_in_afrikaans(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customer = m.customer_no()
    vendor_id = f"v-{uuid.uuid4().hex[:8]}"
    await apply(
        engine,
        handlers.update_vendors,
        handlers.VENDOR_TOPIC,
        [
            vendor_changed(
                vendor_id, name="Takealot", category="online", at=T0 + timedelta(days=1)
            ),
            vendor_changed(vendor_id, name="Old", category="online", at=T0),
        ],
    )
    await apply(
        engine,
        handlers.update_customers,
        handlers.CUSTOMER_TOPIC,
        [customer_updated(customer, T0, change="created", language="af")],
    )
    tx = _enriched(customer)
    await apply(engine, handlers.record_transactions, handlers.ENRICHED_TOPIC, [tx])
    await apply(
        engine,
        handlers.record_postings,
        handlers.POSTED_TOPIC,
        [_posted(customer, tx.transaction_id, "points", 25)],
    )
    await apply(
        engine,
        handlers.record_decisions,
        handlers.DECIDED_TOPIC,
        [_decided(customer, vendor_id=vendor_id)],
    )
    await apply(
        engine, handlers.record_balances, handlers.BALANCE_TOPIC, [_balance(customer, 15, T0)]
    )

    async with engine.connect() as conn:
        view = await single_customer_view(conn, customer)

    assert view["language"] == "af"
    assert view["profile"]["cashback_account_no"] == "4071234567"
    assert [(b["currency"], b["balance"]) for b in view["balances"]] == [("points", 15)]
    assert [a["description"] for a in view["activity"]] == [
        "Jy het 10 punte by Takealot ingewissel",
        "Jy het 25 punte verdien",
        "Aankoop by Woolworths: ZAR 250,50",
    ]


async def test_an_untranslated_description_falls_back_to_english(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customer = m.customer_no()
    await apply(
        engine,
        handlers.update_customers,
        handlers.CUSTOMER_TOPIC,
        [customer_updated(customer, T0, change="created", language="af")],
    )
    key = f"test.english_only.{uuid.uuid4().hex[:8]}"
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO customer_profile.translations (text_key, language, text) "
                "VALUES (:k, 'en', 'Welcome bonus of {points} points')"
            ),
            {"k": key},
        )
        await conn.execute(
            text(
                "INSERT INTO customer_profile.activity (source_message_id, customer_no, "
                "occurred_at, kind, points, currency, description_key, details) "
                "VALUES (:s, :c, now(), 'adjusted', 100, 'points', :k, '{\"points\": 100}')"
            ),
            {"s": m.new_id("test"), "c": customer, "k": key},
        )
    async with engine.connect() as conn:
        view = await single_customer_view(conn, customer)
    assert [a["description"] for a in view["activity"]] == ["Welcome bonus of 100 points"]


async def test_an_unknown_customer_has_an_empty_view(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        view = await single_customer_view(conn, m.customer_no())
    assert (view["profile"], view["balances"], view["activity"], view["language"]) == (
        None,
        [],
        [],
        "en",
    )


async def test_the_history_is_append_only_for_the_runtime_role(engine: AsyncEngine) -> None:
    customer = m.customer_no()
    await apply(
        engine, handlers.record_transactions, handlers.ENRICHED_TOPIC, [_enriched(customer)]
    )
    with pytest.raises(DBAPIError, match="permission denied"):
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE customer_profile.activity SET points = 1 WHERE customer_no = :c"),
                {"c": customer},
            )


def test_loyalty_customer_show_prints_the_view(
    pg_admin_url: str, endpoints: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    import argparse
    import asyncio

    from services.customer_profile import cli

    customer = m.customer_no()

    async def seed() -> None:
        runtime = create_engine(
            runtime_url(SERVICE, pg_admin_url, PlatformSettings(), service_settings(SERVICE))
        )
        try:
            await apply(
                runtime,
                handlers.update_customers,
                handlers.CUSTOMER_TOPIC,
                [customer_updated(customer, T0, change="created")],
            )
            await apply(
                runtime,
                handlers.record_transactions,
                handlers.ENRICHED_TOPIC,
                [_enriched(customer)],
            )
        finally:
            await runtime.dispose()

    asyncio.run(seed())
    monkeypatch.setenv("LOYALTY_KAFKA_BOOTSTRAP", endpoints.kafka_bootstrap)
    monkeypatch.setenv("LOYALTY_DATABASE_URL", pg_admin_url)
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))

    args = parser.parse_args(["customer", "show", customer, "--json"])
    assert args.func(args) == 0
    shown = orjson.loads(capsys.readouterr().out)
    assert shown["profile"]["first_name"] == "Thabo"
    assert [a["description"] for a in shown["activity"]] == ["Purchase at Woolworths: ZAR 250.50"]

    args = parser.parse_args(["customer", "show", customer])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "Thabo Nkosi" in out
    assert "Purchase at Woolworths: ZAR 250.50" in out
