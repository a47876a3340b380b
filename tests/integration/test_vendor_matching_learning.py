"""Reviewers teach the matcher: vendor_matching's handlers on a real Postgres, as its
runtime role, the way the consumer calls them (one transaction per batch)."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import string
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.esb import CardTransaction
from contracts.loyalty import MatchReviewDecided, MatchReviewRequested, TransactionEnriched
from services.vendor_matching import cli, handlers
from services.vendor_matching.domain import Vendor
from services.vendor_matching.handlers import Enricher
from services.vendor_matching.learning import ReviewDecision
from services.vendor_matching.master import import_vendors
from shared.db.engine import create_engine, runtime_url
from shared.messaging.uow import Handler, Inbound, UnitOfWork
from shared.settings import PlatformSettings, service_settings
from tests.support import messages as m
from tests.support.db import execute, fetch

pytestmark = pytest.mark.integration

SERVICE = "vendor_matching"
_offsets = itertools.count()


@pytest.fixture(scope="module")
async def engine(pg_admin_url: str) -> AsyncIterator[AsyncEngine]:
    runtime = create_engine(
        runtime_url(SERVICE, pg_admin_url, PlatformSettings(), service_settings(SERVICE))
    )
    yield runtime
    await runtime.dispose()


def made_up_word() -> str:
    """A word no other test's vendor uses, so that they never get in the way."""
    rng = random.Random()  # noqa: S311 - a test name, not security
    return "ZQ" + "".join(rng.choice(string.ascii_uppercase) for _ in range(8))


@pytest.fixture
def brand() -> str:
    return made_up_word()


@pytest.fixture
async def vendors(engine: AsyncEngine, brand: str) -> tuple[str, str]:
    """Two vendors of one brand (`BRAND HEALTH`, `BRAND INSURE` in spirit, with made-up
    second words): a descriptor naming only the brand could be either."""
    return await register_brand(engine, brand)


async def register_brand(engine: AsyncEngine, brand: str) -> tuple[str, str]:
    health, insure = f"{brand.lower()}_health", f"{brand.lower()}_insure"
    vendors = [
        Vendor(vendor_id, f"{brand} {made_up_word()}", category, partner=True,
               accepts_redemptions=False)
        for vendor_id, category in ((health, "medical_aid"), (insure, "insurance"))
    ]  # fmt: skip
    async with engine.begin() as conn:
        uow = UnitOfWork(conn, SERVICE)
        await import_vendors(uow, vendors)
        await uow.flush_outbox()
    return health, insure


async def apply(engine: AsyncEngine, handler: Handler, topic: str, messages: Sequence[Any]) -> list:
    """One consumed batch, as the consumer applies it; returns what it published."""
    async with engine.begin() as conn:
        uow = UnitOfWork(conn, SERVICE)
        batch = [Inbound(topic, 0, next(_offsets), None, msg) for msg in messages]
        await handler(uow, batch)
        published = list(uow.outgoing)
        await uow.flush_outbox()
    return published


def card(descriptor: str) -> CardTransaction:
    return CardTransaction.model_validate(
        {**m.card_posted(m.customer_no(), 10_000, descriptor=descriptor), "mcc": None}
    )


async def enrich(engine: AsyncEngine, enricher: Enricher, descriptor: str) -> dict[str, Any]:
    """Match one card transaction; the enriched message and any review it opened."""
    published = await apply(engine, enricher.card, handlers.CARD_TOPIC, [card(descriptor)])
    by_topic = {o.topic: o for o in published}
    enriched = TransactionEnriched.model_validate_json(by_topic[handlers.ENRICHED_TOPIC].payload)
    review = by_topic.get(handlers.REVIEW_REQUESTED_TOPIC)
    return {
        "enriched": enriched,
        "review": MatchReviewRequested.model_validate_json(review.payload) if review else None,
    }


def decided(
    review: MatchReviewRequested, decision: str, vendor_id: str | None
) -> MatchReviewDecided:
    return MatchReviewDecided(
        message_id=m.new_id("decision"),
        sent_at=datetime.now(UTC),
        review_id=review.review_id,
        customer_no=review.customer_no,
        decision=decision,
        vendor_id=vendor_id,
        actor="reviewer@bank",
        decided_at=datetime.now(UTC),
    )


