"""The single customer view: profile, balances and recent activity in the customer's language."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.customer_profile.domain import FALLBACK_LANGUAGE, describe
from services.customer_profile.tables import SCHEMA

RECENT_ACTIVITY = 50


async def single_customer_view(
    conn: AsyncConnection, customer_no: str, *, limit: int = RECENT_ACTIVITY
) -> dict[str, Any]:
    """Everything we know of a customer; `profile` is None when the bank never announced them."""
    profile = (
        (
            await conn.execute(
                text(
                    "SELECT customer_no, first_name, last_name, preferred_language, segment, "
                    "loyalty_member, status, tier, accounts, cashback_account_no, changed_at, "
                    f'profile_version FROM "{SCHEMA}".customers WHERE customer_no = :c'
                ),
                {"c": customer_no},
            )
        )
        .mappings()
        .one_or_none()
    )
    language = profile["preferred_language"] if profile else FALLBACK_LANGUAGE
    balances = (
        await conn.execute(
            text(
                f'SELECT currency, balance, held, as_of FROM "{SCHEMA}".balances '
                "WHERE customer_no = :c ORDER BY currency"
            ),
            {"c": customer_no},
        )
    ).mappings()
    balance_rows = [dict(b) for b in balances]
    rows = (
        await conn.execute(
            text(
                "SELECT a.occurred_at, a.kind, a.points, a.currency, a.reference, "
                "a.description_key, a.details, v.name AS vendor_name "
                f'FROM "{SCHEMA}".activity a '
                f"LEFT JOIN \"{SCHEMA}\".vendors v ON v.vendor_id = a.details ->> 'vendor_id' "
                "WHERE a.customer_no = :c ORDER BY a.occurred_at DESC, a.id DESC LIMIT :n"
            ),
            {"c": customer_no, "n": limit},
        )
    ).mappings()
    activity_rows = [dict(r) for r in rows]
    texts = await _texts(conn, language)
    activity = []
    for row in activity_rows:
        details: dict[str, Any] = dict(row["details"])
        if row["vendor_name"]:
            details["vendor"] = row["vendor_name"]
        details.setdefault("vendor", details.get("vendor_id"))
        activity.append(
            {
                "occurred_at": row["occurred_at"],
                "kind": row["kind"],
                "points": row["points"],
                "currency": row["currency"],
                "reference": row["reference"],
                "description": describe(texts, row["description_key"], language, details),
            }
        )
    return {
        "customer_no": customer_no,
        "language": language,
        "profile": dict(profile) if profile else None,
        "balances": balance_rows,
        "activity": activity,
    }


async def _texts(conn: AsyncConnection, language: str) -> dict[tuple[str, str], str]:
    rows = await conn.execute(
        text(
            f'SELECT text_key, language, text FROM "{SCHEMA}".translations '
            "WHERE language = ANY(CAST(:l AS text[]))"
        ),
        {"l": sorted({language, FALLBACK_LANGUAGE})},
    )
    return {(r.text_key, r.language): r.text for r in rows}
