"""Reading the services' schemas from tests, as the database's admin."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

T = TypeVar("T")


async def fetchval(url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def execute(url: str, sql: str, *args: Any) -> str:
    conn = await asyncpg.connect(url)
    try:
        return str(await conn.execute(sql, *args))
    finally:
        await conn.close()


async def eventually(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    *,
    timeout: float = 60.0,
    interval: float = 0.2,
) -> T:
    """Poll until the condition holds; return the last value (the test asserts on it)."""
    deadline = time.monotonic() + timeout
    value = await probe()
    while not until(value) and time.monotonic() < deadline:
        await asyncio.sleep(interval)
        value = await probe()
    return value


def wallet_points(url: str, customer: str) -> Callable[[], Awaitable[Any]]:
    """A probe for `eventually`: the customer's spendable points in the wallet."""
    return lambda: fetchval(
        url,
        "SELECT COALESCE(SUM(balance), 0) FROM redemption.accounts "
        "WHERE customer_no = $1 AND currency = 'points'",
        customer,
    )