async def test_a_confirmed_descriptor_is_matched_exactly_the_next_time(
    engine, pg_admin_url, brand, vendors
):
    health, insure = vendors
    enricher = Enricher()
    first = await enrich(engine, enricher, f"POS PURCHASE {brand} 1234")
    assert first["enriched"].vendor_id is None
    review = first["review"]
    assert {c.vendor_id for c in review.candidates} >= {health, insure}

    await apply(
        engine,
        handlers.record_review_decisions,
        handlers.REVIEW_DECIDED_TOPIC,
        [decided(review, "confirm", health)],
    )

    rows = await fetch(
        pg_admin_url,
        "SELECT state, decided_vendor_id, decided_by, decided_at IS NOT NULL AS dated "
        "FROM vendor_matching.review_queue WHERE review_id = $1",
        review.review_id,
    )
    assert [tuple(r) for r in rows] == [("confirmed", health, "reviewer@bank", True)]
    learned = await fetch(
        pg_admin_url,
        "SELECT descriptor_norm, vendor_id, review_id FROM vendor_matching.vendor_learned_aliases "
        "WHERE vendor_id = $1",
        health,
    )
    assert [tuple(r) for r in learned] == [(brand, health, review.review_id)]
    # Same descriptor, other store number and date: the same process sees the lesson.
    again = await enrich(engine, enricher, f"{brand} 98765 15 JAN")
    assert again["review"] is None
    enriched = again["enriched"]
    assert (enriched.vendor_id, enriched.match_method, enriched.match_confidence) == (
        health,
        "alias",
        100,
    )
    # A restarted service (a new engine cache) knows it too.
    assert (await enrich(engine, Enricher(), f"{brand} 555"))["enriched"].vendor_id == health


async def test_a_rejected_vendor_is_not_proposed_again_for_that_descriptor(
    engine, pg_admin_url, brand, vendors
):
    health, insure = vendors
    enricher = Enricher()
    descriptor = f"POS PURCHASE {brand} 4321"
    review = (await enrich(engine, enricher, descriptor))["review"]
    assert {c.vendor_id for c in review.candidates} >= {health, insure}

    await apply(
        engine,
        handlers.record_review_decisions,
        handlers.REVIEW_DECIDED_TOPIC,
        [decided(review, "reject", health)],
    )

    rejected = await fetch(
        pg_admin_url,
        "SELECT descriptor_norm, vendor_id FROM vendor_matching.vendor_rejections "
        "WHERE review_id = $1",
        review.review_id,
    )
    assert [tuple(r) for r in rejected] == [(brand, health)]
    after = await enrich(engine, enricher, descriptor)
    proposed = {c.vendor_id for c in after["review"].candidates} if after["review"] else set()
    assert health not in proposed
    assert after["enriched"].vendor_id != health


async def test_a_decision_on_a_closed_or_unknown_review_changes_nothing(
    engine, pg_admin_url, brand, vendors
):
    health, insure = vendors
    review = (await enrich(engine, Enricher(), f"{brand} 77"))["review"]
    first = ReviewDecision(review.review_id, "confirm", insure, "first@bank")
    second = ReviewDecision(review.review_id, "confirm", health, "second@bank")
    async with engine.begin() as conn:
        closed = await handlers.decide_reviews(UnitOfWork(conn, SERVICE), [first, second])
    assert [(c.vendor_id, c.actor) for c in closed] == [(insure, "first@bank")]
    async with engine.begin() as conn:
        assert await handlers.decide_reviews(UnitOfWork(conn, SERVICE), [second]) == []
        unknown = ReviewDecision("no-such-review", "confirm", health, "x@bank")
        assert await handlers.decide_reviews(UnitOfWork(conn, SERVICE), [unknown]) == []
    learned = await fetch(
        pg_admin_url,
        "SELECT vendor_id, decided_by FROM vendor_matching.vendor_learned_aliases "
        "WHERE descriptor_norm = $1",
        brand,
    )
    assert [tuple(r) for r in learned] == [(insure, "first@bank")]


