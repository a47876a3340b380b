"""The outbox relay: exactly one active per service, in order, crash-safe."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import ProducerClosed
from aiokafka.structs import ConsumerRecord
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.loyalty import VendorChanged
from shared.db.engine import create_engine
from shared.infra.embedded import Endpoints
from shared.messaging.consumer import BatchProcessor, DeadLetter
from shared.messaging.relay import OutboxRelay, delete_sql, relay_lock_key, select_sql
from shared.messaging.uow import Inbound, Outgoing, Subscription, UnitOfWork
from tests.support.contracts import vendor_changed
from tests.support.kafka import read_topic

pytestmark = pytest.mark.integration

TOPIC = "loyalty.vendor.changed.v1"
# A published row is deleted: what is left in the outbox is unsent.
UNSENT = 'SELECT count(*) FROM "{schema}".outbox WHERE key = :k'


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
                unsent = await conn.scalar(text(UNSENT.format(schema=schema)), {"k": key})
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
        await _drop_scratch(engine, schema)


async def test_a_stand_in_relay_leaves_the_lock_to_the_main_lane_and_covers_while_none_runs(
    endpoints: Endpoints, pg_admin_url: str
) -> None:
    """The wallet's gateway process is a stand-in: it never keeps the relay from the main
    lane's process, relays while none does, and lets go after its turn."""
    schema = f"relay_standby_{os.getpid()}"
    engine = create_engine(pg_admin_url)
    await _scratch_outbox(engine, schema)
    producer = AIOKafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap)
    await producer.start()
    key = f"relay-standby-{uuid.uuid4().hex[:8]}"
    lock = text("SELECT pg_try_advisory_lock(:k)")
    stop = asyncio.Event()
    task: asyncio.Task[None] | None = None
    try:
        await _insert_rows(engine, schema, key, 20)
        stand_in = OutboxRelay(schema, engine, producer, idle_s=0.01, standby_s=0.4)
        async with engine.connect() as main_lane:  # the main lane's relay holds the lock
            assert await main_lane.scalar(lock, {"k": relay_lock_key(schema)})
            await main_lane.commit()
            task = asyncio.create_task(stand_in.run(stop))
            await asyncio.sleep(1.5)  # three tries of the stand-in's
            async with engine.connect() as conn:
                assert await conn.scalar(text(UNSENT.format(schema=schema)), {"k": key}) == 20
            await main_lane.execute(text("SELECT pg_advisory_unlock_all()"))
            await main_lane.commit()
            # No relay of the main lane now: the stand-in publishes within its next try.
            records = await read_topic(
                endpoints.kafka_bootstrap, TOPIC, lambda r: r.key == key.encode(), expect=20
            )
            assert sorted(orjson.loads(r.value)["n"] for r in records) == list(range(1, 21))
            # And lets go after its turn: the main lane's process takes the relay back.
            taken = False
            for _ in range(30):
                taken = bool(await main_lane.scalar(lock, {"k": relay_lock_key(schema)}))
                await main_lane.commit()
                if taken:
                    break
                await asyncio.sleep(0.1)
            assert taken
            more = await _insert_rows(engine, schema, f"{key}-b", 5)
            await asyncio.sleep(1.0)  # the stand-in tries twice more and finds it held
            async with engine.connect() as conn:
                unsent = await conn.scalar(text(UNSENT.format(schema=schema)), {"k": f"{key}-b"})
            assert unsent == len(more)
            await main_lane.execute(text("SELECT pg_advisory_unlock_all()"))
            await main_lane.commit()
    finally:
        stop.set()
        if task is not None:
            await task
        await producer.stop()
        await _drop_scratch(engine, schema)


