"""Expiry and lapse: scheduled runs that change balances without a request.

Both lock the customers' account rows first (sorted), like decisions do, then the lots or
holds; so they are safe to run concurrently with redemptions and with themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, date, datetime

from contracts.loyalty import OPEN_LOTS
from services.redemption import repository
from services.redemption.decisions import BALANCE_TOPIC, balance_changed
from services.redemption.domain import SPENDABLE, next_expiries, open_lots
from services.redemption.ledger import BREAKAGE, customer_account
from services.redemption.tables import SCHEMA
from shared.messaging.uow import UnitOfWork
from shared.runtime import ServiceContext

log = logging.getLogger(__name__)
CHUNK = 500
EXPIRY_EVERY_S = 3600


async def expire_lots(uow: UnitOfWork, as_of: date, limit: int = CHUNK) -> tuple[int, int]:
    """Zero up to `limit` customers' lots past expiry, posting them to breakage, once each
    (the journal reference is the lot). Returns (lots, points)."""
    customers = await repository.customers_with_expired_lots(uow.conn, as_of, limit)
    if not customers:
        return 0, 0
    currencies = ("points", "tier_points")
    accounts = await repository.lock_accounts(
        uow.conn, ((c, cur) for c in customers for cur in currencies)
    )
    expired = await repository.zero_expired_lots(uow.conn, customers, as_of)
    left = await repository.lock_open_lots(uow.conn, accounts, as_of)  # for the next expiries
    fresh = await repository.claim_journal(
        uow.conn, "expiry", [(str(lot.lot_id), lot.customer_no, lot.currency) for lot in expired]
    )
    entries = []
    now = datetime.now(UTC)
    for lot in expired:
        txn_id = fresh[str(lot.lot_id)]
        entries += [
            (txn_id, customer_account(lot.customer_no, lot.currency), -lot.points),
            (txn_id, BREAKAGE.format(currency=lot.currency), lot.points),
        ]
        account = accounts[(lot.customer_no, lot.currency)]
        account.balance -= lot.points
        uow.publish(BALANCE_TOPIC, lot.customer_no, balance_changed(
            f"lot:{lot.lot_id}", lot.customer_no, -lot.points, account, "expiry", now,
            currency=lot.currency,
            next_expiries=next_expiries(left.lots((lot.customer_no, lot.currency)), as_of),
            open_lots=open_lots(left.lots((lot.customer_no, lot.currency)), as_of, OPEN_LOTS),
        ))  # fmt: skip
    await repository.write_entries(uow.conn, entries)
    await repository.save_balances(uow.conn, accounts)
    return len(expired), sum(lot.points for lot in expired)


async def lapse_holds(uow: UnitOfWork, now: datetime, limit: int = CHUNK) -> int:
    """Release holds that were neither captured nor voided in time; each once."""
    customers = await repository.customers_with_due_holds(uow.conn, now, limit)
    if not customers:
        return 0
    accounts = await repository.lock_accounts(uow.conn, ((c, SPENDABLE) for c in customers))
    lapsed = await repository.lapse_due_holds(uow.conn, customers, now)
    lots = await repository.lock_open_lots(uow.conn, accounts, now.date())  # next expiries
    for hold in lapsed:
        account = accounts[(hold.customer_no, SPENDABLE)]
        account.held -= hold.points
        uow.publish(BALANCE_TOPIC, hold.customer_no, balance_changed(
            f"hold:{hold.hold_id}", hold.customer_no, 0, account, "lapse", now,
            next_expiries=next_expiries(lots.lots((hold.customer_no, SPENDABLE)), now.date()),
            open_lots=open_lots(lots.lots((hold.customer_no, SPENDABLE)), now.date(), OPEN_LOTS),
        ))  # fmt: skip
    await repository.save_balances(uow.conn, accounts)
    return len(lapsed)


async def run_expiry(ctx: ServiceContext) -> None:
    """The periodic task: lapse holds every few seconds, expire lots every hour."""
    last_expiry = 0.0
    loop = asyncio.get_running_loop()
    while not ctx.stop.is_set():
        try:
            async with ctx.engine.begin() as conn:
                uow = UnitOfWork(conn, SCHEMA)
                await lapse_holds(uow, datetime.now(UTC))
                await uow.flush_outbox()
            if loop.time() - last_expiry > EXPIRY_EVERY_S:
                async with ctx.engine.begin() as conn:
                    uow = UnitOfWork(conn, SCHEMA)
                    await expire_lots(uow, datetime.now(UTC).date())
                    await uow.flush_outbox()
                last_expiry = loop.time()
        except Exception:
            log.exception("expiry run failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ctx.stop.wait(), 5)
