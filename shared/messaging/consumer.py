"""Batch consumption: validate, apply in one DB transaction with the inbox, dead-letter the rest.

Order of effects for every polled batch, so that nothing is lost and nothing applied twice:
1. decode and validate each record against its topic's contract (bad ones -> dead letters);
2. one DB transaction: claim message ids in the inbox, run the handlers, write the outbox;
3. publish the dead letters (original bytes, reason in headers);
4. only then commit the offsets (the caller acks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.registry import TOPICS
from shared.messaging.inbox import Claim, ClaimResult, claim, payload_hash
from shared.messaging.outbox_signal import outbox_committed
from shared.messaging.uow import Inbound, Outgoing, Subscription, UnitOfWork
from shared.metrics import BATCH_SECONDS, MESSAGES, RETRIES

log = logging.getLogger(__name__)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)


class Record(Protocol):
    """What we need of a consumed Kafka record (aiokafka's ConsumerRecord)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    record: Record
    reason: str


class DeadLetterSink(Protocol):
    async def send(self, letters: Sequence[DeadLetter]) -> None: ...


def is_transient(exc: BaseException) -> bool:
    """Infrastructure failures: retry without limit, never dead-letter the message."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TRANSIENT_ERRORS):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


# A NUL character passes JSON and pydantic but no PostgreSQL text column can hold it: such a
# message would fail every retry, so it is refused at the door (an escaped `\\u0000` is text).
_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
NUL_REASON = "schema_violation: a text field holds a NUL character (\\u0000)"


def _has_nul(canonical: bytes) -> bool:
    """Whether the JSON holds an escaped NUL. The substring test first: the regex alone (it
    tries every position) cost 80 µs a kilobyte, a quarter of a busy consumer's time."""
    return b"\\u0000" in canonical and _NUL.search(canonical) is not None


def validation_reason(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    if any(e["type"] in {"json_invalid", "json_type"} for e in errors):
        return f"invalid_json: {errors[0]['msg']}"
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in errors[:5]]
    return "schema_violation: " + "; ".join(parts)


@dataclass(frozen=True, slots=True)
class _Valid:
    record: Record
    message: BaseModel
    digest: bytes

    def inbound(self) -> Inbound[Any]:
        key = self.record.key.decode("utf-8", "replace") if self.record.key is not None else None
        return Inbound(
            self.record.topic, self.record.partition, self.record.offset, key, self.message
        )


@dataclass
class BatchProcessor:
    """Applies consumed batches for one service."""

    service: str
    engine: AsyncEngine
    subscriptions: Mapping[str, Subscription]
    dead_letters: DeadLetterSink
    max_retries: int = 3
    backoff_cap_s: float = 5.0
    after_commit: Callable[[], None] | None = None  # fault injection in tests
    # Takes committed outbox rows to publish without waiting for the relay's round
    # (OutboxRelay.publish_soon): the events on the publish_at_once topics.
    publish_soon: Callable[[Sequence[Outgoing]], None] | None = None
    models: dict[str, type[BaseModel]] = field(init=False)
    prompt_topics: frozenset[str] = field(init=False)
    _conn: AsyncConnection | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.models = {t: TOPICS[t].latest for t in self.subscriptions}
        self.prompt_topics = frozenset(
            topic for s in self.subscriptions.values() for topic in s.publish_at_once
        )

    async def process(self, records: Sequence[Record]) -> None:
        """Apply a batch; returns only when every record is applied or dead-lettered."""
        started = time.perf_counter()
        valid, dead = self._decode(records)
        valid, dead_in_batch = self._dedupe_in_batch(valid)
        dead.extend(dead_in_batch)
        dead.extend(await self._apply_with_retries(valid))
        if dead:
            await self._send_dead_letters(dead)
        BATCH_SECONDS.labels(self.service).observe(time.perf_counter() - started)

    def _decode(self, records: Sequence[Record]) -> tuple[list[_Valid], list[DeadLetter]]:
        valid: list[_Valid] = []
        dead: list[DeadLetter] = []
        for record in records:
            model = self.models.get(record.topic)
            if model is None:
                dead.append(DeadLetter(record, f"no_handler: {self.service} does not consume it"))
                continue
            if record.value is None:
                dead.append(DeadLetter(record, "invalid_json: empty record value"))
                continue
            try:
                message = model.model_validate_json(record.value)
            except ValidationError as exc:
                dead.append(DeadLetter(record, validation_reason(exc)))
                continue
            # sent_at may differ between redeliveries of the same message; the rest may not.
            canonical = message.model_dump_json(exclude={"sent_at"}).encode()
            if _has_nul(canonical):
                dead.append(DeadLetter(record, NUL_REASON))
                continue
            valid.append(_Valid(record, message, payload_hash(canonical)))
        return valid, dead

    def _dedupe_in_batch(self, valid: list[_Valid]) -> tuple[list[_Valid], list[DeadLetter]]:
        seen: dict[tuple[str, str], bytes] = {}
        kept: list[_Valid] = []
        dead: list[DeadLetter] = []
        for item in valid:
            key = (item.record.topic, str(getattr(item.message, "message_id", "")))
            if key not in seen:
                seen[key] = item.digest
                kept.append(item)
            elif seen[key] != item.digest:
                dead.append(
                    DeadLetter(item.record, "message_id_conflict: reused with another payload")
                )
            else:
                MESSAGES.labels(self.service, item.record.topic, "duplicate").inc()
        return kept, dead

    async def _apply_with_retries(self, valid: list[_Valid]) -> list[DeadLetter]:
        if not valid:
            return []
        attempt = 0
        last_error = ""
        while True:
            try:
                return await self._apply(valid)
            except Exception as exc:
                attempt += 1
                last_error = describe(exc)
                if is_transient(exc):
                    RETRIES.labels(self.service, "transient").inc()
                    log.warning("transient failure, retrying batch: %s", describe(exc))
                    await asyncio.sleep(min(self.backoff_cap_s, 0.1 * 2**attempt))
                    continue
                RETRIES.labels(self.service, "processing").inc()
                log.warning("batch failed (attempt %d): %s", attempt, describe(exc))
                if attempt > self.max_retries:
                    break
                await asyncio.sleep(min(self.backoff_cap_s, 0.05 * 2**attempt))
        if len(valid) == 1:
            return [DeadLetter(valid[0].record, f"processing_failed: {last_error}")]
        # Isolate the poison message(s): halve the batch until the failures are single messages.
        middle = len(valid) // 2
        return [
            *await self._apply_with_retries(valid[:middle]),
            *await self._apply_with_retries(valid[middle:]),
        ]

    async def _connection(self) -> AsyncConnection:
        """The lane's own connection, kept from batch to batch: no pool checkout and no ping
        (three round trips) a batch. A batch that fails drops it; the retry opens another."""
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = await self.engine.connect()
        return self._conn

    async def close(self) -> None:
        """Give the lane's connection back (at shutdown)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _apply(self, valid: list[_Valid]) -> list[DeadLetter]:
        try:
            return await self._apply_on(await self._connection(), valid)
        except BaseException:
            await self.close()
            raise

    async def _apply_on(self, conn: AsyncConnection, valid: list[_Valid]) -> list[DeadLetter]:
        schema = self.service
        async with conn.begin():
            claims = [
                Claim(v.record.topic, str(getattr(v.message, "message_id", "")), v.digest)
                for v in valid
            ]
            result = await claim(conn, schema, claims)
            uow = UnitOfWork(conn, schema, prompt_topics=self.prompt_topics)
            await self._dispatch(uow, [valid[i] for i in result.fresh], duplicates=False)
            await self._dispatch(uow, [valid[i] for i in result.duplicates], duplicates=True)
            await uow.flush_outbox()
        if self.after_commit is not None:
            self.after_commit()
        if uow.prompt and self.publish_soon is not None:
            self.publish_soon(uow.prompt)
        if uow.flushed:
            outbox_committed(self.service)
        self._count(valid, result)
        return [
            DeadLetter(valid[i].record, "message_id_conflict: reused with another payload")
            for i in result.conflicts
        ]

    def _count(self, valid: list[_Valid], result: ClaimResult) -> None:
        """The messages processed and the duplicates, by topic."""
        counted = Counter(
            (valid[i].record.topic, outcome)
            for outcome, indexes in (("processed", result.fresh), ("duplicate", result.duplicates))
            for i in indexes
        )
        for (topic, outcome), n in counted.items():
            MESSAGES.labels(self.service, topic, outcome).inc(n)

    async def _dispatch(self, uow: UnitOfWork, items: list[_Valid], *, duplicates: bool) -> None:
        by_topic: dict[str, list[Inbound[Any]]] = {}
        for item in items:
            by_topic.setdefault(item.record.topic, []).append(item.inbound())
        for topic, batch in by_topic.items():
            subscription = self.subscriptions[topic]
            handler = subscription.on_duplicate if duplicates else subscription.handler
            if handler is not None:
                await handler(uow, batch)

    async def _send_dead_letters(self, dead: list[DeadLetter]) -> None:
        attempt = 0
        while True:
            try:
                await self.dead_letters.send(dead)
            except Exception as exc:
                attempt += 1
                log.warning("dead-letter publish failed, retrying: %s", describe(exc))
                await asyncio.sleep(min(self.backoff_cap_s, 0.1 * 2**attempt))
                continue
            for letter in dead:
                MESSAGES.labels(self.service, letter.record.topic, "dead_lettered").inc()
                log.warning(
                    "dead-lettered %s[%d]@%d: %s",
                    letter.record.topic,
                    letter.record.partition,
                    letter.record.offset,
                    letter.reason,
                )
            return


def dead_letter_headers(letter: DeadLetter, service: str) -> list[tuple[str, bytes]]:
    record = letter.record
    return [
        ("dlq.source_topic", record.topic.encode()),
        ("dlq.source_partition", str(record.partition).encode()),
        ("dlq.source_offset", str(record.offset).encode()),
        ("dlq.reason", letter.reason.encode()),
        ("dlq.service", service.encode()),
        ("dlq.failed_at", datetime.now(UTC).isoformat().encode()),
    ]
