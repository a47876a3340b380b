"""A lane whose consumer keeps fetching while its batch is applied.

aiokafka sends no fetch to a broker while records fetched from it are still unread, so a
consumer that reads a batch, applies it and only then reads again leaves every record that
arrives meanwhile on the broker until the next read: a request landing during a batch waits
for that batch, a fetch, often the next batch too. For a lane somebody waits on (the vendor
gateways' requests) that was most of the latency. Here a pump task reads without pause into
a buffer, and the lane applies whatever is buffered as its next batch, so a record waits for
at most the batch in hand.

Offsets are committed explicitly, each batch's after it is applied (the processor's
transaction is committed by then): a crash or a rebalance redelivers only what was not
applied, and the inbox drops repeats. On a rebalance the batch in hand finishes and is
committed before the partitions go, and buffered records of revoked partitions are dropped
(their new owner reads them from the committed offset).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord

log = logging.getLogger(__name__)


class Processor(Protocol):
    async def process(self, records: Sequence[Any]) -> None: ...


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    def __init__(self, lane: PrefetchingLane) -> None:
        self.lane = lane

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self.lane.applying:  # the batch in hand is applied and committed first
            self.lane.drop(set(revoked))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.lane.drop(set(assigned))  # read again from their committed offsets


class PrefetchingLane:
    """Consumes `topics` in `group` and hands what has arrived to `processor`, a batch at a
    time; `run` until `stop` is set (the batch in hand finishes, the rest is read again by
    whoever consumes next)."""

    consumer: AIOKafkaConsumer  # while running

    def __init__(
        self,
        processor: Processor,
        topics: Sequence[str],
        *,
        bootstrap: str,
        group: str,
        batch_size: int,
        fetch_max_wait_ms: int,
        max_buffered: int = 5_000,
        **client: Any,
    ) -> None:
        self.processor, self.topics, self.batch_size = processor, tuple(topics), batch_size
        self.max_buffered = max_buffered
        self.applying = asyncio.Lock()
        self.consumer_settings: dict[str, Any] = {
            "bootstrap_servers": bootstrap,
            "group_id": group,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "fetch_max_wait_ms": fetch_max_wait_ms,
            "max_poll_records": batch_size,
            **client,
        }
        self._buffer: deque[ConsumerRecord[bytes, bytes]] = deque()
        self._arrived = asyncio.Event()
        self._drained = asyncio.Event()

    @property
    def buffered(self) -> list[ConsumerRecord[bytes, bytes]]:
        """The records read and not yet handed to the processor."""
        return list(self._buffer)

    def drop(self, partitions: set[TopicPartition]) -> None:
        """Forget buffered records of these partitions."""
        kept = [r for r in self._buffer if TopicPartition(r.topic, r.partition) not in partitions]
        self._buffer = deque(kept)
        self._drained.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop`; after a failure (logged), again with a new consumer."""
        while not stop.is_set():
            try:
                await self._run(stop)
            except Exception:
                log.exception("lane %s failed; consuming again", ",".join(self.topics))
                await _wait(stop, asyncio.Event(), 1.0)

    async def _run(self, stop: asyncio.Event) -> None:
        self._buffer.clear()
        self.consumer = AIOKafkaConsumer(**self.consumer_settings)  # made in the running loop
        self.consumer.subscribe(self.topics, listener=_Rebalance(self))
        await self.consumer.start()
        pump = asyncio.create_task(self._pump(stop), name="lane-prefetch")
        try:
            while not stop.is_set():
                await _wait(stop, self._arrived, 1.0)
                self._arrived.clear()
                while self._buffer and not stop.is_set():
                    await self._apply_next()
                if pump.done():
                    pump.result()  # a pump that failed fails the lane
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
            async with self.applying:
                await self.consumer.stop()

    async def _pump(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            while len(self._buffer) >= self.max_buffered and not stop.is_set():
                self._drained.clear()
                await _wait(stop, self._drained, 1.0)
            fetched = await self.consumer.getmany(timeout_ms=200, max_records=self.batch_size)
            for records in fetched.values():
                self._buffer.extend(records)
            if fetched:
                self._arrived.set()

    async def _apply_next(self) -> None:
        async with self.applying:
            take = min(len(self._buffer), self.batch_size)
            records = [self._buffer.popleft() for _ in range(take)]
            self._drained.set()
            assigned = self.consumer.assignment()
            records = [r for r in records if TopicPartition(r.topic, r.partition) in assigned]
            if not records:
                return
            try:
                await self.processor.process(records)
            except Exception:
                log.exception("lane %s: batch failed; reading it again", ",".join(self.topics))
                self._rewind(records)
                await asyncio.sleep(1.0)
                return
            await self._commit(records)

    async def _commit(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        offsets: dict[TopicPartition, int] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            offsets[tp] = max(offsets.get(tp, 0), r.offset + 1)
        try:
            await self.consumer.commit(offsets)
        except Exception as exc:  # applied already: a redelivery finds them in the inbox
            log.warning("lane %s: offsets not committed: %s", ",".join(self.topics), exc)

    def _rewind(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        first: dict[TopicPartition, int] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            first[tp] = min(first.get(tp, r.offset), r.offset)
        self.drop(set(first))
        for tp, offset in first.items():
            self.consumer.seek(tp, offset)


async def _wait(stop: asyncio.Event, event: asyncio.Event, seconds: float) -> None:
    """Until `event` or `stop` is set, or `seconds` have passed."""
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(event.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
