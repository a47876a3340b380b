"""accrual's handlers against a real migrated Postgres, as its runtime role: earning by the
rules of the transaction's day, pending points, refunds and reversals, held originals."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.loyalty import (
    AdjustmentRequested,
    PendingPointsChanged,
    PointsPosted,
    ProfileChanged,
    TransactionEnriched,
)
from services.accrual import handlers, programmes
from services.accrual.app import definition
from shared.db.engine import create_engine, runtime_url
from shared.messaging.uow import Handler, Inbound, UnitOfWork
from shared.settings import PlatformSettings, service_settings
from tests.support import messages as m
from tests.support.db import fetch

pytestmark = pytest.mark.integration

SERVICE = "accrual"
NOW = datetime.now(UTC)
_offsets = itertools.count()


@pytest.fixture(scope="module")
async def engine(pg_admin_url: str) -> AsyncIterator[AsyncEngine]:
    runtime = create_engine(
        runtime_url(SERVICE, pg_admin_url, PlatformSettings(), service_settings(SERVICE))
    )
    yield runtime
    await runtime.dispose()


@pytest.fixture(scope="module", autouse=True)
async def shipped_programme(engine: AsyncEngine) -> AsyncIterator[None]:
    """These stories are told under the shipped default programme; what was in force before
    is put back afterwards (as a new version: versions are never edited)."""
    async with engine.begin() as conn:
        before = await programmes.latest_document(conn)
        await programmes.store(conn, programmes.default_document(), source="default.yaml",
                               actor="tests")  # fmt: skip
    yield
    if before is not None:
        async with engine.begin() as conn:
            await programmes.store(conn, before, source="restored", actor="tests")


async def apply(
    engine: AsyncEngine, handler: Handler, topic: str, messages: Sequence[Any]
) -> UnitOfWork:
    """One consumed batch, the way the consumer applies it: one transaction, the outbox too."""
    async with engine.begin() as conn:
        uow = UnitOfWork(conn, SERVICE)
        batch = [Inbound(topic, 0, next(_offsets), msg.customer_no, msg) for msg in messages]
        await handler(uow, batch)
        published = list(uow.outgoing)
        await uow.flush_outbox()
    uow.outgoing.extend(published)  # kept for the test to read
    return uow


async def earn(engine: AsyncEngine, *txs: TransactionEnriched) -> UnitOfWork:
    return await apply(engine, handlers.post_earnings, handlers.ENRICHED_TOPIC, txs)


def enriched(customer: str, amount_cents: int, **overrides: Any) -> TransactionEnriched:
    tx_id = overrides.pop("transaction_id", m.new_id("CT"))
    body: dict[str, Any] = {
        "message_id": m.new_id("enriched"),
        "sent_at": m.now(),
        "source": "card",
        "source_message_id": m.new_id("card"),
        "transaction_id": tx_id,
        "status": "posted",
        "kind": "purchase",
        "original_transaction_id": None,
        "customer_no": customer,
        "account_no": None,
        "amount_cents": amount_cents,
        "currency": "ZAR",
        "transaction_at": NOW.isoformat(),
        "descriptor": "WOOLWORTHS SANDTON CITY JHB ZA",
        "mcc": "5411",
        "channel": "card",
        "direction": "debit",
        "vendor_id": "woolworths-test",
        "vendor_name": "Woolworths",
        "vendor_category": "groceries",
        "partner": True,
        "match_method": "merchant_id",
        "match_confidence": 100,
    }
    return TransactionEnriched.model_validate(body | overrides)


def refund(
    customer: str, original: TransactionEnriched, amount_cents: int, **kw: Any
) -> TransactionEnriched:
    return enriched(customer, amount_cents, kind="refund", direction="credit",
                    original_transaction_id=original.transaction_id, **kw)  # fmt: skip


def posted(uow: UnitOfWork) -> list[PointsPosted]:
    return [PointsPosted.model_validate_json(o.payload) for o in uow.outgoing
            if o.topic == handlers.POSTED_TOPIC]  # fmt: skip


def pending(uow: UnitOfWork) -> list[tuple[str, str, int]]:
    events = [PendingPointsChanged.model_validate_json(o.payload) for o in uow.outgoing
              if o.topic == handlers.PENDING_TOPIC]  # fmt: skip
    return [(e.currency, e.state, e.points) for e in events]


def points(uow: UnitOfWork, currency: str = "points") -> list[tuple[str, int]]:
    return [(p.kind, p.points) for p in posted(uow) if p.currency == currency]


async def earnings(url: str, customer: str) -> list[dict[str, Any]]:
    rows = await fetch(
        url,
        "SELECT source_transaction_id, status, currency, points, rule_id, rule_version, "
        "agreement_id, reverses_posting_id FROM accrual.earnings WHERE customer_no = $1 "
        "ORDER BY earning_id",
        customer,
    )
    return [dict(r) for r in rows]


def test_the_service_subscribes_exactly_to_its_registry_topics() -> None:
    from contracts.registry import topics_consumed_by

    subscribed = [s.topic for s in definition().subscriptions]
    assert sorted(subscribed) == sorted(topics_consumed_by(SERVICE))


async def test_a_purchase_earns_by_the_rules_and_records_rule_and_version(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customer = m.customer_no()
    purchase = enriched(customer, 25_050)
    uow = await earn(engine, purchase)

    assert points(uow) == [("earn", 25)]
    assert points(uow, "tier_points") == [("earn", 25)]
    credit = posted(uow)[0]
    assert credit.rule_id == "card-points-standard"
    assert credit.rule_version is not None
    assert credit.expires_at is not None
    assert credit.reason == "card_purchase under agreement standard"
    assert uow.outgoing[0].key == customer
    rows = await earnings(pg_admin_url, customer)
    assert [(r["currency"], r["points"], r["agreement_id"]) for r in rows] == [
        ("points", 25, "standard"), ("tier_points", 25, "standard"),
    ]  # fmt: skip


async def test_redelivery_with_a_new_message_id_earns_nothing_more(engine: AsyncEngine) -> None:
    customer = m.customer_no()
    purchase = enriched(customer, 50_000)
    again = purchase.model_copy(update={"message_id": m.new_id("enriched")})
    first = await earn(engine, purchase, again)
    second = await earn(engine, again)
    assert points(first) == [("earn", 50)]
    assert posted(second) == []


async def test_dispatch_by_the_transactions_date_across_a_rule_change(engine: AsyncEngine) -> None:
    # Partner multipliers began on 1 March 2026: a late February event earns the old rate.
    customer = m.customer_no()
    at_engen = {"vendor_id": "engen", "vendor_category": "fuel", "mcc": "5541"}
    february = enriched(customer, 30_000, transaction_at="2026-02-27T12:00:00+02:00", **at_engen)
    march = enriched(customer, 30_000, transaction_at="2026-03-02T12:00:00+02:00", **at_engen)
    uow = await earn(engine, march, february)
    earned = {
        p.source_transaction_id: (p.points, p.rule_id)
        for p in posted(uow)
        if p.currency == "points"
    }
    assert earned == {
        march.transaction_id: (60, "card-points-standard"),
        february.transaction_id: (30, "card-points-2025"),
    }
    # The late event's lot expires 24 months after the month it happened in, not now.
    [late] = [p for p in posted(uow) if p.source_transaction_id == february.transaction_id
              and p.currency == "points"]  # fmt: skip
    assert late.expires_at == date(2028, 2, 29)
    assert late.earned_at == february.transaction_at


async def test_pending_points_are_confirmed_by_the_posting(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customer = m.customer_no()
    auth = enriched(customer, 25_050, status="authorized")
    created = await earn(engine, auth)
    assert posted(created) == []
    assert pending(created) == [("points", "created", 25), ("tier_points", "created", 25)]

    posting = enriched(customer, 25_050, transaction_id=auth.transaction_id)
    confirmed = await earn(engine, posting)
    assert pending(confirmed) == [("points", "confirmed", 25), ("tier_points", "confirmed", 25)]
    assert points(confirmed) == [("confirmation", 25)]
    rows = await fetch(pg_admin_url, "SELECT state, reason FROM accrual.pending_points "
                       "WHERE transaction_id = $1", auth.transaction_id)  # fmt: skip
    assert {(r["state"], r["reason"]) for r in rows} == {("confirmed", "posted")}


async def test_pending_points_are_cancelled_by_a_reversal(engine: AsyncEngine) -> None:
    customer = m.customer_no()
    auth = enriched(customer, 25_050, status="authorized")
    await earn(engine, auth)
    reversed_ = enriched(customer, 25_050, status="reversed", transaction_id=auth.transaction_id)
    uow = await earn(engine, reversed_)
    assert pending(uow) == [("points", "cancelled", 25), ("tier_points", "cancelled", 25)]
    assert posted(uow) == []


async def test_pending_points_lapse_and_a_later_posting_earns_normally(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customer = m.customer_no()
    long_ago = datetime(2026, 1, 5, 9, tzinfo=UTC)
    auth = enriched(customer, 12_000, status="authorized", transaction_at=long_ago.isoformat())
    await earn(engine, auth)
    async with engine.begin() as conn:
        uow = UnitOfWork(conn, SERVICE)
        lapsed = await handlers.lapse_pending(uow, older_than=long_ago + timedelta(seconds=1))
        published = list(uow.outgoing)
        await uow.flush_outbox()
    uow.outgoing.extend(published)
    assert lapsed == 2
    assert pending(uow) == [("points", "cancelled", 12), ("tier_points", "cancelled", 12)]
    rows = await fetch(pg_admin_url, "SELECT reason FROM accrual.pending_points "
                       "WHERE transaction_id = $1", auth.transaction_id)  # fmt: skip
    assert {r["reason"] for r in rows} == {"lapsed"}
    late_posting = enriched(customer, 12_000, transaction_id=auth.transaction_id,
                            transaction_at=long_ago.isoformat())  # fmt: skip
    assert points(await earn(engine, late_posting)) == [("earn", 12)]


async def test_partial_refunds_summing_past_the_original(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customer = m.customer_no()
    purchase = enriched(customer, 10_000)
    await earn(engine, purchase)
    first = await earn(engine, refund(customer, purchase, 6_000))
    second = await earn(engine, refund(customer, purchase, 6_000))
    assert points(first) == [("reversal", -6)]
    assert points(second) == [("reversal", -4)]
    assert posted(second)[0].reverses_posting_id == f"earn:card:{purchase.transaction_id}:points"
    total = sum(
        r["points"] for r in await earnings(pg_admin_url, customer) if r["currency"] == "points"
    )
    assert total == 0


async def test_a_double_refund_reverses_once(engine: AsyncEngine) -> None:
    customer = m.customer_no()
    purchase = enriched(customer, 20_000)
    await earn(engine, purchase)
    uow = await earn(engine, refund(customer, purchase, 20_000), refund(customer, purchase, 20_000))
    assert points(uow) == [("reversal", -20)]


async def test_a_refund_before_its_purchase_is_held_then_applied(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customer = m.customer_no()
    purchase = enriched(customer, 40_000)
    early = refund(customer, purchase, 10_000)
    held = await earn(engine, early)
    assert posted(held) == []
    [row] = await fetch(pg_admin_url, "SELECT state, reason FROM accrual.held_reversals "
                        "WHERE transaction_id = $1", early.transaction_id)  # fmt: skip
    assert row["state"] == "held"
    assert purchase.transaction_id in row["reason"]

    uow = await earn(engine, purchase)
    assert points(uow) == [("earn", 40), ("reversal", -10)]
    [row] = await fetch(pg_admin_url, "SELECT state, resolved_by FROM accrual.held_reversals "
                        "WHERE transaction_id = $1", early.transaction_id)  # fmt: skip
    assert (row["state"], row["resolved_by"]) == ("applied", "accrual")


async def test_a_disputed_debit_order_with_an_unknown_original_is_held_for_review(
    engine: AsyncEngine, pg_admin_url: str
) -> None:
    customer = m.customer_no()
    order = {
        "source": "debit_order",
        "channel": "debit_order",
        "mcc": None,
        "account_no": "4071234567",
        "vendor_id": "discovery_health",
        "vendor_category": "medical_aid",
        "partner": True,
        "match_method": "user_code",
    }
    original_id = f"DO-20261001-{uuid.uuid4().int % 10**6}"
    rv = enriched(customer, 80_000, status="reversed", kind="reversal", direction="credit",
                  original_transaction_id=original_id, **order)  # fmt: skip
    assert posted(await earn(engine, rv)) == []
    [row] = await fetch(pg_admin_url, "SELECT state FROM accrual.held_reversals "
                        "WHERE original_transaction_id = $1", original_id)  # fmt: skip
    assert row["state"] == "held"
    original = enriched(customer, 80_000, kind="payment", transaction_id=original_id, **order)
    uow = await earn(engine, original)
    assert points(uow) == [("earn", 80), ("reversal", -80)]
    assert points(uow, "tier_points") == [("earn", 80), ("reversal", -80)]


async def test_monthly_caps_hold_across_batches(engine: AsyncEngine) -> None:
    # EFT payments earn 1 point per R20, at most 1,000 points a month.
    customer = m.customer_no()
    eft = {"source": "account", "channel": "eft", "mcc": None, "account_no": "4071234567",
           "kind": "payment", "vendor_id": None, "vendor_name": None, "vendor_category": None,
           "partner": False, "match_method": "none", "match_confidence": 0}  # fmt: skip
    first = await earn(engine, enriched(customer, 1_900_000, **eft))
    second = await earn(engine, enriched(customer, 200_000, **eft))
    third = await earn(engine, enriched(customer, 200_000, **eft))
    assert points(first) == [("earn", 950)]
    assert points(second) == [("earn", 50)]
    assert posted(third) == []


async def test_a_non_member_earns_nothing(engine: AsyncEngine) -> None:
    customer = m.customer_no()
    profile = ProfileChanged.model_validate({
        "message_id": m.new_id("profile"), "sent_at": m.now(), "customer_no": customer,
        "status": "active", "loyalty_member": False, "first_name": "Thabo",
        "last_name": "Nkosi", "preferred_language": "en", "segment": "retail", "tier": "blue",
        "cashback_account_no": None, "profile_version": 1, "changed_at": m.now(),
    })  # fmt: skip
    await apply(engine, handlers.record_profiles, handlers.PROFILE_TOPIC, [profile])
    assert posted(await earn(engine, enriched(customer, 50_000))) == []


async def test_an_adjustment_is_a_posting_with_actor_and_reason(engine: AsyncEngine) -> None:
    customer = m.customer_no()
    adjustment = AdjustmentRequested.model_validate({
        "message_id": m.new_id("adj"), "sent_at": m.now(), "adjustment_id": m.new_id("A"),
        "customer_no": customer, "currency": "points", "points": 500, "actor": "ops.jane",
        "reason_code": "goodwill", "reason_text": "late delivery", "requested_at": m.now(),
    })  # fmt: skip
    uow = await apply(engine, handlers.post_adjustments, handlers.ADJUSTMENT_TOPIC,
                      [adjustment, adjustment])  # fmt: skip
    [credit] = posted(uow)
    assert (credit.kind, credit.points, credit.actor) == ("adjustment", 500, "ops.jane")
    assert credit.reason == "goodwill: late delivery"
    assert credit.expires_at is not None
