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
    """Record the messages as processed, set-based; tell which were seen before.

    One INSERT in the usual case, where every message is new; only when some were in the
    inbox already does a second statement read their stored hashes (a redelivery).
    The claims' (topic, message_id) must be distinct (the consumer drops in-batch repeats).
    """
    if not claims:
        return ClaimResult([], [], [])
    inserted = await conn.execute(
        text(
            f'INSERT INTO "{schema}".inbox (topic, message_id, payload_hash) '
            "SELECT * FROM unnest(CAST(:t AS text[]), CAST(:m AS text[]), CAST(:h AS bytea[])) "
            "ON CONFLICT DO NOTHING RETURNING topic, message_id"
        ),
        {
            "t": [c.topic for c in claims],
            "m": [c.message_id for c in claims],
            "h": [c.payload_hash for c in claims],
        },
    )
    new = {(r.topic, r.message_id) for r in inserted}
    if len(new) == len(claims):
        return ClaimResult(list(range(len(claims))), [], [])
    seen = [c for c in claims if (c.topic, c.message_id) not in new]
    stored = await conn.execute(
        text(
            f'SELECT topic, message_id, payload_hash FROM "{schema}".inbox '
            "WHERE (topic, message_id) IN "
            "(SELECT * FROM unnest(CAST(:t AS text[]), CAST(:m AS text[])))"
        ),
        {"t": [c.topic for c in seen], "m": [c.message_id for c in seen]},
    )
    hashes = {(r.topic, r.message_id): bytes(r.payload_hash) for r in stored}
    result = ClaimResult([], [], [])
    for index, c in enumerate(claims):
        key = (c.topic, c.message_id)
        if key in new:
            result.fresh.append(index)
        elif hashes.get(key) == c.payload_hash:
            result.duplicates.append(index)
        else:
            result.conflicts.append(index)
    return result
