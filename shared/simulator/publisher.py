"""Publish the simulated bank's messages to Kafka at a steady rate."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from aiokafka import AIOKafkaProducer

from shared.messaging.kafka import producer_kwargs
from shared.settings import KafkaSecurity
from shared.simulator.events import next_event
from shared.simulator.people import generate_customers
from shared.simulator.state import SimConfig, SimState, new_run_id

log = logging.getLogger(__name__)

SAST = timezone(timedelta(hours=2), "SAST")  # the bank stamps its messages in local time


def sast_now() -> datetime:
    return datetime.now(SAST)


@dataclass
class PublishStats:
    published: int = 0
    failed: int = 0
    skipped: int = 0  # events not generated because the broker could not keep up
    by_topic: Counter[str] = field(default_factory=Counter)


class Simulator:
    """The seeded simulated world and its counters; `run` publishes it until told to stop."""

    def __init__(
        self,
        *,
        customers: int,
        seed: int,
        run_id: str | None = None,
        config: SimConfig | None = None,
    ) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (a simulation, not security)
        population = generate_customers(self.rng, customers)
        # The run id keeps message and transaction ids unique when the same seed runs again
        # against the same broker and database; customers stay the same across runs.
        run_id = run_id or new_run_id(random.Random())  # noqa: S311
        self.state = SimState(population, run_id, config or SimConfig(), clock=sast_now)
        self.stats = PublishStats()

    @property
    def duplicates(self) -> int:
        return self.state.stats["duplicate"]

    async def run(
        self,
        bootstrap: str,
        rate: float,
        stop: asyncio.Event,
        security: KafkaSecurity | None = None,
    ) -> None:
        """Publish about `rate` events a second until stop is set; flushes before returning."""
        if rate <= 0:
            await stop.wait()
            return
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **producer_kwargs(security))
        await producer.start()
        try:
            await self._pace(producer, rate, stop)
        finally:
            await producer.stop()

    async def _pace(self, producer: AIOKafkaProducer, rate: float, stop: asyncio.Event) -> None:
        started = time.monotonic()
        sent = 0
        burst = max(1, int(rate))  # at most a second's worth at once
        while not stop.is_set():
            due = int((time.monotonic() - started) * rate) - sent
            if due > burst:  # fell behind by more than a second: drop the backlog, keep pace
                self.stats.skipped += due - burst
                sent += due - burst
                due = burst
            if due <= 0:
                wait = (sent + 1) / rate - (time.monotonic() - started)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), max(0.005, wait))
                continue
            await self._send(producer, due)
            sent += due

    async def _send(self, producer: AIOKafkaProducer, count: int) -> None:
        futures: list[asyncio.Future[Any]] = []
        topics: list[str] = []
        for _ in range(count):
            event = next_event(self.rng, self.state)
            value = event.message.model_dump_json().encode()
            futures.append(await producer.send(event.topic, value=value, key=event.key.encode()))
            topics.append(event.topic)
        for topic, result in zip(
            topics, await asyncio.gather(*futures, return_exceptions=True), strict=True
        ):
            if isinstance(result, BaseException):
                if not self.stats.failed:
                    log.warning("simulator: publishing to %s failed: %s", topic, result)
                self.stats.failed += 1
            else:
                self.stats.published += 1
                self.stats.by_topic[topic] += 1
