"""Running a miner: its own consumer group, its own inbox namespace, one transaction a batch.

The service runs every registered miner as a background worker, each with its own Kafka
consumer in the group `loyalty.customer_profile.miner.NAME.GENERATION`. `reset` (a rebuild)
empties the miner's tables and its inbox entries and moves it to the next generation in one
transaction; a consumer of the old generation notices it in its next batch's transaction,
applies nothing, and starts again from the beginning of the topics under the new group.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.customer_profile.miners import MINERS
from services.customer_profile.miners.base import Miner
from services.customer_profile.tables import SCHEMA
from shared.messaging.consumer import BatchProcessor, DeadLetter, DeadLetterSink, _Valid
from shared.messaging.inbox import Claim, claim
from shared.messaging.kafka import client_kwargs, producer_kwargs
from shared.messaging.uow import UnitOfWork
from shared.metrics import MESSAGES
from shared.runtime import ProducerDeadLetters, fetch_limits
from shared.settings import KafkaSecurity

log = logging.getLogger(__name__)


class Superseded(Exception):  # noqa: N818 (a signal, not an error)
    """The miner was rebuilt: this consumer's generation is over."""


async def current_generation(conn: AsyncConnection, name: str, *, lock: str = "") -> int:
    """The miner's generation (created as 1 the first time); `lock`: FOR SHARE/FOR UPDATE."""
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".report_miners (miner) VALUES (:m) '
            "ON CONFLICT (miner) DO NOTHING"
        ),
        {"m": name},
    )
    generation: int = (
        await conn.execute(
            text(f'SELECT generation FROM "{SCHEMA}".report_miners WHERE miner = :m {lock}'),
            {"m": name},
        )
    ).scalar_one()
    return generation


async def reset(engine: AsyncEngine, m: Miner) -> int:
    """Empty the miner's tables and inbox entries; returns its new generation."""
    async with engine.begin() as conn:
        await current_generation(conn, m.name, lock="FOR UPDATE")
        for table in m.tables:
            await conn.execute(text(f'DELETE FROM "{SCHEMA}"."{table.name}"'))
        await conn.execute(
            text(f'DELETE FROM "{SCHEMA}".inbox WHERE starts_with(topic, :p)'),
            {"p": m.inbox_prefix},
        )
        generation: int = (
            await conn.execute(
                text(
                    f'UPDATE "{SCHEMA}".report_miners SET generation = generation + 1, '
                    "reset_at = now() WHERE miner = :m RETURNING generation"
                ),
                {"m": m.name},
            )
        ).scalar_one()
    return generation


@dataclass
class MinerProcessor(BatchProcessor):
    """The service's batch processing, with the miner's inbox namespace and generation."""

    miner: Miner | None = None
    generation: int = 1
    superseded: bool = field(default=False, init=False)

    async def _apply(self, valid: list[_Valid]) -> list[DeadLetter]:
        try:
            return await self._apply_in_generation(valid)
        except Superseded:
            self.superseded = True
            return []  # nothing applied; the next generation replays it

    async def _apply_in_generation(self, valid: list[_Valid]) -> list[DeadLetter]:
        if self.miner is None:
            raise TypeError("a MinerProcessor needs its miner")
        prefix = self.miner.inbox_prefix
        async with self.engine.begin() as conn:
            if await current_generation(conn, self.miner.name, lock="FOR SHARE") != (
                self.generation
            ):
                raise Superseded(self.miner.name)
            claims = [
                Claim(prefix + v.record.topic, str(getattr(v.message, "message_id", "")), v.digest)
                for v in valid
            ]
            result = await claim(conn, SCHEMA, claims)
            uow = UnitOfWork(conn, SCHEMA)
            await self._dispatch(uow, [valid[i] for i in result.fresh], duplicates=False)
        for i in result.fresh:
            MESSAGES.labels(self.service, valid[i].record.topic, "processed").inc()
        for i in result.duplicates:
            MESSAGES.labels(self.service, valid[i].record.topic, "duplicate").inc()
        return [
            DeadLetter(valid[i].record, "message_id_conflict: reused with another payload")
            for i in result.conflicts
        ]


