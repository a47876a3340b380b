"""A lane other than the main one fetches with a short wait while records come and a long
one once idle (shared.messaging.pacing), on the session's real broker: every fetch costs the
broker CPU, empty or not, and an idle gateway lane's were most of an idle platform's."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker, KafkaMessage

from shared.infra.embedded import Endpoints
from shared.messaging.pacing import FetchPacer
from shared.runtime import build_broker, lane_pacer
from shared.settings import KafkaSecurity, service_settings
from tests.support.db import eventually

T = TypeVar("T")

BUSY_MS, IDLE_MS, IDLE_AFTER_S = 10, 400, 1.0


@dataclass
class PacedLane:
    broker: KafkaBroker
    subscriber: Any
    pacer: FetchPacer
    topic: str
    batches: list[float] = field(default_factory=list)  # when each batch came
    fetches: list[int] = field(default_factory=list)  # fetch waits sent, in order

    async def fetches_in(self, seconds: float) -> list[int]:
        before = len(self.fetches)
        await asyncio.sleep(seconds)
        return self.fetches[before:]


@pytest.fixture
async def lane(endpoints: Endpoints) -> AsyncIterator[PacedLane]:
    topic = f"test.fetch-pacing.{uuid.uuid4().hex[:8]}.v1"
    admin = AIOKafkaAdminClient(bootstrap_servers=endpoints.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()
    broker = build_broker(endpoints.kafka_bootstrap, KafkaSecurity())
    subscriber = broker.subscriber(
        topic, batch=True, group_id=f"pacing-{topic}", auto_offset_reset="earliest",
        fetch_max_wait_ms=BUSY_MS, batch_timeout_ms=5,
    )  # fmt: skip
    pacer = FetchPacer(subscriber, busy_ms=BUSY_MS, idle_ms=IDLE_MS, busy_batch_timeout_ms=5,
                       idle_batch_timeout_ms=50, idle_after_s=IDLE_AFTER_S)  # fmt: skip
    paced = PacedLane(broker, subscriber, pacer, topic)

    async def on_batch(message: KafkaMessage) -> None:
        pacer.records_arrived()
        paced.batches.append(time.monotonic())

    subscriber(on_batch)
    await broker.start()
    consumer = subscriber.consumer
    assert consumer is not None
    client = consumer._client  # count the fetch requests the consumer sends
    send = client.send

    async def counting(node_id: int, request: Any, *args: Any, **kwargs: Any) -> Any:
        if type(request).__name__.startswith("FetchRequest"):
            paced.fetches.append(request._max_wait_ms)
        return await send(node_id, request, *args, **kwargs)

    client.send = counting
    stop = asyncio.Event()
    pacing = asyncio.create_task(pacer.run(stop))
    try:
        yield paced
    finally:
        stop.set()
        await pacing
        await broker.stop()


async def test_an_idle_lane_fetches_seldom_and_its_first_batch_brings_the_short_wait_back(
    lane: PacedLane, endpoints: Endpoints
) -> None:
    busy = await lane.fetches_in(0.5)
    assert not lane.pacer.idle
    assert len(busy) >= 8, busy  # 10 ms waits: some 20 fetches in half a second
    assert set(busy) == {BUSY_MS}

    idle_now = await eventually(_value(lambda: lane.pacer.idle), bool, timeout=IDLE_AFTER_S + 2)
    assert idle_now, "no record for longer than idle_after_s: the lane is idle"
    await asyncio.sleep(IDLE_MS / 1000)  # the fetch in flight was sent with the short wait
    idle = await lane.fetches_in(1.2)
    assert idle, "an idle lane still fetches"
    assert set(idle) == {IDLE_MS}, idle
    assert len(idle) <= 6, idle  # a fetch every 200-400 ms on Tansu, every 400 ms on Kafka

    producer = AIOKafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap)
    await producer.start()
    try:
        sent = time.monotonic()
        await producer.send_and_wait(lane.topic, b"{}", key=b"k")
    finally:
        await producer.stop()
    came = await eventually(_value(lambda: list(lane.batches)), bool, timeout=5, interval=0.01)
    assert came, "the record reached the idle lane"
    assert came[0] - sent < 2 * IDLE_MS / 1000 + 0.5  # two long fetches at most
    assert not lane.pacer.idle
    await asyncio.sleep(IDLE_MS / 1000)  # the fetch sent with the record's was a long one
    after = await lane.fetches_in(0.3)
    assert after[-1:] == [BUSY_MS], after
    assert after.count(BUSY_MS) >= 4, after  # some 12 in 0.3 s


def _value(read: Callable[[], T]) -> Callable[[], Awaitable[T]]:
    """A probe for `eventually` of a value in memory."""

    async def probe() -> T:
        return read()

    return probe


def test_only_the_other_lanes_are_paced_and_an_operator_can_turn_it_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = service_settings("redemption")
    assert lane_pacer("main", settings, subscriber=None) is None  # its wait is long already
    pacer = lane_pacer("gateway", settings, subscriber=None)
    assert pacer is not None
    assert pacer.busy_ms == settings.lane_fetch_max_wait_ms < pacer.idle_ms
    monkeypatch.setenv("LOYALTY_REDEMPTION_LANE_IDLE_FETCH_MAX_WAIT_MS", "10")
    monkeypatch.setenv("LOYALTY_REDEMPTION_LANE_IDLE_BATCH_TIMEOUT_MS", "5")
    assert lane_pacer("gateway", service_settings("redemption"), subscriber=None) is None


def test_a_pacer_without_a_started_consumer_changes_nothing() -> None:
    pacer = FetchPacer(object(), busy_ms=10, idle_ms=100, busy_batch_timeout_ms=5,
                       idle_batch_timeout_ms=50, idle_after_s=0.0)  # fmt: skip
    pacer.check()
    assert not pacer.idle
