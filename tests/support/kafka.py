"""Test-side Kafka clients: publish the way the bank does, read what the platform publishes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any, Self

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from tests.support.db import fetch


class Bank:
    """Publishes JSON records keyed by customer number, like the bank's ESB mirror."""

    def __init__(self, bootstrap: str) -> None:
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, enable_idempotence=False, acks="all"
        )

    async def __aenter__(self) -> Self:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()

    async def publish(self, topic: str, payload: dict[str, Any] | bytes, key: str) -> None:
        value = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        await self.producer.send_and_wait(topic, value=value, key=key.encode())


async def read_topic(
    bootstrap: str,
    topic: str,
    predicate: Callable[[ConsumerRecord[bytes, bytes]], bool],
    *,
    expect: int = 1,
    timeout: float = 60.0,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read the topic from the beginning until `expect` records match (or time out)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        deadline = time.monotonic() + 10
        while not partitions and time.monotonic() < deadline:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
            await asyncio.sleep(0.1)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        found: list[ConsumerRecord[bytes, bytes]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200, max_records=1000)
            for records in batches.values():
                found.extend(r for r in records if predicate(r))
            if len(found) >= expect:
                return found
        return found
    finally:
        await consumer.stop()


def json_field(name: str, value: Any) -> Callable[[ConsumerRecord[bytes, bytes]], bool]:
    def match(record: ConsumerRecord[bytes, bytes]) -> bool:
        try:
            return bool(orjson.loads(record.value or b"null").get(name) == value)
        except (orjson.JSONDecodeError, AttributeError):
            return False

    return match


def header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return value.decode()
    return None


async def published(
    bootstrap: str,
    database_url: str,
    service: str,
    topic: str,
    *,
    keys: Sequence[str] | None = None,
    id_prefix: str = "",
    expect: int = 0,
    timeout: float = 30.0,
) -> list[bytes]:
    """The payloads a service has put out on a topic (for `keys`, or of message ids starting
    with `id_prefix`): published (the topic up to its end) or still waiting in its outbox,
    each message once; the topic's first (in its order for a key), then the outbox's in id
    order. Read again until at least `expect` are found (or `timeout` passes).

    The outbox is read first: a relay deletes a row in the transaction that sends it, so a
    row gone from the outbox by then has been acknowledged by the broker. Once in three runs
    of a module a reader right after it missed such a record that a second read found (on
    Tansu; the cause not pinned down), hence `expect`.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = await _put_out(bootstrap, database_url, service, topic, keys, id_prefix)
        if len(found) >= expect or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def _put_out(
    bootstrap: str,
    database_url: str,
    service: str,
    topic: str,
    keys: Sequence[str] | None,
    id_prefix: str,
) -> list[bytes]:
    rows = await fetch(
        database_url,
        f'SELECT message_id, payload FROM "{service}".outbox WHERE topic = $1 '
        "AND ($2::text[] IS NULL OR key = ANY($2::text[])) AND starts_with(message_id, $3) "
        "ORDER BY id",
        topic,
        None if keys is None else list(keys),
        id_prefix,
    )
    wanted = None if keys is None else {key.encode() for key in keys}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50
    )
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        on_topic: dict[str, bytes] = {}
        if tps:
            consumer.assign(tps)
            # Tansu lists a partition's end as its last record batch's base offset plus one
            # (or less): every partition is fetched at least once, and the high watermark of
            # its first fetch is its true end (shared.bench.probes.EndOffsets).
            ends: dict[TopicPartition, int] = await consumer.end_offsets(tps)
            corrected: set[TopicPartition] = set()
            await consumer.seek_to_beginning(*tps)
            deadline = time.monotonic() + 60
            while len(corrected) < len(tps) or [
                tp for tp in tps if await consumer.position(tp) < ends[tp]
            ]:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{topic} not read to its end in 60 s")
                batches = await consumer.getmany(timeout_ms=200, max_records=1000)
                for tp in set(tps) - corrected:
                    if (highwater := consumer.highwater(tp)) is not None:
                        ends[tp] = max(ends[tp], highwater)
                        corrected.add(tp)
                for records in batches.values():
                    for r in records:
                        message_id = header(r, "message_id") or ""
                        if (
                            (wanted is None or r.key in wanted)
                            and r.value is not None
                            and (message_id.startswith(id_prefix))
                        ):
                            on_topic.setdefault(message_id, r.value)
    finally:
        await consumer.stop()
    waiting = [bytes(r["payload"]) for r in rows if r["message_id"] not in on_topic]
    return [*on_topic.values(), *waiting]
