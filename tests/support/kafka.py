"""Test-side Kafka clients: publish the way the bank does, read what the platform publishes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Self

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition


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
