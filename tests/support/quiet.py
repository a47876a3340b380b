"""The session's platform at rest: every service's group caught up, every outbox empty.

Tests that read programme-wide figures (a liability total, a whole table) take their
"before" once the platform has done what earlier modules asked of it; a later change to
those figures is then the test's own.
"""

from __future__ import annotations

import asyncpg

from shared.bench.probes import LagProbe, outbox_backlogs
from tests.support.db import eventually


async def backlog(bootstrap: str, url: str) -> dict[str, int]:
    """What the platform has not yet done: each service's consumer lag and outbox rows."""
    probe = LagProbe(bootstrap)
    await probe.start()
    try:
        lags = await probe.lags()
    finally:
        await probe.close()
    conn = await asyncpg.connect(url)
    try:
        outboxes = await outbox_backlogs(conn)
    finally:
        await conn.close()
    left = {
        f"{service} lag on {topic}": n
        for service, topics in lags.items()
        for topic, n in topics.items()
    }
    left |= {f"{service} outbox": n for service, n in outboxes.items()}
    return {what: n for what, n in left.items() if n}


async def until_quiet(bootstrap: str, url: str, *, timeout: float = 120.0) -> None:
    """Wait until the running platform has caught up; fail with what it has not."""
    left = await eventually(
        lambda: backlog(bootstrap, url), lambda b: not b, timeout=timeout, interval=0.5
    )
    assert left == {}, f"the platform did not catch up in {timeout:.0f} s: {left}"
