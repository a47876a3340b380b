"""Reliability of every hop: duplicates, poison messages, crashes, clean shutdown."""

from __future__ import annotations

import asyncio
import json

import orjson
import pytest

from shared.infra.embedded import Endpoints
from tests.support import messages as m
from tests.support.db import eventually, fetchval, wallet_points
from tests.support.kafka import Bank, header, json_field, read_topic
from tests.support.processes import ServiceProcess

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

CARD = "esb.card.transaction.v1"


def _earnings(url: str, transaction_id: str):
    return lambda: fetchval(
        url,
        "SELECT count(*) FROM accrual.earnings WHERE source_transaction_id = $1 "
        "AND currency = 'points'",
        transaction_id,
    )


async def test_a_message_delivered_twice_has_one_effect(
    platform, endpoints: Endpoints, pg_admin_url: str
) -> None:
    customer = m.customer_no()
    purchase = m.card_posted(customer, 50_000)
    async with Bank(endpoints.kafka_bootstrap) as bank:
        await bank.publish(CARD, purchase, customer)
        await bank.publish(CARD, purchase, customer)  # the bank redelivers, same message id
        second = m.card_posted(customer, 10_000)
        await bank.publish(CARD, second, customer)
    # 50 + 10 points, not 100 + 10: the later message proves the duplicate was consumed.
    balance = await eventually(wallet_points(pg_admin_url, customer), lambda b: b == 60)
    await asyncio.sleep(1.0)
    assert await wallet_points(pg_admin_url, customer)() == 60 == balance
    assert await _earnings(pg_admin_url, purchase["transaction_id"])() == 1
    enriched = await read_topic(
        endpoints.kafka_bootstrap,
        "loyalty.transaction.enriched.v1",
        json_field("transaction_id", purchase["transaction_id"]),
        expect=2,
        timeout=3,
    )
    assert len(enriched) == 1


async def test_malformed_and_invalid_messages_are_dead_lettered_and_the_next_is_processed(
    platform, endpoints: Endpoints, pg_admin_url: str
) -> None:
    customer = m.customer_no()
    broken = b'{"message_id": "broken-' + customer.encode() + b'", "status": '
    invalid = m.card_posted(customer, 12_345)
    invalid["amount_cents"] = 123.45  # money is never a float
    good = m.card_posted(customer, 20_000)
    async with Bank(endpoints.kafka_bootstrap) as bank:
        await bank.publish(CARD, broken, customer)
        await bank.publish(CARD, invalid, customer)
        await bank.publish(CARD, good, customer)
    assert await eventually(wallet_points(pg_admin_url, customer), lambda b: b == 20) == 20

    dead = await read_topic(
        endpoints.kafka_bootstrap,
        f"{CARD}.dlq",
        lambda r: r.key == customer.encode(),
        expect=2,
    )
    assert [r.value for r in dead] == [broken, orjson.dumps(invalid)]
    reasons = [header(r, "dlq.reason") or "" for r in dead]
    assert reasons[0].startswith("invalid_json")
    assert reasons[1].startswith("schema_violation")
    assert "amount_cents" in reasons[1]
    assert header(dead[0], "dlq.source_topic") == CARD
    assert header(dead[0], "dlq.source_offset") is not None


async def test_a_reused_message_id_with_another_payload_is_dead_lettered(
    platform, endpoints: Endpoints, pg_admin_url: str
) -> None:
    customer = m.customer_no()
    original = m.card_posted(customer, 30_000)
    forged = {**original, "amount_cents": 3_000_000}
    async with Bank(endpoints.kafka_bootstrap) as bank:
        await bank.publish(CARD, original, customer)
        assert await eventually(wallet_points(pg_admin_url, customer), lambda b: b == 30) == 30
        await bank.publish(CARD, forged, customer)
    dead = await read_topic(
        endpoints.kafka_bootstrap, f"{CARD}.dlq", lambda r: r.key == customer.encode()
    )
    assert len(dead) == 1
    assert (header(dead[0], "dlq.reason") or "").startswith("message_id_conflict")
    assert await wallet_points(pg_admin_url, customer)() == 30


