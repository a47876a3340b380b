"""Use cases of the wallet fed by other services: postings, profiles, vendors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from contracts.loyalty import PointsPosted, ProfileChanged, VendorChanged
from services.redemption import repository
from services.redemption.decisions import BALANCE_TOPIC, balance_changed
from services.redemption.domain import take_back
from services.redemption.ledger import ISSUED, customer_account
from services.redemption.repository import NewLot
from shared.messaging.uow import Inbound, UnitOfWork

POSTED_TOPIC = "loyalty.points.posted.v1"
REQUESTED_TOPIC = "loyalty.redemption.requested.v1"
PROFILE_TOPIC = "loyalty.customer.profile-changed.v1"
VENDOR_TOPIC = "loyalty.vendor.changed.v1"


async def apply_postings(uow: UnitOfWork, batch: Sequence[Inbound[PointsPosted]]) -> None:
    """Credit lots and reverse earlier ones; each posting once (journal reference).

    The programme lets a balance go negative when a clawback finds the points spent: the
    debt is visible (balance below zero, lots empty) and later credits repay it first.
    """
    postings = [i.message for i in batch]
    accounts = await repository.lock_accounts(
        uow.conn, ((p.customer_no, p.currency) for p in postings)
    )
    fresh = await repository.claim_journal(
        uow.conn, "posting", [(p.posting_id, p.customer_no, p.currency) for p in postings]
    )
    applied: list[tuple[int, PointsPosted]] = []
    for posting in postings:
        txn_id = fresh.pop(posting.posting_id, None)
        if txn_id is not None:  # else applied before (or twice in this batch)
            applied.append((txn_id, posting))
    book = await repository.lock_open_lots(
        uow.conn, ((p.customer_no, p.currency) for _, p in applied if p.points < 0)
    )
    now = datetime.now(UTC)
    entries: list[tuple[int, str, int]] = []
    new_lots: list[NewLot] = []
    for txn_id, posting in applied:
        owner = (posting.customer_no, posting.currency)
        account = accounts[owner]
        entries += [
            (txn_id, customer_account(*owner), posting.points),
            (txn_id, ISSUED.format(currency=posting.currency), -posting.points),
        ]
        if posting.points > 0:
            repaid = min(posting.points, max(0, -account.balance))  # a debt is repaid first
            new_lots.append(NewLot(*owner, posting.posting_id, posting.points,
                                   posting.points - repaid, posting.expires_at))  # fmt: skip
        else:
            if any((lot.customer_no, lot.currency) == owner for lot in new_lots):
                # A credit earlier in this batch: its lot must exist before it can be taken.
                await repository.create_lots(uow.conn, new_lots, book)
                new_lots = []
            first = book.by_posting.get(posting.reverses_posting_id or "")
            book.take(owner, take_back(book.lots(owner), -posting.points, first))
        account.balance += posting.points
        cause = "earn" if posting.kind in {"earn", "confirmation"} else posting.kind
        uow.publish(BALANCE_TOPIC, posting.customer_no, balance_changed(
            posting.posting_id, posting.customer_no, posting.points, account, cause, now,
            currency=posting.currency,
        ))  # fmt: skip
    await repository.create_lots(uow.conn, new_lots, book)
    await repository.consume_lots(uow.conn, book.drain())
    await repository.write_entries(uow.conn, entries)
    await repository.save_balances(uow.conn, accounts)


async def record_profiles(uow: UnitOfWork, batch: Sequence[Inbound[ProfileChanged]]) -> None:
    latest: dict[str, ProfileChanged] = {}
    for item in batch:
        p = item.message
        if p.customer_no not in latest or latest[p.customer_no].profile_version < p.profile_version:
            latest[p.customer_no] = p
    await repository.upsert_customers(
        uow.conn,
        [
            (p.customer_no, p.preferred_language, p.loyalty_member, p.status,
             p.cashback_account_no, p.profile_version)
            for p in latest.values()
        ],
    )  # fmt: skip


async def record_vendors(uow: UnitOfWork, batch: Sequence[Inbound[VendorChanged]]) -> None:
    latest: dict[str, VendorChanged] = {}
    for item in batch:
        v = item.message
        if v.vendor_id not in latest or latest[v.vendor_id].changed_at <= v.changed_at:
            latest[v.vendor_id] = v
    await repository.upsert_vendors(
        uow.conn,
        [(v.vendor_id, v.accepts_redemptions, v.active, v.changed_at) for v in latest.values()],
    )
