"""SQL for the vendor_matching schema; set-based, one round trip per batch and lookup kind."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.loyalty import MatchReviewDecided, MatchReviewRequested
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


async def open_reviews(conn: AsyncConnection, reviews: Sequence[MatchReviewRequested]) -> None:
    if not reviews:
        return
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".review_queue '
            "(review_id, source, transaction_id, descriptor, candidates) "
            "SELECT * FROM unnest(CAST(:r AS text[]), CAST(:s AS text[]), CAST(:t AS text[]), "
            "CAST(:d AS text[]), CAST(:c AS jsonb[])) ON CONFLICT DO NOTHING"
        ),
        {
            "r": [r.review_id for r in reviews],
            "s": [r.source for r in reviews],
            "t": [r.transaction_id for r in reviews],
            "d": [r.descriptor for r in reviews],
            "c": [json.dumps([c.model_dump() for c in r.candidates]) for r in reviews],
        },
    )


async def close_reviews(conn: AsyncConnection, decisions: Sequence[MatchReviewDecided]) -> None:
    if not decisions:
        return
    await conn.execute(
        text(
            f'UPDATE "{SCHEMA}".review_queue q SET state = d.state, '
            "decided_vendor_id = d.vendor_id, decided_by = d.actor "
            "FROM unnest(CAST(:r AS text[]), CAST(:s AS text[]), CAST(:v AS text[]), "
            "CAST(:a AS text[])) AS d(review_id, state, vendor_id, actor) "
            "WHERE q.review_id = d.review_id AND q.state = 'open'"
        ),
        {
            "r": [d.review_id for d in decisions],
            "s": ["confirmed" if d.decision == "confirm" else "rejected" for d in decisions],
            "v": [d.vendor_id for d in decisions],
            "a": [d.actor for d in decisions],
        },
    )
