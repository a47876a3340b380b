"""The vendor review queue: transactions whose vendor a person should confirm.

vendor_matching asks on `loyalty.match.review-requested.v1`; customer_profile keeps the open
reviews for the console, and a reviewer's decision goes back on
`loyalty.match.review-decided.v1` through the outbox, once per review."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.loyalty import MatchReviewDecided, MatchReviewRequested
from services.customer_profile.console import store
from services.customer_profile.console.store import Session
from services.customer_profile.tables import SCHEMA
from shared.messaging.uow import Inbound, UnitOfWork

REQUESTED_TOPIC = "loyalty.match.review-requested.v1"
DECIDED_TOPIC = "loyalty.match.review-decided.v1"


class ReviewError(Exception):
    """The review is decided already, unknown, or the vendor is not one of its candidates."""


async def queue_reviews(uow: UnitOfWork, batch: Sequence[Inbound[MatchReviewRequested]]) -> None:
    """Keep each review asked for; one asked again (a redelivery, a replay) adds nothing."""
    reviews = sorted(
        {i.message.review_id: i.message for i in batch}.values(), key=lambda r: r.review_id
    )
    if not reviews:
        return
    await uow.conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".review_queue (review_id, customer_no, source, '
            "transaction_id, descriptor, candidates, requested_at) "
            "SELECT i, c, s, t, d, CAST(x AS jsonb), a FROM unnest(CAST(:i AS text[]), "
            "CAST(:c AS text[]), CAST(:s AS text[]), CAST(:t AS text[]), CAST(:d AS text[]), "
            "CAST(:x AS text[]), CAST(:a AS timestamptz[])) AS r(i, c, s, t, d, x, a) "
            "ON CONFLICT (review_id) DO NOTHING"
        ),
        {
            "i": [r.review_id for r in reviews],
            "c": [r.customer_no for r in reviews],
            "s": [r.source for r in reviews],
            "t": [r.transaction_id for r in reviews],
            "d": [r.descriptor for r in reviews],
            "x": [json.dumps([c.model_dump() for c in r.candidates]) for r in reviews],
            "a": [r.sent_at for r in reviews],
        },
    )


async def open_reviews(conn: AsyncConnection, limit: int = 50) -> list[dict[str, Any]]:
    """The oldest open reviews first."""
    rows = await conn.execute(
        text(
            "SELECT review_id, customer_no, source, transaction_id, descriptor, candidates, "
            f"requested_at FROM \"{SCHEMA}\".review_queue WHERE state = 'open' "
            "ORDER BY requested_at, review_id LIMIT :n"
        ),
        {"n": limit},
    )
    return [dict(r) for r in rows.mappings()]


async def decide_review(
    conn: AsyncConnection, who: Session, review_id: str, vendor_id: str | None, now: datetime
) -> MatchReviewDecided:
    """Confirm `vendor_id` (one of the candidates) or, with None, reject them all; once."""
    row = (
        await conn.execute(
            text(
                f'SELECT customer_no, candidates FROM "{SCHEMA}".review_queue '
                "WHERE review_id = :i AND state = 'open' FOR UPDATE"
            ),
            {"i": review_id},
        )
    ).one_or_none()
    if row is None:
        raise ReviewError(f"review {review_id} is not open (decided already, or unknown)")
    if vendor_id is not None and vendor_id not in {c["vendor_id"] for c in row.candidates}:
        raise ReviewError(f"{vendor_id} is not a candidate of review {review_id}")
    decision = "confirm" if vendor_id is not None else "reject"
    await conn.execute(
        text(
            f'UPDATE "{SCHEMA}".review_queue SET state = :s, vendor_id = :v, decided_by = :by, '
            "decided_at = :at WHERE review_id = :i"
        ),
        {"s": f"{decision}ed", "v": vendor_id, "by": who.username, "at": now, "i": review_id},
    )
    decided = MatchReviewDecided(
        message_id=f"review-decided:{review_id}"[:100],
        sent_at=now,
        review_id=review_id,
        customer_no=row.customer_no,
        decision=decision,
        vendor_id=vendor_id,
        actor=who.username,
        decided_at=now,
    )
    uow = UnitOfWork(conn, SCHEMA)
    uow.publish(DECIDED_TOPIC, row.customer_no, decided)
    await uow.flush_outbox()
    await store.audit(
        conn,
        who.username,
        who.role,
        f"review.{decision}ed",
        row.customer_no,
        {"review_id": review_id, "vendor_id": vendor_id},
    )
    return decided
