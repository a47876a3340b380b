"""Running a miner: its own consumer group, its own inbox namespace, one transaction a batch;
or, for a miner that rides the lane, inside the lane's transactions once it has caught up.

The service runs every registered miner as a background worker. A miner that does not ride the
lane consumes on its own Kafka consumer in the group `loyalty.customer_profile.miner.NAME.
GENERATION`. `reset` (a rebuild) empties the miner's tables and its inbox entries and moves it
to the next generation in one transaction; a consumer of the old generation notices it in its
next batch's transaction, applies nothing, and starts again from the beginning of the topics
under the new group.

A miner that rides the lane (Miner.rides_lane) is applied by the lane's handlers of its topics
(`with_miners`), in the lane's transaction, while its `rebuilding` flag is off. A new miner and
a rebuilt one are `rebuilding`: the lane leaves them alone and the worker reads their topics on
the miner's own group, as above, until it has caught up (`catch_up`); then `hand_over` locks the
miner's row (which holds the lane's next batch of those topics), applies what the lane has
committed beyond the miner's offsets, read again from the broker and kept where the lane's inbox
holds it, and turns `rebuilding` off. From the lane's next batch on, the lane applies it. Each
message is applied once: before the hand-over by the miner's group (claimed in its namespace),
after it by the lane (claimed by the lane), and in the order of its partition.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.customer_profile.miners import MINERS
from services.customer_profile.miners.base import Miner
from services.customer_profile.tables import SCHEMA
from shared.messaging.consumer import BatchProcessor, DeadLetter, DeadLetterSink, Record, _Valid
from shared.messaging.inbox import Claim, ClaimResult, claim
from shared.messaging.kafka import client_kwargs, producer_kwargs
from shared.messaging.uow import Handler, Inbound, Subscription, UnitOfWork
from shared.runtime import ProducerDeadLetters, consumer_group, fetch_limits
from shared.settings import KafkaSecurity

log = logging.getLogger(__name__)


class Superseded(Exception):  # noqa: N818 (a signal, not an error)
    """The miner was rebuilt: this consumer's generation is over."""


class _Ahead(Exception):  # noqa: N818 (a signal, not an error)
    """A hand-over found the miner ahead of the lane (args: the partitions): roll it back."""


class _Stopping(Exception):  # noqa: N818 (a signal, not an error)
    """The service is stopping during a hand-over: roll it back, release the lane."""


async def current_state(conn: AsyncConnection, name: str, *, lock: str = "") -> tuple[int, bool]:
    """The miner's generation and whether it is rebuilding (created as 1, rebuilding, the first
    time); `lock`: FOR SHARE/FOR UPDATE."""
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".report_miners (miner) VALUES (:m) '
            "ON CONFLICT (miner) DO NOTHING"
        ),
        {"m": name},
    )
    row = (
        await conn.execute(
            text(
                f'SELECT generation, rebuilding FROM "{SCHEMA}".report_miners '
                f"WHERE miner = :m {lock}"
            ),
            {"m": name},
        )
    ).one()
    return int(row.generation), bool(row.rebuilding)


