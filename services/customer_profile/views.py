"""The single customer view: profile, balances and recent activity in the customer's language."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.customer_profile import catalogue
from services.customer_profile import tier_repository as tiers_db
from services.customer_profile.domain import FALLBACK_LANGUAGE, describe, text_in
from services.customer_profile.tables import SCHEMA
from services.customer_profile.tiers import TierState, progress, window_start

RECENT_ACTIVITY = 50


async def single_customer_view(
    conn: AsyncConnection,
    customer_no: str,
    *,
    limit: int = RECENT_ACTIVITY,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """Everything we know of a customer; `profile` is None when the bank never announced them.
    Tier progress counts the tier points of the window ending `as_of` (now by default)."""
    profile = (
        (
            await conn.execute(
                text(
                    "SELECT customer_no, first_name, last_name, preferred_language, segment, "
                    "loyalty_member, status, tier, accounts, cashback_account_no, changed_at, "
                    "profile_version, tier_changed_at, tier_below_since "
                    f'FROM "{SCHEMA}".customers WHERE customer_no = :c'
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
    texts = await catalogue.texts_in(conn, language)
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
    tier = (
        await _tier_progress(conn, dict(profile), texts, as_of or datetime.now(UTC))
        if profile
        else None
    )
    return {
        "customer_no": customer_no,
        "language": language,
        "profile": dict(profile) if profile else None,
        "tier": tier,
        "balances": balance_rows,
        "activity": activity,
    }


async def _tier_progress(
    conn: AsyncConnection,
    profile: Mapping[str, Any],
    texts: Mapping[tuple[str, str], str],
    as_of: datetime,
) -> dict[str, Any]:
    """The tier, its name in the customer's language, and the points to the next tier."""
    ladder, policy = await tiers_db.tier_rules(conn)
    customer_no, language = profile["customer_no"], profile["preferred_language"]
    points = await tiers_db.qualifying_points(
        conn, {customer_no: (window_start(as_of, policy), as_of)}
    )
    state = TierState(profile["tier"], profile["tier_changed_at"], profile["tier_below_since"])
    shown = progress(ladder, policy, state, points[customer_no])

    def name(tier: str | None) -> str | None:
        return None if tier is None else text_in(texts, f"tier.{tier}", language, tier)

    return {
        "tier": shown.tier,
        "name": name(shown.tier),
        "tier_points": shown.points,
        "window_months": policy.window_months,
        "next_tier": shown.next_tier,
        "next_tier_name": name(shown.next_tier),
        "points_to_next_tier": shown.points_to_next_tier,
        "at_risk_until": shown.grace_until,
    }
