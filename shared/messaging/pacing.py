"""A lane's fetch wait: short while someone is asking, long while nobody is.

A lane that answers someone waiting (the wallet's gateway lane) fetches with a short wait
(10 ms): on Tansu a record waits at a hop up to about half the fetch wait (measured on a bare
broker, a record every 20 ms: 10 ms wait, p99 6 ms; 100 ms, p99 54 ms): the broker answers
a waiting fetch on its own clock, not when a record comes. But every fetch costs it about half a
millisecond of CPU, empty or not, and the consumer's loop as much again: 100 empty fetches a
second were most of the requests an idle platform sent to its broker, and half of those
during an end-to-end run without redemptions.

So after `idle_after_s` without a record the lane's fetches wait `idle_ms` and FastStream's
poll waits `idle_batch_timeout_ms`; the first batch after the quiet spell brings the short
waits back. What it costs: the records that end a quiet spell wait up to about the long
wait, once (the fetch in flight when they come, and the one the consumer sends as their
records arrive, were both sent with it). 50 ms kept most of the saving (an idle platform
8.8-9.8 -> 6.0-7.2 CPU s in 30 s; 100 ms, 5.8 s) without a p99 that 100 ms seemed to cost
a benchmark starting on an idle lane (docs/benchmarks.md).

aiokafka has no setter for a running consumer's fetch wait: the pacer sets the fetcher's
`_fetch_max_wait_ms`, which each fetch request is built from (aiokafka 0.12-0.14), and
FastStream's batch subscriber's `batch_timeout_ms`, which each poll reads. Where either is
missing the pacer leaves the waits as they are and says so once
(tests/integration/test_fetch_pacing.py fails if the installed versions lose them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class FetchPacer:
    """Switches a started FastStream batch subscriber's waits between busy and idle."""

    subscriber: Any  # FastStream's Kafka batch subscriber (its `consumer` once started)
    busy_ms: int
    idle_ms: int
    busy_batch_timeout_ms: int
    idle_batch_timeout_ms: int
    idle_after_s: float
    idle: bool = field(default=False, init=False)
    _last: float = field(default_factory=time.monotonic, init=False)
    _warned: bool = field(default=False, init=False)

    @property
    def enabled(self) -> bool:
        longer_fetch = self.idle_ms > self.busy_ms
        return longer_fetch or self.idle_batch_timeout_ms > self.busy_batch_timeout_ms

    def records_arrived(self) -> None:
        """A batch came: fetch with the short wait again."""
        self._last = time.monotonic()
        if self.idle and self._set(self.busy_ms, self.busy_batch_timeout_ms):
            self.idle = False

    def check(self, now: float | None = None) -> None:
        """Go idle when no record came for `idle_after_s` since the consumer started."""
        now = time.monotonic() if now is None else now
        if self._fetcher() is None:
            self._last = now  # not started (joining its group): nothing to pace yet
        elif self.enabled and not self.idle and now - self._last >= self.idle_after_s:
            self.idle = self._set(self.idle_ms, self.idle_batch_timeout_ms)

    async def run(self, stop: asyncio.Event) -> None:
        """Check a few times an idle spell, until stopped."""
        self._last = time.monotonic()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.05, self.idle_after_s / 4))
            self.check()

    def _fetcher(self) -> Any:
        return getattr(getattr(self.subscriber, "consumer", None), "_fetcher", None)

    def _set(self, fetch_max_wait_ms: int, batch_timeout_ms: int) -> bool:
        fetcher = self._fetcher()
        if fetcher is None:
            return False  # not started (or stopping): nothing to pace
        if not hasattr(fetcher, "_fetch_max_wait_ms") or not hasattr(
            self.subscriber, "batch_timeout_ms"
        ):
            if not self._warned:
                self._warned = True
                log.warning("this aiokafka/FastStream cannot change a consumer's waits: not pacing")
            return False
        fetcher._fetch_max_wait_ms = fetch_max_wait_ms  # noqa: SLF001 (no public setter)
        self.subscriber.batch_timeout_ms = batch_timeout_ms
        return True
