"""The bank agent: publishes the run's transactions as fast as the broker takes them."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from shared.bench.agent import Control, Result, Spec
from shared.bench.workload import BankTraffic, Workload
from shared.messaging.kafka import producer_kwargs
from shared.settings import KafkaSecurity

IN_FLIGHT = 20_000  # delivery futures kept before waiting for the oldest half


def bank_producer(bootstrap: str, **overrides: Any) -> AIOKafkaProducer:
    """A producer like the bank's ESB mirror: keyed, acks=all, no idempotence (Tansu)."""
    kwargs = {**producer_kwargs(KafkaSecurity()), **overrides}
    return AIOKafkaProducer(bootstrap_servers=bootstrap, **kwargs)


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


async def publish(spec: Spec, control: Control) -> Result:
    workload = Workload(**spec["workload"])
    chunk: int = spec.get("chunk", 500)
    traffic = BankTraffic(workload)
    producer = bank_producer(spec["bootstrap"], linger_ms=20, max_batch_size=1024 * 1024)
    await producer.start()
    try:
        control.ready()
        await control.go.wait()
        return await _publish_all(producer, traffic, workload.transactions, chunk, control)
    finally:
        await producer.stop()


async def _publish_all(
    producer: AIOKafkaProducer, traffic: BankTraffic, total: int, chunk: int, control: Control
) -> Result:
    by_topic: Counter[str] = Counter()
    failed = 0
    chunk_starts: list[int] = []
    chunk_times: list[float] = []
    pending: list[asyncio.Future[Any]] = []
    today = date.today()  # noqa: DTZ011 (the bank's local run date)
    started = time.time()
    for start in range(0, total, chunk):
        if control.stop.is_set():
            break
        now = time.time()
        messages = traffic.chunk(start, min(total, start + chunk), rfc3339(now), today)
        chunk_starts.append(start)
        chunk_times.append(now)
        for message in messages:
            pending.append(await producer.send(message.topic, message.value, key=message.key))
            by_topic[message.topic] += 1
        if len(pending) >= IN_FLIGHT:
            half = IN_FLIGHT // 2
            failed += await _settle(pending[:half])
            del pending[:half]
    failed += await _settle(pending)
    finished = time.time()
    published = sum(by_topic.values())
    return {
        "published": published,
        "failed": failed,
        "by_topic": dict(by_topic),
        "today": today.isoformat(),
        "started_at": started,
        "finished_at": finished,
        "rate_per_s": published / (finished - started) if finished > started else None,
        "chunk_starts": chunk_starts,
        "chunk_times": chunk_times,
    }


async def _settle(futures: list[asyncio.Future[Any]]) -> int:
    """Wait for deliveries; returns how many failed (aiokafka has retried them already)."""
    outcomes = await asyncio.gather(*futures, return_exceptions=True)
    return sum(1 for o in outcomes if isinstance(o, BaseException))