async def test_a_relay_that_fails_lets_go_of_the_lock(
    endpoints: Endpoints, pg_admin_url: str
) -> None:
    """A relay whose round fails (the broker refuses) closes the lock's connection: back in
    the pool, its session would hold the lock from every other process's relay."""
    schema = f"relay_lets_go_{os.getpid()}"
    engine = create_engine(pg_admin_url)
    await _scratch_outbox(engine, schema)
    broken = AIOKafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap)
    await broken.start()
    await broken.stop()  # a closed producer refuses every send
    other = create_engine(pg_admin_url)  # another process's relay
    stop = asyncio.Event()
    task: asyncio.Task[None] | None = None
    try:
        await _insert_rows(engine, schema, f"lets-go-{uuid.uuid4().hex[:8]}", 3)
        task = asyncio.create_task(OutboxRelay(schema, engine, broken, idle_s=0.01).run(stop))
        await asyncio.sleep(0.5)  # it took the lock, failed its round and waits to retry
        async with other.connect() as conn:
            got = await conn.scalar(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": relay_lock_key(schema)}
            )
            assert got
            await conn.execute(text("SELECT pg_advisory_unlock_all()"))
    finally:
        stop.set()
        if task is not None:
            await task
        await _drop_scratch(engine, schema)
        await other.dispose()


async def _drop_scratch(engine: AsyncEngine, schema: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await engine.dispose()


async def _scratch_outbox(engine: AsyncEngine, schema: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        for table in ("outbox", "inbox"):
            await conn.execute(
                text(f'CREATE TABLE IF NOT EXISTS "{schema}".{table} '
                     f"(LIKE debit_orders.{table} INCLUDING ALL)")
            )  # fmt: skip


async def _insert_rows(engine: AsyncEngine, schema: str, key: str, n: int) -> list[str]:
    async with engine.begin() as conn:
        rows = await conn.execute(
            text(
                f'INSERT INTO "{schema}".outbox (topic, key, message_id, payload) '
                "SELECT :t, :k, :k || '-' || n, convert_to(json_build_object("
                "'n', n)::text, 'UTF8') FROM generate_series(1, :n) AS n RETURNING message_id"
            ),
            {"t": TOPIC, "k": key, "n": n},
        )
        return [r.message_id for r in rows]


async def test_rows_published_at_once_are_not_published_again_by_the_relay(
    endpoints: Endpoints, pg_admin_url: str
) -> None:
    schema = f"relay_now_{os.getpid()}"
    engine = create_engine(pg_admin_url)
    await _scratch_outbox(engine, schema)
    producer = AIOKafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap)
    await producer.start()
    key = f"relay-now-{uuid.uuid4().hex[:8]}"
    try:
        ids = await _insert_rows(engine, schema, key, 30)
        rows = [
            Outgoing(TOPIC, key, message_id, orjson.dumps({"n": n}))
            for n, message_id in enumerate(ids, start=1)
        ]
        relay = OutboxRelay(schema, engine, producer, prompt_topics=frozenset({TOPIC}))
        # Rows of a prompt topic are their lane's to publish during the grace period.
        assert await relay.relay_once() == 0
        # What a lane hands to publish_soon is published by run_soon and deleted.
        stop = asyncio.Event()
        soon = asyncio.create_task(relay.run_soon(stop))
        relay.publish_soon(rows[:10])
        for _ in range(100):
            async with engine.connect() as conn:
                unsent = await conn.scalar(text(UNSENT.format(schema=schema)), {"k": key})
            if unsent == 20:
                break
            await asyncio.sleep(0.05)
        assert unsent == 20
        # Handed over after the stop (the lanes finish their batches): finish_soon's.
        stop.set()
        await soon
        relay.publish_soon(rows[10:15])
        await relay.finish_soon()
        async with engine.connect() as conn:
            assert await conn.scalar(text(UNSENT.format(schema=schema)), {"k": key}) == 15
        # The rest were never published at once (the process died first): past the grace
        # period the relay takes them, and only them.
        async with engine.begin() as conn:
            await conn.execute(
                text(f"UPDATE \"{schema}\".outbox SET created_at = now() - interval '1 minute'")
            )
        assert await relay.relay_once() == 15
        assert await relay.relay_once() == 0
        # Read for a while past the 30: a second copy of any row would show.
        records = await read_topic(
            endpoints.kafka_bootstrap, TOPIC, lambda r: r.key == key.encode(), expect=31,
            timeout=5.0,
        )  # fmt: skip
        published = sorted(orjson.loads(r.value)["n"] for r in records)
        assert published == list(range(1, 31))  # each row exactly once
    finally:
        await producer.stop()
        await _drop_scratch(engine, schema)


async def test_rows_the_broker_did_not_take_stay_in_the_outbox(
    endpoints: Endpoints, pg_admin_url: str
) -> None:
    """The relay deletes rows in the transaction that publishes them: a failed send rolls
    the deletion back, and the next round publishes every row, in order."""
    schema = f"relay_fail_{os.getpid()}"
    engine = create_engine(pg_admin_url)
    await _scratch_outbox(engine, schema)
    broken = AIOKafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap)
    await broken.start()
    await broken.stop()  # a closed producer refuses every send
    producer = AIOKafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap)
    await producer.start()
    key = f"relay-fail-{uuid.uuid4().hex[:8]}"
    try:
        await _insert_rows(engine, schema, key, 12)
        with pytest.raises(ProducerClosed):
            await OutboxRelay(schema, engine, broken).relay_once()
        async with engine.connect() as conn:
            assert await conn.scalar(text(UNSENT.format(schema=schema)), {"k": key}) == 12
        assert await OutboxRelay(schema, engine, producer, batch_size=5).relay_once() == 5
        async with engine.connect() as conn:
            assert await conn.scalar(text(UNSENT.format(schema=schema)), {"k": key}) == 7
        assert await OutboxRelay(schema, engine, producer).relay_once() == 7
        records = await read_topic(
            endpoints.kafka_bootstrap, TOPIC, lambda r: r.key == key.encode(), expect=13,
            timeout=5.0,
        )  # fmt: skip
        assert [orjson.loads(r.value)["n"] for r in records] == list(range(1, 13))
    finally:
        await producer.stop()
        await _drop_scratch(engine, schema)