@dataclass
class MinerRun:
    """One miner's consumption; `run` until stopped, or `catch_up` to the topics' ends."""

    miner: Miner
    engine: AsyncEngine
    bootstrap: str
    dead_letters: DeadLetterSink
    security: KafkaSecurity = field(default_factory=KafkaSecurity)
    batch_size: int = 500
    idle_check_s: float = 2.0  # how often an idle consumer looks for a rebuild
    # What a fetch may bring back (shared.runtime.fetch_limits); aiokafka's when empty.
    fetch_limits: dict[str, int] = field(default_factory=dict)

    def _processor(self, generation: int) -> MinerProcessor:
        return MinerProcessor(
            service=f"customer_profile.miner.{self.miner.name}",
            engine=self.engine,
            subscriptions={s.topic: s for s in self.miner.subscriptions},
            dead_letters=self.dead_letters,
            miner=self.miner,
            generation=generation,
        )

    async def _generation(self) -> int:
        async with self.engine.begin() as conn:
            return await current_generation(conn, self.miner.name)

    def _consumer(self, generation: int) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            *self.miner.topics,
            bootstrap_servers=self.bootstrap,
            group_id=f"{self.miner.group}.{generation}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.batch_size,
            **self.fetch_limits,
            **client_kwargs(self.security),
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop`, starting again under a new group after every rebuild."""
        while not stop.is_set():
            await self._consume(stop, until_caught_up=False)

    async def catch_up(self) -> int:
        """Consume (in the current generation) until the topics' ends as of now; returns the
        records read."""
        return await self._consume(asyncio.Event(), until_caught_up=True)

    async def _consume(self, stop: asyncio.Event, *, until_caught_up: bool) -> int:
        generation = await self._generation()
        processor = self._processor(generation)
        consumer = self._consumer(generation)
        await consumer.start()
        read, idle_since = 0, time.monotonic()
        try:
            ends = await self._ends(consumer) if until_caught_up else {}
            while not stop.is_set():
                if until_caught_up and await self._reached(consumer, ends):
                    break
                batches = await consumer.getmany(timeout_ms=200, max_records=self.batch_size)
                records = [r for rs in batches.values() for r in rs]
                if not records:
                    if time.monotonic() - idle_since > self.idle_check_s:
                        idle_since = time.monotonic()
                        if await self._generation() != generation:
                            break  # rebuilt while idle: start again under the new group
                    continue
                idle_since = time.monotonic()
                await processor.process(records)
                if processor.superseded:
                    log.info("miner %s rebuilt: starting again", self.miner.name)
                    break
                await consumer.commit()
                read += len(records)
        finally:
            await consumer.stop()
        return read

    async def _ends(self, consumer: AIOKafkaConsumer) -> dict[TopicPartition, int]:
        partitions: list[TopicPartition] = []
        for topic in self.miner.topics:
            found = consumer.partitions_for_topic(topic)
            for _ in range(50):
                if found:
                    break
                await consumer._client.force_metadata_update()  # noqa: SLF001
                await asyncio.sleep(0.1)
                found = consumer.partitions_for_topic(topic)
            partitions += [TopicPartition(topic, p) for p in sorted(found or ())]
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return ends

    async def _reached(self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
        """Whether the group committed every partition up to its end (whichever member of
        the group, this one or a running service's, consumed it)."""
        for tp, end in ends.items():
            if end > 0 and (await consumer.committed(tp) or 0) < end:
                return False
        return True


async def run_miners(context: Any) -> None:
    """The service's worker: every registered miner, each on its own consumer group."""
    from shared.infra.resolve import resolve_endpoints  # noqa: PLC0415
    from shared.settings import PlatformSettings  # noqa: PLC0415

    security = KafkaSecurity()
    bootstrap = resolve_endpoints(PlatformSettings()).kafka_bootstrap
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **producer_kwargs(security))
    await producer.start()
    try:
        runs = [
            MinerRun(
                m,
                context.engine,
                bootstrap,
                ProducerDeadLetters(producer, f"{context.name}.miner.{m.name}"),
                security,
                batch_size=context.settings.batch_size,
                fetch_limits=fetch_limits(context.settings),
            )
            for m in MINERS
        ]
        tasks = [asyncio.create_task(_forever(r, context.stop)) for r in runs]
        await context.stop.wait()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        with contextlib.suppress(Exception):
            await producer.stop()


async def _forever(run: MinerRun, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await run.run(stop)
        except Exception:
            log.exception("miner %s failed; starting it again", run.miner.name)
            await asyncio.sleep(1.0)
