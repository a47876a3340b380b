"""SQL for the vendor_matching schema; set-based, one round trip per batch and lookup kind."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.vendor_matching.tables import SCHEMA


@dataclass(frozen=True, slots=True)
class MatchRow:
    source: str
    transaction_id: str
    status: str
    customer_no: str
    descriptor: str
    vendor_id: str | None
    method: str
    confidence: int


async def record_matches(conn: AsyncConnection, rows: Sequence[MatchRow]) -> None:
    if not rows:
        return
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".match_results '
            "(source, transaction_id, status, customer_no, descriptor, vendor_id, method, "
            "confidence) "
            "SELECT * FROM unnest(CAST(:s AS text[]), CAST(:t AS text[]), CAST(:st AS text[]), "
            "CAST(:c AS text[]), CAST(:d AS text[]), CAST(:v AS text[]), CAST(:m AS text[]), "
            "CAST(:cf AS int[])) ON CONFLICT DO NOTHING"
        ),
        {
            "s": [r.source for r in rows],
            "t": [r.transaction_id for r in rows],
            "st": [r.status for r in rows],
            "c": [r.customer_no for r in rows],
            "d": [r.descriptor for r in rows],
            "v": [r.vendor_id for r in rows],
            "m": [r.method for r in rows],
            "cf": [r.confidence for r in rows],
        },
    )
