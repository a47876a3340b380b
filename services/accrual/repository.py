"""SQL for the accrual schema, one statement per batch and kind."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.accrual.tables import SCHEMA


@dataclass(frozen=True, slots=True)
class CustomerClass:
    customer_no: str
    segment: str
    tier: str
    loyalty_member: bool
    status: str

    @property
    def earns(self) -> bool:
        return self.loyalty_member and self.status != "closed"


@dataclass(frozen=True, slots=True)
class Earning:
    posting_id: str
    source: str
    source_transaction_id: str
    status: str
    customer_no: str
    currency: str
    points: int
    amount_cents: int
    rule_id: str
    rule_version: int
    reverses_posting_id: str | None
    expires_at: date | None
    transaction_at: datetime


async def customer_classes(
    conn: AsyncConnection, customers: Iterable[str]
) -> dict[str, CustomerClass]:
    rows = await conn.execute(
        text(
            f"SELECT customer_no, segment, tier, loyalty_member, status "
            f'FROM "{SCHEMA}".customer_classes WHERE customer_no = ANY(CAST(:c AS text[]))'
        ),
        {"c": sorted(set(customers))},
    )
    return {r.customer_no: CustomerClass(*r) for r in rows}


async def upsert_classes(conn: AsyncConnection, rows: Sequence[tuple[object, ...]]) -> None:
    """(customer_no, segment, tier, member, status, version); older versions are ignored."""
    if not rows:
        return
    cols = list(zip(*rows, strict=True))
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".customer_classes AS c '
            "(customer_no, segment, tier, loyalty_member, status, profile_version) "
            "SELECT * FROM unnest(CAST(:a AS text[]), CAST(:b AS text[]), CAST(:c AS text[]), "
            "CAST(:d AS boolean[]), CAST(:e AS text[]), CAST(:f AS int[])) "
            "ON CONFLICT (customer_no) DO UPDATE SET segment = excluded.segment, "
            "tier = excluded.tier, loyalty_member = excluded.loyalty_member, "
            "status = excluded.status, profile_version = excluded.profile_version "
            "WHERE c.profile_version < excluded.profile_version"
        ),
        dict(zip("abcdef", (list(c) for c in cols), strict=True)),
    )


async def insert_earnings(conn: AsyncConnection, earnings: Sequence[Earning]) -> set[str]:
    """Insert; returns the posting ids that are new (the rest were earned before)."""
    if not earnings:
        return set()
    rows = await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".earnings (posting_id, source, source_transaction_id, status, '
            "customer_no, currency, points, amount_cents, rule_id, rule_version, "
            "reverses_posting_id, expires_at, transaction_at) "
            "SELECT * FROM unnest(CAST(:p AS text[]), CAST(:s AS text[]), CAST(:t AS text[]), "
            "CAST(:st AS text[]), CAST(:c AS text[]), CAST(:cur AS text[]), "
            "CAST(:pts AS bigint[]), CAST(:amt AS bigint[]), CAST(:r AS text[]), "
            "CAST(:rv AS int[]), CAST(:rev AS text[]), CAST(:exp AS date[]), "
            "CAST(:at AS timestamptz[])) ON CONFLICT DO NOTHING RETURNING posting_id"
        ),
        {
            "p": [e.posting_id for e in earnings],
            "s": [e.source for e in earnings],
            "t": [e.source_transaction_id for e in earnings],
            "st": [e.status for e in earnings],
            "c": [e.customer_no for e in earnings],
            "cur": [e.currency for e in earnings],
            "pts": [e.points for e in earnings],
            "amt": [e.amount_cents for e in earnings],
            "r": [e.rule_id for e in earnings],
            "rv": [e.rule_version for e in earnings],
            "rev": [e.reverses_posting_id for e in earnings],
            "exp": [e.expires_at for e in earnings],
            "at": [e.transaction_at for e in earnings],
        },
    )
    return {r.posting_id for r in rows}


@dataclass(frozen=True, slots=True)
class OriginalEarning:
    posting_id: str
    source_transaction_id: str
    customer_no: str
    currency: str
    points: int
    amount_cents: int
    already_reversed: int


async def originals(
    conn: AsyncConnection, transaction_ids: Iterable[str]
) -> dict[tuple[str, str], OriginalEarning]:
    """Earnings of the given transactions, by (transaction id, currency), with reversals so far."""
    rows = await conn.execute(
        text(
            f"""
SELECT e.posting_id, e.source_transaction_id, e.customer_no, e.currency, e.points,
       e.amount_cents,
       COALESCE((SELECT -SUM(r.points) FROM "{SCHEMA}".earnings r
                 WHERE r.reverses_posting_id = e.posting_id), 0) AS already_reversed
FROM "{SCHEMA}".earnings e
WHERE e.source_transaction_id = ANY(CAST(:t AS text[])) AND e.points > 0
"""
        ),
        {"t": sorted(set(transaction_ids))},
    )
    return {(r.source_transaction_id, r.currency): OriginalEarning(*r) for r in rows}
