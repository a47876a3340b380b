"""What the customer's page shows and the notices after an action (pure helpers and the
reads behind the page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.customer_profile import catalogue
from services.customer_profile.console.labels import Labels
from services.customer_profile.console.queries import customer_redemptions
from services.customer_profile.views import (
    ActivityFilter,
    activity_page,
    count_activity,
    single_customer_view,
)

NOTICES = {
    "submitted": "Adjustment {ref} sent: the balance changes once accrual and the wallet have "
    "posted it.",
    "awaiting_approval": "Refused: this adjustment is above your limit. It waits for a "
    "supervisor's approval as {ref}.",
    "rejected": "Adjustment request {ref} rejected.",
    "cancel_requested": "Cancellation of redemption {ref} sent to the wallet: the points "
    "come back once it has decided.",
    "review_confirmed": "Review {ref}: vendor confirmed.",
    "review_rejected": "Review {ref}: every candidate rejected.",
}


@dataclass(frozen=True, slots=True)
class Notice:
    """What the last action did; `refused` ones are shown as warnings."""

    text: str
    refused: bool


def notice_of(done: str, ref: str) -> Notice | None:
    template = NOTICES.get(done)
    safe_ref = "".join(c for c in ref if c.isalnum() or c in "-_:")[:60]
    if template is None:
        return None
    return Notice(template.format(ref=safe_ref), refused=done == "awaiting_approval")


def page_number(raw: str) -> int:
    try:
        return min(max(int(raw), 1), 100_000)
    except ValueError:
        return 1


def days(since: str, until: str) -> tuple[datetime | None, datetime | None, str | None]:
    """The `from` and `to` days (inclusive, UTC) as moments; a message when they are wrong."""
    try:
        first = date.fromisoformat(since) if since else None
        last = date.fromisoformat(until) if until else None
    except ValueError:
        return None, None, "Dates are YYYY-MM-DD."
    if first is not None and last is not None and first > last:
        return None, None, "The first day must not be after the last."
    return (
        None if first is None else datetime.combine(first, time(), UTC),
        None
        if last is None or last == date.max
        else datetime.combine(last + timedelta(days=1), time(), UTC),
        None,
    )


async def customer_context(
    conn: AsyncConnection,
    customer_no: str,
    language: str,
    only: ActivityFilter,
    page_no: int,
    size: int,
) -> dict[str, Any]:
    view = await single_customer_view(conn, customer_no, limit=0)
    texts = await catalogue.texts_in(conn, language)
    total = await count_activity(conn, customer_no, only)
    pages = max(1, -(-total // size))
    page_no = min(page_no, pages)
    activity = await activity_page(
        conn, customer_no, language, texts, only, size, (page_no - 1) * size
    )
    return {
        "customer_no": customer_no,
        "language": language,
        "t": Labels(texts, language),
        "view": view,
        "activity": activity,
        "total": total,
        "page_no": page_no,
        "pages": pages,
        "pending": {p["currency"]: p["points"] for p in view.get("pending", [])},
        "redemptions": await customer_redemptions(conn, customer_no, language, texts),
    }
