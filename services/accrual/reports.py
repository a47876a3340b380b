"""Accrual's read side for reports run by other modules: they call these with accrual's own
runtime role, so nothing outside accrual reads its schema directly."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.accrual.tables import SCHEMA


async def pending_points(conn: AsyncConnection, as_of: date) -> dict[str, int]:
    """Potential points still pending at the end of `as_of`, per currency (as they stand now:
    authorised on or before that day, neither confirmed nor cancelled yet)."""
    rows = await conn.execute(
        text(
            f'SELECT currency, SUM(points)::bigint AS points FROM "{SCHEMA}".pending_points '
            "WHERE state = 'pending' AND transaction_at < CAST(:until AS date) "
            "GROUP BY currency"
        ),
        {"until": as_of + timedelta(days=1)},
    )
    return {r.currency: r.points for r in rows}