async def test_sigkill_after_commit_before_relay_loses_nothing_and_duplicates_nothing(
    platform, endpoints: Endpoints, pg_admin_url: str
) -> None:
    platform["vendor_matching"].stop()
    faulty = ServiceProcess(
        "vendor_matching",
        endpoints,
        {
            "LOYALTY_VENDOR_MATCHING_FAULT_INJECTION": "kill_after_commit",
            "LOYALTY_VENDOR_MATCHING_RELAY_ENABLED": "false",
        },
    ).start()
    customer = m.customer_no()
    purchase = m.card_posted(customer, 40_000)
    async with Bank(endpoints.kafka_bootstrap) as bank:
        await bank.publish(CARD, purchase, customer)
    assert faulty.proc is not None
    await asyncio.to_thread(faulty.proc.wait, 60)
    assert faulty.proc.returncode == -9  # killed itself right after the DB commit

    # The effect is committed and its event waits in the outbox; the offset is not committed.
    unsent = await fetchval(
        pg_admin_url,
        "SELECT count(*) FROM vendor_matching.outbox WHERE message_id = $1",
        f"enriched:card:{purchase['message_id']}",
    )
    assert unsent == 1

    platform["vendor_matching"] = ServiceProcess("vendor_matching", endpoints).start()
    assert await eventually(wallet_points(pg_admin_url, customer), lambda b: b == 40) == 40
    await asyncio.sleep(1.0)
    assert await wallet_points(pg_admin_url, customer)() == 40
    assert await _earnings(pg_admin_url, purchase["transaction_id"])() == 1
    enriched = await read_topic(
        endpoints.kafka_bootstrap,
        "loyalty.transaction.enriched.v1",
        json_field("transaction_id", purchase["transaction_id"]),
        expect=2,
        timeout=3,
    )
    assert len(enriched) == 1


async def test_sigterm_drains_and_exits_cleanly(platform, endpoints: Endpoints) -> None:
    assert platform["accrual"].stop() == 0
    platform["accrual"] = ServiceProcess("accrual", endpoints).start()


async def test_a_message_that_fails_processing_is_dead_lettered_after_retries(
    platform, endpoints: Endpoints, pg_admin_url: str
) -> None:
    customer = m.customer_no()
    now = m.now()

    def posting(posting_id: str, points: int) -> dict:
        return {
            "message_id": f"posted:{posting_id}",
            "sent_at": now,
            "posting_id": posting_id,
            "customer_no": customer,
            "currency": "points",
            "points": points,
            "kind": "earn",
            "source_transaction_id": None,
            "reverses_posting_id": None,
            "expires_at": None,
            "rule_id": None,
            "rule_version": None,
            "earned_at": now,
            "actor": None,
            "reason": None,
        }

    # Valid by its contract, but more points than a bigint holds: the wallet's insert fails.
    poison = posting(m.new_id("poison"), 10**20)
    good = posting(m.new_id("good"), 7)
    async with Bank(endpoints.kafka_bootstrap) as bank:
        await bank.publish("loyalty.points.posted.v1", json.dumps(poison).encode(), customer)
        await bank.publish("loyalty.points.posted.v1", good, customer)
    assert await eventually(wallet_points(pg_admin_url, customer), lambda b: b == 7) == 7
    dead = await read_topic(
        endpoints.kafka_bootstrap,
        "loyalty.points.posted.v1.dlq",
        lambda r: poison["posting_id"].encode() in (r.value or b""),
        expect=2,
    )
    # Both consumers of the topic (the wallet and the profile) dead-letter it, each once.
    assert sorted(header(r, "dlq.service") or "" for r in dead) == [
        "customer_profile",
        "redemption",
    ]
    assert all((header(r, "dlq.reason") or "").startswith("processing_failed") for r in dead)


def test_services_expose_metrics_and_health(platform) -> None:
    import urllib.request

    process = platform["vendor_matching"]
    with urllib.request.urlopen(process.url("/healthz"), timeout=5) as response:  # noqa: S310
        assert response.status == 200
    with urllib.request.urlopen(process.url("/metrics"), timeout=5) as response:  # noqa: S310
        body = response.read().decode()
    assert "loyalty_messages_total" in body
    assert 'loyalty_outbox_relay_active{service="vendor_matching"} 1.0' in body