async def current_generation(conn: AsyncConnection, name: str, *, lock: str = "") -> int:
    """The miner's generation (created as 1 the first time); `lock`: FOR SHARE/FOR UPDATE."""
    generation, _ = await current_state(conn, name, lock=lock)
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
                    "reset_at = now(), rebuilding = true WHERE miner = :m RETURNING generation"
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
            return []  # nothing applied; the next generation (or the lane) applies it

    def _mined(self) -> Miner:
        if self.miner is None:
            raise TypeError("a MinerProcessor needs its miner")
        return self.miner

    async def _apply_in_generation(self, valid: list[_Valid]) -> list[DeadLetter]:
        m = self._mined()
        async with self.engine.begin() as conn:
            generation, rebuilding = await current_state(conn, m.name, lock="FOR SHARE")
            if generation != self.generation or (m.rides_lane and not rebuilding):
                raise Superseded(m.name)  # rebuilt, or handed over to the lane
            result = await self.apply_on(conn, valid)
        return [
            DeadLetter(valid[i].record, "message_id_conflict: reused with another payload")
            for i in result.conflicts
        ]

    async def apply_on(self, conn: AsyncConnection, valid: list[_Valid]) -> ClaimResult:
        """Claim the messages in the miner's namespace and apply the fresh ones, in `conn`'s
        transaction."""
        prefix = self._mined().inbox_prefix
        claims = [
            Claim(prefix + v.record.topic, str(getattr(v.message, "message_id", "")), v.digest)
            for v in valid
        ]
        result = await claim(conn, SCHEMA, claims)
        await self._dispatch(
            UnitOfWork(conn, SCHEMA), [valid[i] for i in result.fresh], duplicates=False
        )
        self._count(valid, result)
        return result

    def decode(self, records: Sequence[Record]) -> list[_Valid]:
        """The valid records, without in-batch repeats (what the lane dead-lettered, it did
        not apply)."""
        valid, _ = self._decode(records)
        kept, _ = self._dedupe_in_batch(valid)
        return kept


