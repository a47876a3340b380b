"""SQL for the vendor_matching schema; set-based, one round trip per batch and lookup kind."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.loyalty import MatchReviewRequested
from services.vendor_matching.domain import Learned
from services.vendor_matching.learning import ClosedReview, Lesson, ReviewDecision
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


async def open_reviews(
    conn: AsyncConnection, reviews: Sequence[tuple[MatchReviewRequested, str]]
) -> None:
    """Queue reviews, each with the normalised descriptor its decision will teach."""
    if not reviews:
        return
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".review_queue '
            "(review_id, source, transaction_id, descriptor, candidates, descriptor_norm) "
            "SELECT * FROM unnest(CAST(:r AS text[]), CAST(:s AS text[]), CAST(:t AS text[]), "
            "CAST(:d AS text[]), CAST(:c AS jsonb[]), CAST(:n AS text[])) ON CONFLICT DO NOTHING"
        ),
        {
            "r": [r.review_id for r, _ in reviews],
            "s": [r.source for r, _ in reviews],
            "t": [r.transaction_id for r, _ in reviews],
            "d": [r.descriptor for r, _ in reviews],
            "c": [json.dumps([c.model_dump() for c in r.candidates]) for r, _ in reviews],
            "n": [key for _, key in reviews],
        },
    )


@dataclass(frozen=True, slots=True)
class ClosedRow:
    """A review closed just now, as stored (descriptor_norm is empty on reviews from
    before revision 0002)."""

    source: str
    descriptor: str
    descriptor_norm: str | None
    review: ClosedReview


async def close_reviews(
    conn: AsyncConnection, decisions: Sequence[ReviewDecision]
) -> list[ClosedRow]:
    """Close the open reviews these decisions answer; reviews already closed are left alone."""
    if not decisions:
        return []
    rows = await conn.execute(
        text(
            f'UPDATE "{SCHEMA}".review_queue q SET state = d.state, '
            "decided_vendor_id = d.vendor_id, decided_by = d.actor, decided_at = now() "
            "FROM unnest(CAST(:r AS text[]), CAST(:s AS text[]), CAST(:v AS text[]), "
            "CAST(:a AS text[])) AS d(review_id, state, vendor_id, actor) "
            "WHERE q.review_id = d.review_id AND q.state = 'open' "
            "RETURNING q.review_id, q.source, q.descriptor, q.descriptor_norm, q.candidates, "
            "q.state, q.decided_vendor_id, q.decided_by"
        ),
        {
            "r": [d.review_id for d in decisions],
            "s": ["confirmed" if d.decision == "confirm" else "rejected" for d in decisions],
            "v": [d.vendor_id for d in decisions],
            "a": [d.actor for d in decisions],
        },
    )
    order = {d.review_id: n for n, d in enumerate(decisions)}
    closed = [
        ClosedRow(
            row.source,
            row.descriptor,
            row.descriptor_norm,
            ClosedReview(
                review_id=row.review_id,
                descriptor_norm=row.descriptor_norm or "",
                decision="confirm" if row.state == "confirmed" else "reject",
                vendor_id=row.decided_vendor_id,
                candidates=tuple(c["vendor_id"] for c in row.candidates),
                actor=row.decided_by,
            ),
        )
        for row in rows
    ]
    return sorted(closed, key=lambda row: order[row.review.review_id])


async def review_state(conn: AsyncConnection, review_id: str) -> str | None:
    """`open`, `confirmed` or `rejected`; None for an unknown review."""
    found = await conn.execute(
        text(f'SELECT state FROM "{SCHEMA}".review_queue WHERE review_id = :r'), {"r": review_id}
    )
    return found.scalar_one_or_none()


_REPLACE_CONFIRMATION = (
    "(descriptor_norm) DO UPDATE SET vendor_id = excluded.vendor_id, "
    "review_id = excluded.review_id, decided_by = excluded.decided_by, "
    "decided_at = excluded.decided_at"
)


async def remember(
    conn: AsyncConnection, confirmed: Sequence[Lesson], rejected: Sequence[Lesson]
) -> None:
    """Store lessons (at most one per key, see learning.lessons); a lesson about a vendor
    that is not in the master is dropped. A confirmation replaces any earlier one for the
    descriptor and lifts a rejection of its vendor; a rejection removes that confirmation."""
    for table, lessons, conflict, undo in (
        ("vendor_learned_aliases", confirmed, _REPLACE_CONFIRMATION, "vendor_rejections"),
        ("vendor_rejections", rejected, "DO NOTHING", "vendor_learned_aliases"),
    ):
        if not lessons:
            continue
        values = {
            "k": [lesson.descriptor_norm for lesson in lessons],
            "v": [lesson.vendor_id for lesson in lessons],
            "r": [lesson.review_id for lesson in lessons],
            "a": [lesson.actor for lesson in lessons],
        }
        await conn.execute(
            text(
                f'INSERT INTO "{SCHEMA}".{table} (descriptor_norm, vendor_id, review_id, '
                "decided_by, decided_at) SELECT d.k, d.v, d.r, d.a, now() "
                "FROM unnest(CAST(:k AS text[]), CAST(:v AS text[]), CAST(:r AS text[]), "
                "CAST(:a AS text[])) AS d(k, v, r, a) "
                f'WHERE EXISTS (SELECT 1 FROM "{SCHEMA}".vendors x WHERE x.vendor_id = d.v) '
                f"ON CONFLICT {conflict}"
            ),
            values,
        )
        await conn.execute(
            text(
                f'DELETE FROM "{SCHEMA}".{undo} u USING unnest(CAST(:k AS text[]), '
                "CAST(:v AS text[])) AS d(k, v) WHERE u.descriptor_norm = d.k "
                "AND u.vendor_id = d.v"
            ),
            {"k": values["k"], "v": values["v"]},
        )


async def load_learned(conn: AsyncConnection) -> Learned:
    """Every lesson reviewers taught, for the engine."""
    confirmed = await conn.execute(
        text(f'SELECT descriptor_norm, vendor_id FROM "{SCHEMA}".vendor_learned_aliases')
    )
    rejected = await conn.execute(
        text(
            "SELECT descriptor_norm, array_agg(vendor_id) AS vendor_ids "
            f'FROM "{SCHEMA}".vendor_rejections GROUP BY descriptor_norm'
        )
    )
    return Learned(
        confirmed={row.descriptor_norm: row.vendor_id for row in confirmed},
        rejected={row.descriptor_norm: frozenset(row.vendor_ids) for row in rejected},
    )
