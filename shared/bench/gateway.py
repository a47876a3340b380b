"""The vendor-gateway agent: redemption requests at a steady rate, and how long decisions take.

The latency of a request is from just before it is handed to the producer until its
decision has been read back from loyalty.redemption.decided.v1 (matched by request_id),
both on this process's monotonic clock. It is also split at the decision's `decided_at`
(the wallet's clock, the same machine's or an NTP-synchronised one): the way in (the
request through the broker, the lane's fetch and wait, the batch's reads and locks) and
the way back (the batch's writes and commit, the decision published and read back).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts.registry import TOPICS
from shared.bench.agent import Control, Result, Spec
from shared.bench.bank import bank_producer, rfc3339
from shared.bench.workload import DECIDED_TOPIC, Workload, redemption_request
from shared.messaging.kafka import client_kwargs
from shared.settings import KafkaSecurity

TICK_S = 0.002
MAX_POINTS = 5


def tail_consumer(bootstrap: str, **overrides: Any) -> AIOKafkaConsumer:
    """A group-less consumer that asks for new records often (a short long-poll)."""
    kwargs: dict[str, Any] = {
        "enable_auto_commit": False,
        "fetch_max_wait_ms": 10,
        "max_partition_fetch_bytes": 4 * 1024 * 1024,
        **client_kwargs(KafkaSecurity()),
        **overrides,
    }
    return AIOKafkaConsumer(bootstrap_servers=bootstrap, **kwargs)


async def assign_at_end(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """Read only what is published from now on: positions resolved before returning."""
    partitions = [TopicPartition(topic, p) for p in range(TOPICS[topic].partitions)]
    consumer.assign(partitions)
    await consumer.seek_to_end(*partitions)
    for tp in partitions:
        await consumer.position(tp)
    return partitions


@dataclass
class Probe:
    workload: Workload
    rate: float
    vendors: list[str]
    rng: random.Random
    sent_at: list[float] = field(default_factory=list)  # monotonic, by request index
    sent_wall: list[float] = field(default_factory=list)  # epoch seconds, by request index
    latencies_ms: dict[int, float] = field(default_factory=dict)
    way_in_ms: list[float] = field(default_factory=list)  # sent until decided_at
    way_back_ms: list[float] = field(default_factory=list)  # decided_at until read back
    outcomes: Counter[str] = field(default_factory=Counter)
    redelivered: int = 0
    send_failed: int = 0
    sending: bool = True
    started_at: float = 0.0
    stopped_at: float = 0.0

    def _failed(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            self.send_failed += 1

    async def send(self, producer: AIOKafkaProducer, stop: asyncio.Event) -> None:
        self.started_at = time.time()
        origin = time.monotonic()
        while not stop.is_set():
            due = int((time.monotonic() - origin) * self.rate)
            stamp = rfc3339(time.time())
            while len(self.sent_at) < due:
                index = len(self.sent_at)
                message = redemption_request(
                    self.workload,
                    index,
                    k=self.rng.randrange(self.workload.redeemers),
                    points=self.rng.randint(1, MAX_POINTS),
                    vendor_id=self.vendors[index % len(self.vendors)],
                    sent_at=stamp,
                )
                self.sent_at.append(time.monotonic())
                self.sent_wall.append(time.time())
                delivery = await producer.send(message.topic, message.value, key=message.key)
                delivery.add_done_callback(self._failed)
            await asyncio.sleep(TICK_S)
        self.sending = False
        self.stopped_at = time.time()

    async def receive(self, consumer: AIOKafkaConsumer, drain_s: float) -> None:
        marker = f'"request_id":"{self.workload.request_prefix}'.encode()
        prefix = len(self.workload.request_prefix)
        deadline: float | None = None
        while True:
            batches = await consumer.getmany(timeout_ms=20, max_records=2000)
            now, wall = time.monotonic(), time.time()
            for records in batches.values():
                for record in records:
                    if record.value is None or marker not in record.value:
                        continue
                    body = orjson.loads(record.value)
                    index = int(body["request_id"][prefix:])
                    if index in self.latencies_ms or index >= len(self.sent_at):
                        self.redelivered += 1
                        continue
                    self.latencies_ms[index] = (now - self.sent_at[index]) * 1000
                    decided = datetime.fromisoformat(body["decided_at"]).timestamp()
                    self.way_in_ms.append((decided - self.sent_wall[index]) * 1000)
                    self.way_back_ms.append((wall - decided) * 1000)
                    reason = body.get("reason_code")
                    self.outcomes[body["outcome"] + (f":{reason}" if reason else "")] += 1
            if self.sending:
                continue
            deadline = deadline or now + drain_s
            if len(self.latencies_ms) >= len(self.sent_at) or now > deadline:
                return


async def probe(spec: Spec, control: Control) -> Result:
    workload = Workload(**spec["workload"])
    state = Probe(
        workload,
        float(spec["rate"]),
        list(spec["vendors"]),
        random.Random(f"gateway:{workload.seed}:{workload.run}"),  # noqa: S311 (not security)
    )
    producer = bank_producer(spec["bootstrap"], linger_ms=0)
    consumer = tail_consumer(spec["bootstrap"])
    await producer.start()
    await consumer.start()
    try:
        await assign_at_end(consumer, DECIDED_TOPIC)
        control.ready()
        await control.go.wait()
        receiving = asyncio.create_task(state.receive(consumer, float(spec.get("drain_s", 30))))
        await state.send(producer, control.stop)
        await producer.flush()
        await receiving
    finally:
        await consumer.stop()
        await producer.stop()
    return {
        "sent": len(state.sent_at),
        "decided": len(state.latencies_ms),
        "unanswered": len(state.sent_at) - len(state.latencies_ms),
        "redelivered": state.redelivered,
        "send_failed": state.send_failed,
        "outcomes": dict(state.outcomes),
        "started_at": state.started_at,
        "stopped_at": state.stopped_at,
        "latencies_ms": [round(v, 3) for v in state.latencies_ms.values()],
        "way_in_ms": [round(v, 3) for v in state.way_in_ms],
        "way_back_ms": [round(v, 3) for v in state.way_back_ms],
    }
