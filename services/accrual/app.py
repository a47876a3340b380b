"""The accrual service: how many points does this activity earn?"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from services.accrual import handlers
from services.accrual.settings import AccrualSettings
from services.accrual.tables import SCHEMA
from shared.messaging.uow import Subscription, UnitOfWork
from shared.runtime import ServiceContext, ServiceDefinition

NAME = "accrual"
LAPSE_CHUNK = 1000
log = logging.getLogger(__name__)


async def lapse_pending_points(ctx: ServiceContext) -> None:
    """The periodic task: cancel pending points whose authorization was never posted."""
    settings = AccrualSettings()
    while not ctx.stop.is_set():
        try:
            lapsed = LAPSE_CHUNK
            while lapsed == LAPSE_CHUNK and not ctx.stop.is_set():
                async with ctx.engine.begin() as conn:
                    uow = UnitOfWork(conn, SCHEMA)
                    due = datetime.now(UTC) - timedelta(days=settings.pending_lapse_days)
                    lapsed = await handlers.lapse_pending(uow, older_than=due, limit=LAPSE_CHUNK)
                    await uow.flush_outbox()
        except Exception:
            log.exception("lapsing pending points failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ctx.stop.wait(), settings.lapse_every_seconds)


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name=NAME,
        subscriptions=(
            Subscription(handlers.ENRICHED_TOPIC, handlers.post_earnings),
            Subscription(handlers.PROFILE_TOPIC, handlers.record_profiles),
            Subscription(handlers.ADJUSTMENT_TOPIC, handlers.post_adjustments),
        ),
        workers=(lapse_pending_points,),
    )
