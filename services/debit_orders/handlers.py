"""Use cases: queue cash-back payouts for the LYCRED file; know where and in what language."""

from __future__ import annotations

from collections.abc import Sequence

from contracts.loyalty import CashbackPayoutRequested, ProfileChanged
from services.debit_orders import repository
from services.debit_orders.repository import CustomerRow, PayoutRow
from shared.messaging.uow import Inbound, UnitOfWork

PAYOUT_TOPIC = "loyalty.cashback.payout-requested.v1"
PROFILE_TOPIC = "loyalty.customer.profile-changed.v1"


async def queue_payouts(uow: UnitOfWork, batch: Sequence[Inbound[CashbackPayoutRequested]]) -> None:
    """Each payout waits, once, for the next LYCRED file."""
    await repository.insert_payouts(
        uow.conn,
        [
            PayoutRow(
                payout_id=p.payout_id,
                customer_no=p.customer_no,
                account_no=p.account_no,
                amount_cents=p.amount_cents,
                currency=p.currency,
                reference=p.reference,
                narrative=p.narrative,
                language=p.language,
                requested_at=p.requested_at,
            )
            for p in (i.message for i in batch)
        ],
    )


async def record_profiles(uow: UnitOfWork, batch: Sequence[Inbound[ProfileChanged]]) -> None:
    """The newest profile version of each customer wins, whatever order they arrive in."""
    latest: dict[str, ProfileChanged] = {}
    for item in batch:
        p = item.message
        if p.customer_no not in latest or latest[p.customer_no].profile_version < p.profile_version:
            latest[p.customer_no] = p
    await repository.upsert_customers(
        uow.conn,
        [
            CustomerRow(
                p.customer_no, p.cashback_account_no, p.preferred_language, p.profile_version
            )
            for p in latest.values()
        ],
    )
