"""The outbox relay: publishes committed events in order, then deletes them.

Exactly one relay is active per service: it holds a session-level advisory lock on a
dedicated connection, relays on that same connection, and gives up (and re-acquires) the
moment it fails. A crash between publishing and deleting republishes the same events with
the same message ids; consumers' inboxes drop the repeats.

A published row is deleted, not marked sent: marking wrote a new version of the row and new
entries in its indexes (26 us a row, the largest item of PostgreSQL's time under load) and
an hourly purge deleted it anyway. What was published is on the topic; what is still in
the outbox is what has not been published.

The relay's home is a process that runs the service's main lane. A process of other lanes
only (the wallet's gateway: `loyalty run redemption --lanes gateway`) is a stand-in
(`standby_s`): it tries for the lock once every standby_s, and when it gets it (no process of
the main lane is relaying) it relays for standby_s and lets go, so a main lane's process,
trying every second, takes the relay back. Before, whichever process started first kept
it: in half the platform's starts the gateway relayed every balance change of the wallet's
postings on the event loop that decides the vendors' requests.

The consumer in the same process wakes the relay as soon as a batch has committed outbox
rows (shared.messaging.outbox_signal); without a wake-up the relay polls, every idle_s
after publishing and backing off to max_idle_s while there is nothing to publish.

A lane may have some of its events published as soon as they commit (topics in
Subscription.publish_at_once): it hands the committed rows to `publish_soon`, and a task of
the relay's (`run_soon`) sends them straight from memory (no read of the outbox first, on
a producer that does not linger) and has them deleted in the background. The relay's
rounds leave such rows alone for a grace period (PROMPT_GRACE_S) after their transaction
began, so the two never publish the same row both; a row still unsent after it (the
process died before sending, the broker refused it, the deletion failed) is the relay's,
like any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.messaging import outbox_signal
from shared.messaging.consumer import describe
from shared.messaging.uow import Outgoing
from shared.metrics import OUTBOX_LAG_SECONDS, OUTBOX_PUBLISHED, RELAY_ACTIVE

log = logging.getLogger(__name__)

# How long the relay's rounds leave a row of a prompt topic to the lane that wrote it.
PROMPT_GRACE_S = 10.0


def relay_lock_key(service: str) -> int:
    digest = hashlib.sha256(f"loyalty.outbox.{service}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass
class OutboxRelay:
    service: str
    engine: AsyncEngine
    producer: AIOKafkaProducer
    batch_size: int = 1000
    idle_s: float = 0.02
    max_idle_s: float = 0.25
    # The service's publish_at_once topics (of every lane, wherever it runs), their producer
    # (one without linger; the relay's own when not given) and their grace period.
    prompt_topics: frozenset[str] = frozenset()
    prompt_producer: AIOKafkaProducer | None = None
    prompt_grace_s: float = PROMPT_GRACE_S
    # None: relay here (a process of the main lane). Seconds: a stand-in, which tries for the
    # lock once every standby_s and, holding it, relays for standby_s and lets go.
    standby_s: float | None = None
    _soon: list[Outgoing] = field(default_factory=list, init=False)
    _soon_added: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _to_delete: list[str] = field(default_factory=list, init=False)
    _delete_added: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _delete_conn: AsyncConnection | None = field(default=None, init=False)
    _deleting: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if self.standby_s is not None:  # a process of the main lane gets it first
                await _sleep_or_stop(stop, self.standby_s)
                if stop.is_set():
                    break
            try:
                async with self.engine.connect() as lock_conn:
                    try:
                        await self._hold_and_relay(lock_conn, stop)
                    except Exception:
                        # Back in the pool its session would keep the lock from every
                        # other relay: the connection is closed instead, and the lock with it.
                        with contextlib.suppress(Exception):
                            await lock_conn.invalidate()
                        raise
            except Exception as exc:
                log.warning("outbox relay interrupted, restarting: %s", describe(exc))
            finally:
                RELAY_ACTIVE.labels(self.service).set(0)
            if not stop.is_set() and self.standby_s is None:
                await _sleep_or_stop(stop, 1.0)

    async def _hold_and_relay(self, lock_conn: AsyncConnection, stop: asyncio.Event) -> None:
        if not await self._acquire(lock_conn, stop):
            return
        RELAY_ACTIVE.labels(self.service).set(1)
        until = None if self.standby_s is None else time.monotonic() + self.standby_s
        await self._relay_while_locked(lock_conn, stop, until)
        if until is not None:  # a stand-in's turn is over
            await self._release(lock_conn)

    async def _acquire(self, lock_conn: AsyncConnection, stop: asyncio.Event) -> bool:
        """Take the relay's lock, trying every second (a stand-in: once)."""
        key = relay_lock_key(self.service)
        while not stop.is_set():
            got = await lock_conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
            if got.scalar_one():
                await lock_conn.commit()
                return True
            await lock_conn.rollback()
            if self.standby_s is not None:
                return False
            await _sleep_or_stop(stop, 1.0)
        return False

    async def _release(self, lock_conn: AsyncConnection) -> None:
        """Let go of the lock (its connection goes back to the pool, which keeps the lock of
        a session otherwise)."""
        key = relay_lock_key(self.service)
        await lock_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        await lock_conn.commit()

    async def _relay_while_locked(
        self, lock_conn: AsyncConnection, stop: asyncio.Event, until: float | None = None
    ) -> None:
        """Relay until stopped (a stand-in: until the monotonic time `until`)."""
        # Relaying on the lock's own connection: no pool checkout (nor its ping) per poll, and
        # a lost connection (so a lost lock) fails the very next batch.
        wake = outbox_signal.listen(self.service)
        idle = self.idle_s
        try:
            while not stop.is_set() and (until is None or time.monotonic() < until):
                wake.clear()
                sent = await self._relay_on(lock_conn)
                if sent >= self.batch_size:
                    continue
                idle = self.idle_s if sent else min(self.max_idle_s, idle * 2)
                await _sleep_until(stop, wake, idle)
            await self._relay_on(lock_conn)  # drain what was committed before the stop
        finally:
            outbox_signal.forget(self.service, wake)

    async def relay_once(self) -> int:
        """Publish the oldest unsent events; returns how many."""
        async with self.engine.connect() as conn:
            return await self._relay_on(conn)

    async def _relay_on(self, conn: AsyncConnection) -> int:
        async with conn.begin():
            return await self._publish(conn, *self.round_query())

    def round_query(self) -> tuple[str, dict[str, Any]]:
        """What a round selects (the clause after FROM, and its parameters): the oldest rows,
        but rows of prompt topics in their grace period are their lane's (run_soon)."""
        where, params = "", dict[str, Any](n=self.batch_size)
        if self.prompt_topics:
            where = (
                "WHERE NOT (topic = ANY(CAST(:prompt AS text[])) "
                "AND created_at > now() - make_interval(secs => :grace)) "
            )
            params |= {"prompt": sorted(self.prompt_topics), "grace": self.prompt_grace_s}
        return f"{where}ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED", params

    def publish_soon(self, rows: Sequence[Outgoing]) -> None:
        """Have these committed rows published by `run_soon`, ahead of the relay's round."""
        self._soon.extend(rows)
        self._soon_added.set()

    async def run_soon(self, stop: asyncio.Event) -> None:
        """Publish the rows handed to publish_soon, all that came in since the last send;
        `finish_soon` publishes what is handed over after the stop."""
        deleting = asyncio.create_task(self._delete_sent(stop), name="outbox-delete-sent")
        try:
            while not stop.is_set():
                await _sleep_until(stop, self._soon_added, 1.0)
                await self._send_soon()
        finally:
            await deleting
            async with self._deleting:
                await self._close_delete_conn()

    async def finish_soon(self) -> None:
        """Once the lanes have stopped: publish and delete what they handed over last."""
        await self._send_soon()
        await self._delete_once()
        async with self._deleting:
            await self._close_delete_conn()

    async def _send_soon(self) -> None:
        self._soon_added.clear()
        rows, self._soon = self._soon, []
        if not rows:
            return
        producer = self.prompt_producer or self.producer
        sent: list[str] = []
        try:
            futures = [await _send(producer, row) for row in rows]
            delivered = await asyncio.gather(*futures, return_exceptions=True)
            sent = [r.message_id for r, d in zip(rows, delivered, strict=True)
                    if not isinstance(d, BaseException)]  # fmt: skip
        except Exception as exc:  # committed rows: the relay publishes them after the grace
            log.warning("publishing at once failed, left to the relay: %s", describe(exc))
        if len(sent) < len(rows):
            log.warning("%d rows not published at once, left to the relay", len(rows) - len(sent))
        OUTBOX_PUBLISHED.labels(self.service).inc(len(sent))
        if sent:
            self._to_delete += sent
            self._delete_added.set()

    async def _delete_sent(self, stop: asyncio.Event) -> None:
        """Delete the rows published at once, in batches, off the decisions' path."""
        while not stop.is_set():
            await _sleep_until(stop, self._delete_added, 1.0)
            await self._delete_once()

    async def _delete_once(self) -> None:
        async with self._deleting:  # one deletion at a time on the kept connection
            self._delete_added.clear()
            ids, self._to_delete = self._to_delete, []
            if ids:
                await self._delete(ids)

    async def _delete(self, ids: list[str]) -> None:
        try:  # on a connection kept for it: no pool checkout and ping a deletion
            if self._delete_conn is None or self._delete_conn.invalidated:
                self._delete_conn = await self.engine.connect()
            async with self._delete_conn.begin():
                await self._delete_conn.execute(
                    text(
                        f'DELETE FROM "{self.service}".outbox '
                        "WHERE message_id = ANY(CAST(:m AS text[]))"
                    ),
                    {"m": ids},
                )
        except Exception as exc:  # they were published: after the grace, once more at most
            log.warning("deleting %d rows published at once failed: %s", len(ids), describe(exc))
            await self._close_delete_conn()

    async def _close_delete_conn(self) -> None:
        conn, self._delete_conn = self._delete_conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _publish(self, conn: AsyncConnection, where: str, params: dict[str, Any]) -> int:
        """Publish the outbox rows `where` selects (and locks), in id order, then delete them
        in the same transaction: a failed send leaves them for the next round.

        Two statements, each an index scan that runs once, whatever the statistics say: a
        drained outbox is analysed as empty while its dead rows wait for vacuum, and a
        one-statement `DELETE ... WHERE id IN (SELECT ... LIMIT)` was then planned as a
        nested loop that re-ran the subquery over the dead rows for every row deleted
        (PostgreSQL's time grew fivefold in a 100,000-transaction run)."""
        rows = (await conn.execute(text(select_sql(self.service, where)), params)).all()
        if not rows:
            return 0
        futures = [await _send(self.producer, row) for row in rows]
        await asyncio.gather(*futures)
        await conn.execute(text(delete_sql(self.service)), {"ids": [row.id for row in rows]})
        now = datetime.now(UTC)
        for row in rows:
            OUTBOX_LAG_SECONDS.labels(self.service).observe((now - row.created_at).total_seconds())
        OUTBOX_PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)


def select_sql(schema: str, where: str) -> str:
    """The relay's read of a round: the outbox rows `where` selects (and locks)."""
    return f'SELECT id, topic, key, message_id, payload, created_at FROM "{schema}".outbox {where}'


def delete_sql(schema: str) -> str:
    """The relay's deletion of what a round published (:ids)."""
    return f'DELETE FROM "{schema}".outbox WHERE id = ANY(CAST(:ids AS bigint[]))'


async def _send(producer: AIOKafkaProducer, row: Any) -> asyncio.Future[Any]:
    """Hand an outbox row (read back, or an Outgoing still in memory) to the producer: its
    topic, key and payload, its message id in a header; returns the delivery."""
    delivery: asyncio.Future[Any] = await producer.send(
        row.topic,
        value=row.payload,
        key=row.key.encode(),
        headers=[("message_id", row.message_id.encode())],
    )
    return delivery


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _sleep_until(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """Sleep until stopped, woken (rows committed in this process) or `seconds` passed."""
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