async def test_a_later_rejection_undoes_a_confirmation_and_the_change_is_audited(
    engine, pg_admin_url, brand, vendors
):
    health, insure = vendors
    enricher = Enricher()
    review = (await enrich(engine, enricher, f"{brand} 12"))["review"]
    async with engine.begin() as conn:
        await handlers.decide_reviews(
            UnitOfWork(conn, SERVICE),
            [ReviewDecision(review.review_id, "confirm", health, "a@bank")],
        )
    assert (await enrich(engine, enricher, f"{brand} 13"))["enriched"].vendor_id == health
    # A supervisor reopens the question (the matcher no longer asks it) and answers
    # "none of these": every candidate is rejected, the confirmation is withdrawn.
    await execute(
        pg_admin_url,
        "INSERT INTO vendor_matching.review_queue (review_id, source, transaction_id, "
        "descriptor, candidates, descriptor_norm) VALUES ($1, 'card', $1, $2, $3::jsonb, NULL)",
        f"second-look-{brand}",
        f"{brand} 13",
        f'[{{"vendor_id": "{health}", "confidence": 100}}, '
        f'{{"vendor_id": "{insure}", "confidence": 60}}]',
    )
    async with engine.begin() as conn:
        await handlers.decide_reviews(
            UnitOfWork(conn, SERVICE),
            [ReviewDecision(f"second-look-{brand}", "reject", None, "b@bank")],
        )

    rejected = await fetch(
        pg_admin_url,
        "SELECT vendor_id FROM vendor_matching.vendor_rejections WHERE descriptor_norm = $1 "
        "ORDER BY vendor_id",
        brand,
    )
    assert [r[0] for r in rejected] == sorted([health, insure])
    audited = await fetch(
        pg_admin_url,
        "SELECT operation, old_row->>'vendor_id', old_row->>'decided_by' "
        "FROM vendor_matching.audit WHERE table_name = 'vendor_learned_aliases' "
        "AND old_row->>'descriptor_norm' = $1",
        brand,
    )
    assert [tuple(r) for r in audited] == [("DELETE", health, "a@bank")]
    final = await enrich(engine, enricher, f"{brand} 14")
    assert final["enriched"].vendor_id is None
    assert final["review"] is None  # every candidate rejected: nothing left to ask


def test_loyalty_vendors_confirm_and_reject_answer_reviews_at_once(
    pg_admin_url: str, endpoints: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    brand, other = made_up_word(), made_up_word()

    async def seed() -> tuple[str, str, str, str]:
        runtime = create_engine(
            runtime_url(SERVICE, pg_admin_url, PlatformSettings(), service_settings(SERVICE))
        )
        try:
            health, insure = await register_brand(runtime, brand)
            await register_brand(runtime, other)
            enricher = Enricher()
            first = (await enrich(runtime, enricher, f"{brand} 1"))["review"]
            second = (await enrich(runtime, enricher, f"{other} 2"))["review"]
            return health, insure, first.review_id, second.review_id
        finally:
            await runtime.dispose()

    health, insure, first, second = asyncio.run(seed())
    monkeypatch.setenv("LOYALTY_KAFKA_BOOTSTRAP", endpoints.kafka_bootstrap)
    monkeypatch.setenv("LOYALTY_DATABASE_URL", pg_admin_url)
    monkeypatch.setenv("LOYALTY_INFRA_MODE", "embedded")  # the runtime role's dev password
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))

    def run(*argv: str) -> tuple[int, str]:
        args = parser.parse_args(["vendors", *argv])
        status = args.func(args)
        return status, capsys.readouterr().out

    assert run("confirm", first, health, "--actor", "thandi") == (
        0,
        f"review {first} confirmed by thandi: {brand!r} is {health}\n",
    )
    candidates = f"{other.lower()}_health, {other.lower()}_insure"
    assert run("reject", second, "--actor", "thandi") == (
        0,
        f"review {second} rejected by thandi: {other!r} is not {candidates}\n",
    )
    status, out = run("confirm", first, insure, "--actor", "sipho")
    assert (status, out) == (1, f"loyalty vendors confirm: review {first!r} is already confirmed\n")
    status, out = run("reject", "no-such-review", health, "--actor", "sipho")
    assert (status, out) == (1, "loyalty vendors reject: no review 'no-such-review'\n")

    learned = asyncio.run(
        fetch(
            pg_admin_url,
            "SELECT descriptor_norm, vendor_id, decided_by "
            "FROM vendor_matching.vendor_learned_aliases WHERE descriptor_norm = $1",
            brand,
        )
    )
    assert [tuple(r) for r in learned] == [(brand, health, "thandi")]