@dataclass(frozen=True)
class HandOver:
    """How a hand-over went: done, or where the miner's group stands against the lane's."""

    done: bool
    applied: int = 0  # messages the lane had committed, applied by the hand-over
    ahead: tuple[TopicPartition, ...] = ()  # the miner's group is ahead of the lane there
    behind: int = 0  # messages the miner's group is behind the lane, all partitions
    mine: dict[TopicPartition, int] = field(default_factory=dict)  # next offsets
    lane: dict[TopicPartition, int] = field(default_factory=dict)


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
    hand_over_every_s: float = 1.0  # a rebuilding miner riding the lane tries this often
    hand_over_timeout_s: float = 60.0  # the most a hand-over holds the lane's batches
    hand_over_gap: int = 2000  # the most messages a hand-over reads while holding them
    # The miner's groups are `STEM.GENERATION`; the stem is Miner.group unless given (a
    # service consuming under a group of its own, e.g. a replay's, mines under its own too).
    group_stem: str = ""

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
            group_id=f"{self.group_stem or self.miner.group}.{generation}",
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

    async def rebuild(self, lane_group: str, stop: asyncio.Event) -> bool:
        """A rebuilding miner that rides the lane: consume on its own group until it hands
        over to the lane of `lane_group` (True), or it is rebuilt again, or `stop` (False).
        A hand-over is tried, at most every `hand_over_every_s`, while the miner is not a
        full batch behind; the partitions on which the miner is ahead of the lane (a lane
        behind a backlog) are paused until the lane has passed them."""
        last_try = 0.0
        handed_over = False

        async def try_hand_over(consumer: AIOKafkaConsumer, backlog: bool) -> bool:
            nonlocal last_try, handed_over
            if backlog or time.monotonic() - last_try < self.hand_over_every_s:
                return False
            last_try = time.monotonic()
            result = await self.hand_over(lane_group, max_gap=self.hand_over_gap, stop=stop)
            consumer.resume(*consumer.paused())
            consumer.pause(*result.ahead)
            handed_over = result.done
            return handed_over

        await self._consume(stop, until_caught_up=False, after_poll=try_hand_over)
        return handed_over

    async def _consume(
        self,
        stop: asyncio.Event,
        *,
        until_caught_up: bool,
        after_poll: Callable[[AIOKafkaConsumer, bool], Awaitable[bool]] | None = None,
    ) -> int:
        """Consume on the miner's group; `after_poll(consumer, backlog)` after every poll
        (backlog: it brought a full batch) ends the consumption when it returns True."""
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
                if records:
                    idle_since = time.monotonic()
                    await processor.process(records)
                    if processor.superseded:
                        log.info("miner %s rebuilt or handed over: stopping", self.miner.name)
                        break
                    await consumer.commit()
                    read += len(records)
                elif time.monotonic() - idle_since > self.idle_check_s:
                    idle_since = time.monotonic()
                    if await self._generation() != generation:
                        break  # rebuilt while idle: start again under the new group
                backlog = len(records) >= self.batch_size
                if after_poll is not None and await after_poll(consumer, backlog):
                    break
        finally:
            await consumer.stop()
        return read

    async def _ends(self, consumer: AIOKafkaConsumer) -> dict[TopicPartition, int]:
        ends: dict[TopicPartition, int] = await consumer.end_offsets(
            await self._partitions(consumer)
        )
        return ends

    async def _reached(self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
        """Whether the group committed every partition up to its end (whichever member of
        the group, this one or a running service's, consumed it)."""
        for tp, end in ends.items():
            if end > 0 and (await consumer.committed(tp) or 0) < end:
                return False
        return True

    async def state(self) -> tuple[int, bool]:
        """The miner's generation and whether it is rebuilding."""
        async with self.engine.begin() as conn:
            return await current_state(conn, self.miner.name)

    async def hand_over(
        self, lane_group: str, *, max_gap: int | None = None, stop: asyncio.Event | None = None
    ) -> HandOver:
        """Hand a caught-up, rebuilding miner over to the lane of the group `lane_group`.
        Not done while the miner's group is ahead of the lane on some partition (the lane has
        not yet passed what the miner applied: try again later), while it is more than
        `max_gap` messages behind the lane (the hand-over would hold the lane while it reads
        them), or after another rebuild.

        In one transaction holding the miner's row FOR UPDATE (the lane's batches of its
        topics wait for it): every partition is read again from the miner's committed offset;
        a message the lane has committed (in the lane's inbox) is applied here, one it
        dead-lettered is skipped, and a partition ends at its first valid message beyond the
        lane's committed offset that the lane has not committed, or at its end. Rolled back
        (not done) when `stop` is set meanwhile, so as not to hold a stopping lane."""
        m = self.miner
        if not m.rides_lane:
            raise ValueError(f"miner {m.name} does not ride the lane")
        generation, rebuilding = await self.state()
        if not rebuilding:
            return HandOver(done=True)
        reader = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            **self.fetch_limits,
            **client_kwargs(self.security),
        )
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap, **client_kwargs(self.security)
        )
        await reader.start()
        await admin.start()
        try:
            partitions = await self._partitions(reader)
            starts: dict[TopicPartition, int] = await reader.beginning_offsets(partitions)

            async def gap() -> HandOver:
                mine = await _committed(
                    admin, f"{self.group_stem or m.group}.{generation}", partitions, starts
                )
                lane = await _committed(admin, lane_group, partitions, starts)
                return HandOver(
                    done=False,
                    ahead=tuple(tp for tp in partitions if mine[tp] > lane[tp]),
                    behind=sum(max(0, lane[tp] - mine[tp]) for tp in partitions),
                    mine=mine,
                    lane=lane,
                )

            before = await gap()
            if before.ahead or (max_gap is not None and before.behind > max_gap):
                return before
            try:
                return await self._hand_over_holding(generation, reader, gap, stop)
            except _Ahead as ahead:
                return HandOver(done=False, ahead=ahead.args)
            except _Stopping:
                return HandOver(done=False)
        finally:
            await reader.stop()
            await admin.close()

    async def _hand_over_holding(
        self,
        generation: int,
        reader: AIOKafkaConsumer,
        gap: Callable[[], Awaitable[HandOver]],
        stop: asyncio.Event | None,
    ) -> HandOver:
        """The hand-over's transaction, holding the miner's row FOR UPDATE."""
        m = self.miner
        async with self.engine.begin() as conn:
            now, rebuilding = await current_state(conn, m.name, lock="FOR UPDATE")
            if now != generation or not rebuilding:
                return HandOver(done=not rebuilding and now == generation)
            held = await gap()  # the lane's batches of these topics wait from here on
            if held.ahead:
                return held
            processor = self._processor(generation)
            applied = await self._apply_lane_committed(
                conn, reader, processor, held.mine, held.lane, stop
            )
            await conn.execute(
                text(f'UPDATE "{SCHEMA}".report_miners SET rebuilding = false WHERE miner = :m'),
                {"m": m.name},
            )
        log.info("miner %s rides the lane (%d messages applied at the hand-over)", m.name, applied)
        return HandOver(done=True, applied=applied)

    async def _apply_lane_committed(
        self,
        conn: AsyncConnection,
        reader: AIOKafkaConsumer,
        processor: MinerProcessor,
        mine: dict[TopicPartition, int],
        lane: dict[TopicPartition, int],
        stop: asyncio.Event | None,
    ) -> int:
        reader.assign(list(mine))
        for tp, offset in mine.items():
            reader.seek(tp, offset)
        open_ = set(mine)
        applied = 0
        deadline = time.monotonic() + self.hand_over_timeout_s
        while open_:
            if stop is not None and stop.is_set():
                raise _Stopping
            if time.monotonic() > deadline:
                raise TimeoutError(f"miner {self.miner.name}: the hand-over's reads timed out")
            batches = await reader.getmany(*open_, timeout_ms=200, max_records=self.batch_size)
            records = [r for tp, rs in batches.items() if tp in open_ for r in rs]
            valid = processor.decode(records)
            keep, closing = _applied_by_lane(valid, await _in_inbox(conn, "", valid), open_, lane)
            if await _in_inbox(conn, self.miner.inbox_prefix, closing):
                # Another consumer of the miner's group applied it but has not committed its
                # offset yet: the miner is ahead of the lane there after all.
                raise _Ahead(*{TopicPartition(v.record.topic, v.record.partition) for v in closing})
            reader.pause(*(set(mine) - open_))
            if keep:
                applied += len((await processor.apply_on(conn, keep)).fresh)
            for tp in list(open_):  # read to the high watermark of a fetch: its end
                end = reader.highwater(tp)
                if end is not None and await reader.position(tp) >= end:
                    open_.discard(tp)
        return applied

    async def _partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
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
        return partitions


