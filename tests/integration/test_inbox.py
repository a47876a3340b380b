"""The inbox claim on a real database: new, repeated and conflicting messages in one batch."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from shared.db.engine import create_engine
from shared.messaging.inbox import Claim, ClaimResult, claim, payload_hash

pytestmark = pytest.mark.integration


async def _claims(pg_admin_url: str, *batches: list[Claim]) -> list[ClaimResult]:
    schema = f"inbox_test_{os.getpid()}"
    engine = create_engine(pg_admin_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            await conn.execute(
                text(f'CREATE TABLE "{schema}".inbox (LIKE accrual.inbox INCLUDING ALL)')
            )
        results = []
        for batch in batches:
            async with engine.begin() as conn:
                results.append(await claim(conn, schema, batch))
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        return results
    finally:
        await engine.dispose()


def _claim(topic: str, message_id: str, payload: bytes) -> Claim:
    return Claim(topic, message_id, payload_hash(payload))


async def test_a_batch_of_new_messages_is_all_fresh(migrated_admin_url: str) -> None:
    batch = [_claim("t", f"m{i}", b"p") for i in range(300)]
    [result] = await _claims(migrated_admin_url, batch)
    assert result == ClaimResult(list(range(300)), [], [])


async def test_repeats_and_conflicts_are_told_apart_by_their_payload(
    migrated_admin_url: str,
) -> None:
    first = [_claim("t", "a", b"1"), _claim("t", "b", b"2"), _claim("u", "a", b"3")]
    again = [
        _claim("t", "new", b"9"),  # never seen
        _claim("t", "a", b"1"),  # seen, same payload: a redelivery
        _claim("t", "b", b"other"),  # seen, another payload: an id reused
        _claim("u", "a", b"3"),  # the same id on another topic is another message
        _claim("u", "b", b"3"),  # never seen
    ]
    results = await _claims(migrated_admin_url, first, again)
    assert results[0] == ClaimResult([0, 1, 2], [], [])
    assert results[1] == ClaimResult(fresh=[0, 4], duplicates=[1, 3], conflicts=[2])


async def test_an_empty_batch_claims_nothing(migrated_admin_url: str) -> None:
    assert await _claims(migrated_admin_url, []) == [ClaimResult([], [], [])]