def _outbox_scans(plan: dict[str, Any]) -> list[tuple[str, float]]:
    """(node type, actual loops) of every plan node that reads the outbox."""
    found = []
    if plan.get("Relation Name") == "outbox" or plan.get("Index Name", "").endswith("outbox"):
        found.append((plan["Node Type"], plan["Actual Loops"]))
    for child in plan.get("Plans", ()):
        found += _outbox_scans(child)
    return found


async def test_a_drained_outbox_analysed_as_empty_is_still_read_in_one_pass(
    pg_admin_url: str,
) -> None:
    """A drained outbox is analysed as empty while its deleted rows wait for vacuum; the
    relay's statements must not then loop over those rows once per row they handle (a
    one-statement DELETE ... WHERE id IN (SELECT ... LIMIT) did, and PostgreSQL's time grew
    fivefold under load)."""
    schema = f"relay_dead_{os.getpid()}"
    engine = create_engine(pg_admin_url)
    await _scratch_outbox(engine, schema)
    try:
        await _insert_rows(engine, schema, "drained", 20_000)
        async with engine.begin() as conn:
            await conn.execute(text(f'DELETE FROM "{schema}".outbox'))
        async with engine.connect() as conn:  # ANALYZE outside a transaction block
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'ANALYZE "{schema}".outbox'))
        ids = await _insert_rows(engine, schema, "waiting", 1_500)
        relay = OutboxRelay(schema, engine, None, prompt_topics=frozenset({PROMPT}))  # type: ignore[arg-type]
        where, params = relay.round_query()

        async def loops(sql: str, args: dict[str, Any]) -> list[tuple[str, float]]:
            async with engine.connect() as conn, conn.begin() as transaction:
                explained = await conn.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}"), args)
                [[plan]] = explained.all()
                await transaction.rollback()  # EXPLAIN ANALYZE deletes what it plans
            return _outbox_scans(plan[0]["Plan"])

        picked = await loops(select_sql(schema, where), params)
        async with engine.connect() as conn:
            id_list = [r.id for r in await conn.execute(
                text(f'SELECT id FROM "{schema}".outbox WHERE message_id = ANY(:m)'), {"m": ids}
            )]  # fmt: skip
        deleted = await loops(delete_sql(schema), {"ids": id_list})
        assert picked
        assert deleted
        assert all(n == 1 for _, n in picked + deleted), (picked, deleted)
        # The check can fail: the one-statement form loops over the outbox.
        one = await loops(
            f'DELETE FROM "{schema}".outbox WHERE id IN (SELECT id FROM "{schema}".outbox {where})',
            params,
        )
        assert max(n for _, n in one) > 1, one
    finally:
        await _drop_scratch(engine, schema)