async def _committed(
    admin: AIOKafkaAdminClient,
    group: str,
    partitions: list[TopicPartition],
    starts: dict[TopicPartition, int],
) -> dict[TopicPartition, int]:
    """The group's next offset on every partition (the partition's start where none)."""
    found = await admin.list_consumer_group_offsets(group, partitions=partitions)
    offsets: dict[TopicPartition, int] = {}
    for tp in partitions:
        meta = found.get(tp)
        offsets[tp] = meta.offset if meta is not None and meta.offset >= 0 else starts[tp]
    return offsets


def _applied_by_lane(
    valid: list[_Valid],
    committed: set[tuple[str, str]],
    open_: set[TopicPartition],
    lane: dict[TopicPartition, int],
) -> tuple[list[_Valid], list[_Valid]]:
    """Of these records of the open partitions, in partition order, those the lane applied
    (committed: in its inbox; one it dead-lettered is skipped), and the records at which
    partitions close. A partition is closed (taken out of `open_`) at its first record
    beyond the lane's committed offset that the lane has not committed: the lane applies it
    and the rest."""
    keep: list[_Valid] = []
    closing: list[_Valid] = []
    for v in valid:
        tp = TopicPartition(v.record.topic, v.record.partition)
        if tp not in open_:
            continue
        if (v.record.topic, _message_id(v)) in committed:
            keep.append(v)
        elif v.record.offset >= lane[tp]:
            open_.discard(tp)
            closing.append(v)
    return keep, closing


def _message_id(v: _Valid) -> str:
    return str(getattr(v.message, "message_id", ""))


