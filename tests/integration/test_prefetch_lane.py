"""The prefetching lane on a real broker: it reads while it applies, commits what it applied,
and reads a failed batch again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.infra.embedded import Endpoints
from shared.messaging.prefetch import PrefetchingLane

pytestmark = pytest.mark.integration

PARTITIONS = 3


async def _topic(bootstrap: str) -> str:
    name = f"test.prefetch.{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, PARTITIONS, 1)])
    finally:
        await admin.close()
    return name


async def _publish(bootstrap: str, topic: str, values: Sequence[str]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        for value in values:
            await producer.send(topic, value.encode(), key=value.encode())
        await producer.flush()
    finally:
        await producer.stop()


class Recorder:
    """Keeps the values of the batches it is given (the broker and the lane are real)."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.fail_next = False

    @property
    def values(self) -> list[str]:
        return [v for batch in self.batches for v in batch]

    async def process(self, records: Sequence[Any]) -> None:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("the batch fails once")
        self.batches.append([r.value.decode() for r in records])


async def _until(check: Any, seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not reached in time")


def _lane(processor: Any, topic: str, group: str, bootstrap: str) -> PrefetchingLane:
    return PrefetchingLane(
        processor, [topic], bootstrap=bootstrap, group=group, batch_size=50, fetch_max_wait_ms=10
    )


async def _committed(bootstrap: str, topic: str, group: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        return sum([await consumer.committed(tp) or 0 for tp in tps])
    finally:
        await consumer.stop()


async def test_every_record_is_applied_once_and_committed(endpoints: Endpoints) -> None:
    bootstrap = endpoints.kafka_bootstrap
    topic, group = await _topic(bootstrap), f"test-prefetch-{uuid.uuid4().hex[:8]}"
    first = [f"a{i}" for i in range(300)]
    await _publish(bootstrap, topic, first)
    recorder, stop = Recorder(), asyncio.Event()
    running = asyncio.create_task(_lane(recorder, topic, group, bootstrap).run(stop))
    await _until(lambda: len(recorder.values) >= len(first))
    stop.set()
    await running
    assert sorted(recorder.values) == sorted(first)
    assert max(len(b) for b in recorder.batches) <= 50
    assert await _committed(bootstrap, topic, group) == len(first)

    # The next consumer of the group starts after what was applied.
    later = [f"b{i}" for i in range(40)]
    await _publish(bootstrap, topic, later)
    again, stop = Recorder(), asyncio.Event()
    running = asyncio.create_task(_lane(again, topic, group, bootstrap).run(stop))
    await _until(lambda: len(again.values) >= len(later))
    await asyncio.sleep(0.5)  # a repeat of the first records would have come by now
    stop.set()
    await running
    assert sorted(again.values) == sorted(later)


async def test_records_arriving_during_a_batch_are_fetched_before_it_ends(
    endpoints: Endpoints,
) -> None:
    bootstrap = endpoints.kafka_bootstrap
    topic, group = await _topic(bootstrap), f"test-prefetch-{uuid.uuid4().hex[:8]}"
    stop = asyncio.Event()
    lane: PrefetchingLane | None = None
    seen_while_applying: list[str] = []

    class Slow(Recorder):
        async def process(self, records: Sequence[Any]) -> None:
            await super().process(records)
            if len(self.batches) == 1:  # during the first batch, two more records arrive
                assert lane is not None
                for value in ("second", "third"):
                    await _publish(bootstrap, topic, [value])
                    wanted = value.encode()
                    await _until(lambda w=wanted: w in {r.value for r in lane.buffered})
                    seen_while_applying.append(value)

    slow = Slow()
    lane = _lane(slow, topic, group, bootstrap)
    running = asyncio.create_task(lane.run(stop))
    await _publish(bootstrap, topic, ["first"])
    await _until(lambda: "third" in slow.values)
    stop.set()
    await running
    assert seen_while_applying == ["second", "third"]
    assert slow.values == ["first", "second", "third"]


async def test_a_failed_batch_is_read_again(endpoints: Endpoints) -> None:
    bootstrap = endpoints.kafka_bootstrap
    topic, group = await _topic(bootstrap), f"test-prefetch-{uuid.uuid4().hex[:8]}"
    values = [f"c{i}" for i in range(20)]
    await _publish(bootstrap, topic, values)
    recorder, stop = Recorder(), asyncio.Event()
    recorder.fail_next = True
    running = asyncio.create_task(_lane(recorder, topic, group, bootstrap).run(stop))
    await _until(lambda: len(set(recorder.values)) >= len(values))
    stop.set()
    await running
    assert sorted(set(recorder.values)) == sorted(values)
    assert await _committed(bootstrap, topic, group) == len(values)
