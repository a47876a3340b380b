"""The outbox relay: exactly one active per service, in order, crash-safe."""

from __future__ import annotations

import asyncio
import os

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text

from shared.db.engine import create_engine
from shared.infra.embedded import Endpoints
from shared.messaging.relay import OutboxRelay, relay_lock_key
from tests.support.kafka import read_topic

pytestmark = pytest.mark.integration

TOPIC = "loyalty.vendor.changed.v1"
UNSENT = 'SELECT count(*) FROM "{schema}".outbox WHERE key = :k AND sent_at IS NULL'


async def test_only_the_relay_holding_the_lock_publishes_and_order_is_kept(
    endpoints: Endpoints, pg_admin_url: str
) -> None:
    # A schema of its own: every service's relay may be running in this session.
    schema = f"relay_test_{os.getpid()}"
    engine = create_engine(pg_admin_url)
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        await conn.execute(
            text(f'CREATE TABLE IF NOT EXISTS "{schema}".outbox '
                 "(LIKE debit_orders.outbox INCLUDING ALL)")
        )  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap)
    await producer.start()
    key = f"relay-test-{id(engine)}"
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    f'INSERT INTO "{schema}".outbox (topic, key, message_id, payload) '
                    "SELECT :t, :k, :k || '-' || n, convert_to(json_build_object("
                    "'n', n)::text, 'UTF8') FROM generate_series(1, 50) AS n"
                ),
                {"t": TOPIC, "k": key},
            )
        # Another process holds the relay lock: this relay must wait, publishing nothing.
        async with engine.connect() as holder:
            await holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": relay_lock_key(schema)})
            await holder.commit()
            stop = asyncio.Event()
            relay = OutboxRelay(schema, engine, producer, idle_s=0.01)
            task = asyncio.create_task(relay.run(stop))
            await asyncio.sleep(1.5)
            async with engine.connect() as conn:
                unsent = await conn.scalar(
                    text(
                        f'SELECT count(*) FROM "{schema}".outbox WHERE key = :k AND sent_at IS NULL'
                    ),
                    {"k": key},
                )
            assert unsent == 50
            await holder.execute(text("SELECT pg_advisory_unlock_all()"))
            await holder.commit()
        records = await read_topic(
            endpoints.kafka_bootstrap, TOPIC, lambda r: r.key == key.encode(), expect=50
        )
        stop.set()
        await task
        assert [orjson.loads(r.value)["n"] for r in records] == list(range(1, 51))
        async with engine.connect() as conn:
            unsent = await conn.scalar(
                text(UNSENT.format(schema=schema)),
                {"k": key},
            )
        assert unsent == 0
    finally:
        await producer.stop()
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()