async def _in_inbox(
    conn: AsyncConnection, prefix: str, valid: list[_Valid]
) -> set[tuple[str, str]]:
    """Which of these messages are claimed in the inbox under `prefix` + topic (the lane's:
    no prefix), as (topic, message id)."""
    if not valid:
        return set()
    rows = await conn.execute(
        text(
            # A probe a key (LATERAL ... LIMIT 1): the inbox is the service's largest table.
            "SELECT k.topic, k.message_id "
            "FROM unnest(CAST(:t AS text[]), CAST(:m AS text[])) AS k(topic, message_id) "
            f'CROSS JOIN LATERAL (SELECT 1 FROM "{SCHEMA}".inbox i '
            "WHERE i.topic = :p || k.topic AND i.message_id = k.message_id LIMIT 1) AS found"
        ),
        {
            "p": prefix,
            "t": [v.record.topic for v in valid],
            "m": [_message_id(v) for v in valid],
        },
    )
    return {(r.topic, r.message_id) for r in rows}


# --- the lane's side ------------------------------------------------------------------------


def with_miners(
    subscriptions: Sequence[Subscription], miners: Sequence[Miner]
) -> tuple[Subscription, ...]:
    """The lane's subscriptions, each handler followed by the handlers of the miners riding
    the lane on its topic, while they are not rebuilding."""
    topics = {s.topic for s in subscriptions}
    for m in miners:
        if m.rides_lane and not set(m.topics) <= topics:
            raise ValueError(f"miner {m.name} rides the lane but the lane lacks some of its topics")
    wrapped: list[Subscription] = []
    for s in subscriptions:
        riders = [
            (m.name, ms.handler)
            for m in miners
            if m.rides_lane
            for ms in m.subscriptions
            if ms.topic == s.topic
        ]
        wrapped.append(replace(s, handler=_riding(s.handler, riders)) if riders else s)
    return tuple(wrapped)


def _riding(own: Handler, riders: list[tuple[str, Handler]]) -> Handler:
    names = [name for name, _ in riders]

    async def handle(uow: UnitOfWork, batch: Sequence[Inbound[Any]]) -> None:
        await own(uow, batch)
        for name in await _riding_now(uow.conn, names):
            for rider, handler in riders:
                if rider == name:
                    await handler(uow, batch)

    handle.__name__ = getattr(own, "__name__", "handle")
    return handle


async def _riding_now(conn: AsyncConnection, names: list[str]) -> list[str]:
    """The miners riding the lane now. FOR SHARE: a reset or a hand-over (FOR UPDATE) waits
    for this batch, and this batch for them."""
    rows = await conn.execute(
        text(
            f'SELECT miner, rebuilding FROM "{SCHEMA}".report_miners '
            "WHERE miner = ANY(CAST(:n AS text[])) ORDER BY miner FOR SHARE"
        ),
        {"n": names},
    )
    return [r.miner for r in rows if not r.rebuilding]


async def run_miners(context: Any) -> None:
    """The service's worker: every registered miner; one that rides the lane on its own group
    only until it has caught up with the lane."""
    from shared.infra.resolve import resolve_endpoints  # noqa: PLC0415
    from shared.settings import PlatformSettings  # noqa: PLC0415

    security = KafkaSecurity()
    bootstrap = resolve_endpoints(PlatformSettings()).kafka_bootstrap
    lane_group = context.settings.consumer_group or consumer_group(context.name)
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
                group_stem=f"{lane_group}.miner.{m.name}",  # Miner.group under the default
            )
            for m in MINERS
        ]
        tasks = [
            asyncio.create_task(
                _catch_up_and_hand_over(r, lane_group, context.stop)
                if r.miner.rides_lane
                else _forever(r, context.stop)
            )
            for r in runs
        ]
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


async def _catch_up_and_hand_over(run: MinerRun, lane_group: str, stop: asyncio.Event) -> None:
    """While the miner is rebuilding: catch up on its own group, then hand it over."""
    while not stop.is_set():
        pause = run.idle_check_s
        try:
            _, rebuilding = await run.state()
            if rebuilding and not await run.rebuild(lane_group, stop):
                pause = 0.0  # rebuilt again (or stopping): at once
        except Exception:
            log.exception("miner %s failed; starting it again", run.miner.name)
            pause = 1.0
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)
