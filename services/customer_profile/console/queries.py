"""Reads the console adds to the single customer view: redemptions and their state."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.customer_profile.console.rules import Redemption, redemptions
from services.customer_profile.domain import text_in
from services.customer_profile.tables import SCHEMA

# The activity the wallet's decisions leave (services/customer_profile/activity.py).
DECISION_KEYS = (
    "activity.redeemed",
    "activity.held",
    "activity.hold_released",
    "activity.redemption_cancelled",
    "activity.declined",
)
LATEST_DECISIONS = 500  # the redemptions of a customer's recent decisions are shown


async def customer_redemptions(
    conn: AsyncConnection,
    customer_no: str,
    language: str,
    texts: Mapping[tuple[str, str], str],
    limit: int | None = 20,
) -> list[Redemption]:
    """The latest redemptions, each in the state the wallet's decisions left it in."""
    rows = await conn.execute(
        text(
            "SELECT * FROM (SELECT a.id, a.occurred_at AS at, a.reference AS request_id, "
            "a.details ->> 'vendor_id' AS vendor_id, a.details ->> 'action' AS action, "
            "CAST(a.details ->> 'points' AS bigint) AS points, a.kind, "
            "a.details ->> 'reason_code' AS reason_code, a.details ->> 'reason' AS reason "
            f'FROM "{SCHEMA}".activity a WHERE a.customer_no = :c '
            "AND a.description_key = ANY(CAST(:keys AS text[])) "
            "ORDER BY a.occurred_at DESC, a.id DESC LIMIT :n) latest ORDER BY at, id"
        ),
        {"c": customer_no, "keys": list(DECISION_KEYS), "n": LATEST_DECISIONS},
    )
    decisions = [
        {
            "vendor_id": r.vendor_id,
            "request_id": r.request_id,
            "action": r.action,
            "outcome": "declined" if r.kind == "declined" else "approved",
            "points": r.points or 0,
            "at": r.at,
            "reason": None
            if r.reason_code is None
            else text_in(texts, f"reason.{r.reason_code}", language, r.reason or r.reason_code),
        }
        for r in rows
    ]
    return redemptions(decisions)[:limit]
