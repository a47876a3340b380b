"""The single customer view: profile, balances and recent activity in the customer's language."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.customer_profile import catalogue
from services.customer_profile import tier_repository as tiers_db
from services.customer_profile.domain import FALLBACK_LANGUAGE, describe, text_in
from services.customer_profile.tables import SCHEMA
from services.customer_profile.tiers import TierState, progress, window_start

RECENT_ACTIVITY = 50
PENDING_KEY = "activity.pending"
SETTLED_PENDING_KEYS = ("activity.confirmed", "activity.pending_cancelled")


@dataclass(frozen=True, slots=True)
class ActivityFilter:
    """Which of a customer's activity to read: kinds, and `since <= occurred_at < until`."""

    kinds: Sequence[str] = ()
    since: datetime | None = None
    until: datetime | None = None

    def where(self) -> tuple[str, dict[str, Any]]:
        """SQL conditions on the activity (alias `a`) and their parameters."""
        sql, params = "a.customer_no = :c", dict[str, Any]()
        if self.kinds:
            sql += " AND a.kind = ANY(CAST(:kinds AS text[]))"
            params["kinds"] = list(self.kinds)
        if self.since is not None:
            sql += " AND a.occurred_at >= :since"
            params["since"] = self.since
        if self.until is not None:
            sql += " AND a.occurred_at < :until"
            params["until"] = self.until
        return sql, params


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
                "SELECT currency, balance, held, as_of, next_expiries, open_lots, "
                f'open_lots_total FROM "{SCHEMA}".balances '
                "WHERE customer_no = :c ORDER BY currency"
            ),
            {"c": customer_no},
        )
    ).mappings()
    today = (as_of or datetime.now(UTC)).date()
    balance_rows = [
        {
            **b,
            "next_expiries": upcoming_expiries(b["next_expiries"], today),
            **usable_lots(b["open_lots"], b["open_lots_total"], today),
        }
        for b in balances
    ]
    texts = await catalogue.texts_in(conn, language)
    activity = await activity_page(conn, customer_no, language, texts, ActivityFilter(), limit)
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
        "pending": await pending_points(conn, customer_no),
        "activity": activity,
    }


def upcoming_expiries(
    stored: Sequence[Mapping[str, Any]] | None, today: date
) -> list[dict[str, Any]]:
    """The wallet's next expiries still to come, soonest first: a day already past is left
    out even before the wallet's expiry run reports it; none known is an empty list."""
    days = [(date.fromisoformat(e["expires_at"]), int(e["points"])) for e in stored or ()]
    return [{"expires_at": d, "points": p} for d, p in sorted(days) if d >= today]


def usable_lots(
    stored: Sequence[Mapping[str, Any]] | None, total: int | None, today: date
) -> dict[str, Any]:
    """The wallet's open lots still usable `today`, in its order (soonest expiry first, never
    expiring last): a lot past its day is left out (and not counted) even before the wallet's
    expiry run reports it. `open_lots_total` is None when the wallet never stated its lots."""
    lots = [{**lot, "expires_at": _day(lot["expires_at"])} for lot in stored or ()]
    usable = [lot for lot in lots if lot["expires_at"] is None or lot["expires_at"] >= today]
    if total is not None:
        total = max(len(usable), total - (len(lots) - len(usable)))
    return {"open_lots": usable, "open_lots_total": total}


def _day(iso: str | None) -> date | None:
    return None if iso is None else date.fromisoformat(iso)


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


async def activity_page(
    conn: AsyncConnection,
    customer_no: str,
    language: str,
    texts: Mapping[tuple[str, str], str],
    only: ActivityFilter,
    limit: int,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Activity newest first, each described in `language` (English when not translated)."""
    where, params = only.where()
    rows = (
        await conn.execute(
            text(
                "SELECT a.occurred_at, a.kind, a.points, a.currency, a.reference, "
                "a.description_key, a.details, v.name AS vendor_name "
                f'FROM "{SCHEMA}".activity a '
                f"LEFT JOIN \"{SCHEMA}\".vendors v ON v.vendor_id = a.details ->> 'vendor_id' "
                f"WHERE {where} ORDER BY a.occurred_at DESC, a.id DESC LIMIT :n OFFSET :o"
            ),
            {"c": customer_no, "n": limit, "o": offset, **params},
        )
    ).mappings()
    activity = []
    for row in rows:
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
                "reason": _reason(texts, language, details),
            }
        )
    return activity


def _reason(
    texts: Mapping[tuple[str, str], str], language: str, details: Mapping[str, Any]
) -> str | None:
    """Why: a decline's reason in the language, or an operator's adjustment reason as given."""
    code, given = details.get("reason_code"), details.get("reason")
    if isinstance(code, str):
        return text_in(texts, f"reason.{code}", language, given or code)
    return given if isinstance(given, str) and given else None


async def count_activity(conn: AsyncConnection, customer_no: str, only: ActivityFilter) -> int:
    where, params = only.where()
    found = await conn.scalar(
        text(f'SELECT count(*) FROM "{SCHEMA}".activity a WHERE {where}'),
        {"c": customer_no, **params},
    )
    return int(found or 0)


async def pending_points(conn: AsyncConnection, customer_no: str) -> list[dict[str, Any]]:
    """Potential points per currency: created and neither confirmed nor cancelled yet."""
    rows = await conn.execute(
        text(
            "SELECT p.currency, sum(CAST(p.details ->> 'points' AS bigint)) AS points "
            f'FROM "{SCHEMA}".activity p WHERE p.customer_no = :c AND p.description_key = :key '
            f'AND NOT EXISTS (SELECT 1 FROM "{SCHEMA}".activity d '
            "WHERE d.customer_no = p.customer_no AND d.reference = p.reference "
            "AND d.currency = p.currency AND d.description_key = ANY(CAST(:settled AS text[]))) "
            "GROUP BY p.currency ORDER BY p.currency"
        ),
        {"c": customer_no, "key": PENDING_KEY, "settled": list(SETTLED_PENDING_KEYS)},
    )
    return [{"currency": r.currency, "points": int(r.points)} for r in rows]


async def customer_language(conn: AsyncConnection, customer_no: str) -> str | None:
    """The customer's language (English with no profile yet); None when nothing is known."""
    row = (
        await conn.execute(
            text(
                f'SELECT (SELECT preferred_language FROM "{SCHEMA}".customers '
                "WHERE customer_no = :c) AS language, "
                f'EXISTS (SELECT 1 FROM "{SCHEMA}".activity WHERE customer_no = :c) '
                f'OR EXISTS (SELECT 1 FROM "{SCHEMA}".balances WHERE customer_no = :c) AS recorded'
            ),
            {"c": customer_no},
        )
    ).one()
    if row.language is not None:
        return str(row.language)
    return FALLBACK_LANGUAGE if row.recorded else None


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def find_customers(conn: AsyncConnection, query: str, limit: int) -> list[dict[str, Any]]:
    """Customers whose number starts with, name contains, or account number is `query`."""
    rows = await conn.execute(
        text(
            "SELECT customer_no, first_name, last_name, preferred_language, status, tier "
            f'FROM "{SCHEMA}".customers WHERE customer_no LIKE :prefix '
            "OR first_name || ' ' || last_name ILIKE :contains "
            "OR accounts @> CAST(:account AS jsonb) "
            "ORDER BY customer_no <> :q, customer_no LIMIT :n"
        ),
        {
            "q": query,
            "prefix": _like(query) + "%",
            "contains": "%" + _like(query) + "%",
            "account": json.dumps([{"account_no": query}]),
            "n": limit,
        },
    )
    return [dict(r) for r in rows.mappings()]
