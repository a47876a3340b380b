"""The scheduled tier review: once a day (as of midnight UTC), one replica at a time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.customer_profile import tier_repository as tiers_db
from services.customer_profile.tiering import ReviewReport, review_moment, review_tiers
from shared.runtime import ServiceContext

log = logging.getLogger(__name__)

REVIEW_LOCK = 0x71E5_0006  # advisory lock: replicas take turns, the second finds it done
CHECK_EVERY_S = 300.0


async def review_if_due(engine: AsyncEngine, now: datetime) -> ReviewReport | None:
    """Run today's review unless it has run (here or in another replica); None if not run."""
    as_of = review_moment(now.astimezone(UTC).date())
    async with engine.connect() as conn:
        locked = (
            await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": REVIEW_LOCK})
        ).scalar_one()
        await conn.commit()
        if not locked:
            return None
        try:
            # Only this day's review counts: one run by hand as of another day is no reason
            # to skip it (reviews out of order are safe, see tiers.on_review).
            done = await tiers_db.reviewed(conn, as_of)
            await conn.commit()
            if done:
                return None
            return await review_tiers(engine, as_of)
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": REVIEW_LOCK})
            await conn.commit()


async def review_tiers_daily(ctx: ServiceContext) -> None:
    """The service's worker: check every few minutes whether today's review is due."""
    while not ctx.stop.is_set():
        try:
            report = await review_if_due(ctx.engine, datetime.now(UTC))
            if report is not None:
                log.info(
                    "tier review as of %s: %d reviewed, %d up, %d down, %d at risk",
                    report.as_of.date(),
                    report.reviewed,
                    report.upgraded,
                    report.downgraded,
                    report.at_risk,
                )
        except Exception:
            log.exception("tier review failed; it is retried at the next check")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ctx.stop.wait(), CHECK_EVERY_S)
