"""SQL for the debit_orders schema: payouts awaiting export and the customers they go to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.debit_orders.tables import SCHEMA


@dataclass(frozen=True, slots=True)
class PayoutRow:
    payout_id: str
    customer_no: str
    account_no: str
    amount_cents: int
    currency: str
    reference: str
    narrative: str
    language: str
    requested_at: datetime


@dataclass(frozen=True, slots=True)
class CustomerRow:
    customer_no: str
    cashback_account_no: str | None
    preferred_language: str
    profile_version: int


async def insert_payouts(conn: AsyncConnection, rows: Sequence[PayoutRow]) -> int:
    """Queue payouts for the next LYCRED file; a payout already queued is not queued again."""
    if not rows:
        return 0
    result = await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".payouts (payout_id, customer_no, account_no, amount_cents, '
            "currency, reference, narrative, language, requested_at) "
            "SELECT * FROM unnest(CAST(:p AS text[]), CAST(:c AS text[]), CAST(:a AS text[]), "
            "CAST(:amt AS bigint[]), CAST(:cur AS text[]), CAST(:r AS text[]), "
            "CAST(:n AS text[]), CAST(:l AS text[]), CAST(:t AS timestamptz[])) "
            "ON CONFLICT (payout_id) DO NOTHING"
        ),
        {
            "p": [r.payout_id for r in rows],
            "c": [r.customer_no for r in rows],
            "a": [r.account_no for r in rows],
            "amt": [r.amount_cents for r in rows],
            "cur": [r.currency for r in rows],
            "r": [r.reference for r in rows],
            "n": [r.narrative for r in rows],
            "l": [r.language for r in rows],
            "t": [r.requested_at for r in rows],
        },
    )
    return result.rowcount


async def upsert_customers(conn: AsyncConnection, rows: Sequence[CustomerRow]) -> None:
    """Keep the newest profile version of each customer; an older one changes nothing."""
    if not rows:
        return
    ordered = sorted(rows, key=lambda r: r.customer_no)
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".customers AS c (customer_no, cashback_account_no, '
            "preferred_language, profile_version) "
            "SELECT * FROM unnest(CAST(:c AS text[]), CAST(:a AS text[]), CAST(:l AS text[]), "
            "CAST(:v AS int[])) "
            "ON CONFLICT (customer_no) DO UPDATE SET "
            "cashback_account_no = excluded.cashback_account_no, "
            "preferred_language = excluded.preferred_language, "
            "profile_version = excluded.profile_version "
            "WHERE c.profile_version < excluded.profile_version"
        ),
        {
            "c": [r.customer_no for r in ordered],
            "a": [r.cashback_account_no for r in ordered],
            "l": [r.preferred_language for r in ordered],
            "v": [r.profile_version for r in ordered],
        },
    )