async def test_a_lane_hands_over_the_committed_rows_of_its_prompt_topics_only(
    pg_admin_url: str,
) -> None:
    """BatchProcessor gives publish_soon the new rows of publish_at_once topics, after commit."""
    schema = f"relay_lane_{os.getpid()}"
    engine = create_engine(pg_admin_url)
    await _scratch_outbox(engine, schema)
    handed: list[list[str]] = []

    async def handler(uow: UnitOfWork, batch: Sequence[Inbound[Any]]) -> None:
        for item in batch:
            uow.publish(PROMPT, item.key or "", item.message)
            slow = item.message.model_copy(update={"message_id": f"slow-{item.message.message_id}"})
            uow.publish(TOPIC, item.key or "", slow)

    processor = BatchProcessor(
        service=schema,
        engine=engine,
        subscriptions={TOPIC: Subscription(TOPIC, handler, publish_at_once=(PROMPT,))},
        dead_letters=_NoDeadLetters(),
        publish_soon=lambda rows: handed.append([row.message_id for row in rows]),
    )
    try:
        changes = [vendor_changed(f"v{n}") for n in range(3)]
        await processor.process([_record(TOPIC, n, change) for n, change in enumerate(changes)])
        ids = [change.message_id for change in changes]
        assert handed == [ids]
        async with engine.connect() as conn:
            unsent = await conn.scalar(text(f'SELECT count(*) FROM "{schema}".outbox'))
        assert unsent == 6  # all written in the batch's transaction, the relay's to publish
        # A redelivery changes nothing and hands over nothing.
        await processor.process([_record(TOPIC, n, change) for n, change in enumerate(changes)])
        assert handed == [ids]
    finally:
        await processor.close()
        await _drop_scratch(engine, schema)


async def test_a_lane_keeps_its_connection_and_survives_losing_it(pg_admin_url: str) -> None:
    schema = f"relay_conn_{os.getpid()}"
    engine = create_engine(pg_admin_url)
    await _scratch_outbox(engine, schema)
    pids: list[int] = []

    async def handler(uow: UnitOfWork, batch: Sequence[Inbound[Any]]) -> None:
        pids.append(await uow.conn.scalar(text("SELECT pg_backend_pid()")) or 0)
        for item in batch:
            uow.publish(TOPIC, item.key or "", item.message)

    processor = BatchProcessor(
        service=schema,
        engine=engine,
        subscriptions={TOPIC: Subscription(TOPIC, handler)},
        dead_letters=_NoDeadLetters(),
    )
    try:
        changes = [vendor_changed(f"v{n}") for n in range(3)]
        await processor.process([_record(TOPIC, 0, changes[0])])
        await processor.process([_record(TOPIC, 1, changes[1])])
        assert pids[0] == pids[1]  # one connection from batch to batch
        async with engine.connect() as admin:  # the server drops it (a restart, a failover)
            await admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pids[0]})
            await admin.commit()
        await processor.process([_record(TOPIC, 2, changes[2])])
        assert pids[-1] != pids[0]
        async with engine.connect() as conn:
            written = await conn.scalar(text(f'SELECT count(*) FROM "{schema}".outbox'))
        assert written == 3  # the batch after the loss applied, nothing lost
    finally:
        await processor.close()
        await _drop_scratch(engine, schema)


PROMPT = "loyalty.redemption.decided.v1"


class _NoDeadLetters:
    async def send(self, letters: Sequence[DeadLetter]) -> None:
        raise AssertionError(f"dead-lettered: {[letter.reason for letter in letters]}")


def _record(topic: str, offset: int, message: VendorChanged) -> ConsumerRecord[bytes, bytes]:
    value = message.model_dump_json().encode()
    return ConsumerRecord(
        topic, 0, offset, 0, 0, message.vendor_id.encode(), value, None, 0, len(value), ()
    )
