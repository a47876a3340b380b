"""The inbox: a processed-message table written in the same transaction as the effect."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True)
class Claim:
    topic: str
    message_id: str
    payload_hash: bytes


@dataclass(frozen=True, slots=True)
class ClaimResult:
    fresh: list[int]  # indexes of first deliveries
    duplicates: list[int]  # same id, same payload: already applied
    conflicts: list[int]  # same id, different payload: an error


def payload_hash(canonical: bytes) -> bytes:
    return hashlib.sha256(canonical).digest()


async def claim(conn: AsyncConnection, schema: str, claims: Sequence[Claim]) -> ClaimResult:
    """Record the messages as processed, set-based; tell which were seen before."""
    if not claims:
        return ClaimResult([], [], [])
    rows = await conn.execute(
        text(
            f"""
WITH incoming AS (
    SELECT * FROM unnest(CAST(:t AS text[]), CAST(:m AS text[]), CAST(:h AS bytea[]))
        WITH ORDINALITY AS i(topic, message_id, payload_hash, ord)
), ins AS (
    INSERT INTO "{schema}".inbox (topic, message_id, payload_hash)
    SELECT topic, message_id, payload_hash FROM incoming
    ON CONFLICT DO NOTHING
    RETURNING topic, message_id
)
SELECT i.ord, ins.message_id IS NOT NULL AS fresh, e.payload_hash = i.payload_hash AS same
FROM incoming i
LEFT JOIN ins ON ins.topic = i.topic AND ins.message_id = i.message_id
LEFT JOIN "{schema}".inbox e ON e.topic = i.topic AND e.message_id = i.message_id
ORDER BY i.ord
"""
        ),
        {
            "t": [c.topic for c in claims],
            "m": [c.message_id for c in claims],
            "h": [c.payload_hash for c in claims],
        },
    )
    result = ClaimResult([], [], [])
    for ordinal, fresh, same in rows:
        index = ordinal - 1
        if fresh:
            result.fresh.append(index)
        elif same:
            result.duplicates.append(index)
        else:
            result.conflicts.append(index)
    return result
