"""The outbox relay: publishes committed events in order, then marks them sent.

Exactly one relay is active per service: it holds a session-level advisory lock on a
dedicated connection, and gives up (and re-acquires) the moment that connection fails.
A crash between publishing and marking republishes the same events with the same message
ids; consumers' inboxes drop the repeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.messaging.consumer import describe
from shared.metrics import OUTBOX_LAG_SECONDS, OUTBOX_PUBLISHED, RELAY_ACTIVE

log = logging.getLogger(__name__)

RETENTION = "1 hour"  # sent rows are kept this long for inspection, then purged


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

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with self.engine.connect() as lock_conn:
                    if await self._acquire(lock_conn, stop):
                        RELAY_ACTIVE.labels(self.service).set(1)
                        await self._relay_while_locked(lock_conn, stop)
            except Exception as exc:
                log.warning("outbox relay interrupted, restarting: %s", describe(exc))
            finally:
                RELAY_ACTIVE.labels(self.service).set(0)
            if not stop.is_set():
                await _sleep_or_stop(stop, 1.0)

    async def _acquire(self, lock_conn: AsyncConnection, stop: asyncio.Event) -> bool:
        key = relay_lock_key(self.service)
        while not stop.is_set():
            got = await lock_conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
            if got.scalar_one():
                await lock_conn.commit()
                return True
            await lock_conn.rollback()
            await _sleep_or_stop(stop, 1.0)
        return False

    async def _relay_while_locked(self, lock_conn: AsyncConnection, stop: asyncio.Event) -> None:
        last_check = time.monotonic()
        last_purge = 0.0
        while not stop.is_set():
            sent = await self.relay_once()
            now = time.monotonic()
            if now - last_check > 1.0:  # still holding the lock?
                await lock_conn.execute(text("SELECT 1"))
                await lock_conn.rollback()
                last_check = now
            if now - last_purge > 60.0:
                await self._purge()
                last_purge = now
            if sent < self.batch_size:
                await _sleep_or_stop(stop, self.idle_s)
        await self.relay_once()  # drain what was committed before the stop

    async def relay_once(self) -> int:
        """Publish the oldest unsent events; returns how many."""
        schema = self.service
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT id, topic, key, message_id, payload, created_at "
                        f'FROM "{schema}".outbox '
                        "WHERE sent_at IS NULL ORDER BY id LIMIT :n"
                    ),
                    {"n": self.batch_size},
                )
            ).all()
            if not rows:
                return 0
            futures = [
                await self.producer.send(
                    row.topic,
                    value=row.payload,
                    key=row.key.encode(),
                    headers=[("message_id", row.message_id.encode())],
                )
                for row in rows
            ]
            await asyncio.gather(*futures)
            await conn.execute(
                text(f'UPDATE "{schema}".outbox SET sent_at = now() WHERE id = ANY(:ids)'),
                {"ids": [row.id for row in rows]},
            )
        now = datetime.now(UTC)
        for row in rows:
            OUTBOX_LAG_SECONDS.labels(self.service).observe((now - row.created_at).total_seconds())
        OUTBOX_PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

    async def _purge(self) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                text(
                    f'DELETE FROM "{self.service}".outbox '
                    f"WHERE sent_at IS NOT NULL AND sent_at < now() - interval '{RETENTION}'"
                )
            )


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
