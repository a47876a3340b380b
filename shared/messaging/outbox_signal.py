"""In-process wake-ups for the outbox relay: rows were just committed, publish them now.

The consumer and the relay of a service share one process (`loyalty run`). After a batch
commits outbox rows, the consumer wakes the relay, which then publishes at once instead of
finding them on its next poll; with nothing to do, the relay can poll rarely. Rows written
elsewhere (another process, a background worker) are still found by that slower poll.
"""

from __future__ import annotations

import asyncio

_waiting: dict[str, set[asyncio.Event]] = {}


def listen(service: str) -> asyncio.Event:
    """An event that is set whenever `service`'s outbox gets committed rows in this process."""
    event = asyncio.Event()
    _waiting.setdefault(service, set()).add(event)
    return event


def forget(service: str, event: asyncio.Event) -> None:
    _waiting.get(service, set()).discard(event)


def outbox_committed(service: str) -> None:
    """Wake every relay of `service` in this process (call after the commit, never before)."""
    for event in _waiting.get(service, ()):
        event.set()
