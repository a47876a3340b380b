"""The unit of work a handler receives: one DB transaction and the events it will publish."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

M = TypeVar("M")


class Message(Protocol):
    @property
    def message_id(self) -> str: ...  # read-only: the contracts are frozen models

    def model_dump_json(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Inbound(Generic[M]):
    """A consumed message, validated against its contract."""

    topic: str
    partition: int
    offset: int
    key: str | None
    message: M


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: str
    key: str
    message_id: str
    payload: bytes


@dataclass
class UnitOfWork:
    """A handler's view of one batch: the open connection and the outbox it fills."""

    conn: AsyncConnection
    schema: str
    outgoing: list[Outgoing] = field(default_factory=list)
    flushed: int = 0  # outbox rows written in this transaction
    prompt_topics: frozenset[str] = frozenset()  # their rows are published at commit
    prompt: list[Outgoing] = field(default_factory=list)  # such rows written

    def publish(self, topic: str, key: str, message: Message) -> None:
        """Queue an event; it is written to the outbox in this transaction."""
        self.outgoing.append(
            Outgoing(topic, key, message.message_id, message.model_dump_json().encode())
        )

    async def flush_outbox(self, *, skip_existing: bool = False) -> list[str]:
        """Write the queued events; returns their message ids (only the new ones when
        skip_existing: an event whose id is already in the outbox is not written again)."""
        if not self.outgoing:
            return []
        conflict = " ON CONFLICT (message_id) DO NOTHING" if skip_existing else ""
        rows = await self.conn.execute(
            text(
                f'INSERT INTO "{self.schema}".outbox (topic, key, message_id, payload) '
                "SELECT * FROM unnest(CAST(:t AS text[]), CAST(:k AS text[]), "
                f"CAST(:m AS text[]), CAST(:p AS bytea[])){conflict} RETURNING message_id"
            ),
            {
                "t": [o.topic for o in self.outgoing],
                "k": [o.key for o in self.outgoing],
                "m": [o.message_id for o in self.outgoing],
                "p": [o.payload for o in self.outgoing],
            },
        )
        written = [r.message_id for r in rows]
        if self.prompt_topics:
            new = set(written)
            self.prompt += [
                o for o in self.outgoing if o.topic in self.prompt_topics and o.message_id in new
            ]
        self.flushed += len(self.outgoing)
        self.outgoing.clear()
        return written


Handler = Callable[[UnitOfWork, Sequence[Inbound[Any]]], Awaitable[None]]


MAIN_LANE = "main"


@dataclass(frozen=True)
class Subscription:
    """A consumed topic and the use case that handles its batches.

    Topics of one lane are consumed together, one batch at a time. A topic in a lane of its
    own is consumed concurrently with the others (its own consumer in the service's group):
    the vendor gateways' requests need not wait behind a batch of accrual's postings. Lanes
    that change the same rows rely on the row locks taken in sorted order.

    `publish_at_once` names topics of the events the lane emits that are published as soon
    as their batch commits, from memory, instead of in the relay's next round (the outbox
    row is still written in the batch's transaction, so nothing is lost if that publication
    fails: the relay publishes it after a grace period): only for events whose order
    relative to the rest of the outbox does not matter, such as a decision that answers its
    own request.
    """

    topic: str
    handler: Handler
    on_duplicate: Handler | None = None
    lane: str = MAIN_LANE
    publish_at_once: tuple[str, ...] = ()
