"""Use cases of the wallet fed by other services: postings, profiles, vendors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from contracts.loyalty import OPEN_LOTS, PointsPosted, ProfileChanged, VendorChanged
from services.redemption import repository
from services.redemption.decisions import BALANCE_TOPIC, balance_changed
from services.redemption.domain import (
    DEFAULT_NEGATIVE_POLICY,
    Lot,
    NegativePolicy,
    claw_back,
    next_expiries,
    open_lots,
)
from services.redemption.ledger import ISSUED, SHORTFALL, customer_account
from services.redemption.repository import Account, NewLot
from shared.messaging.uow import Inbound, UnitOfWork

POSTED_TOPIC = "loyalty.points.posted.v1"
REQUESTED_TOPIC = "loyalty.redemption.requested.v1"
PROFILE_TOPIC = "loyalty.customer.profile-changed.v1"
VENDOR_TOPIC = "loyalty.vendor.changed.v1"


async def apply_postings(
    uow: UnitOfWork,
    batch: Sequence[Inbound[PointsPosted]],
    policies: Mapping[str, NegativePolicy] | None = None,
) -> None:
    """Credit lots and reverse earlier ones; each posting once (journal reference).

    When a clawback finds the points spent, the programme's policy for the currency decides:
    a debt (balance below zero, lots empty, later credits repay it first; the default) or a
    cap (the balance stops at zero and the rest is journalled to the shortfall account).
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
    # Clawbacks take from these lots; every balance change states the next expiries and the
    # open lots, as they are after that posting. A lot opened in this batch gets its id when
    # it is written, so the messages are made once every lot is (no query per message).
    book = await repository.lock_open_lots(
        uow.conn, ((p.customer_no, p.currency) for _, p in applied)
    )
    now = datetime.now(UTC)
    entries: list[tuple[int, str, int]] = []
    new_lots: list[NewLot] = []
    unwritten: dict[tuple[str, str], list[NewLot]] = {}  # new_lots by account (no scans)
    announced: list[tuple[PointsPosted, int, Account, str, list[Lot]]] = []
    for txn_id, posting in applied:
        owner = (posting.customer_no, posting.currency)
        account = accounts[owner]
        change, shortfall = posting.points, 0
        if posting.points > 0:
            repaid = min(posting.points, max(0, -account.balance))  # a debt is repaid first
            lot = NewLot(*owner, posting.posting_id, posting.points,
                         posting.points - repaid, posting.expires_at)  # fmt: skip
            new_lots.append(lot)
            unwritten.setdefault(owner, []).append(lot)
        else:
            if owner in unwritten:
                # A credit earlier in this batch: its lot must exist before it can be taken.
                await repository.create_lots(uow.conn, new_lots, book)
                new_lots, unwritten = [], {}
            first = book.by_posting.get(posting.reverses_posting_id or "")
            policy = (policies or {}).get(posting.currency, DEFAULT_NEGATIVE_POLICY)
            clawed = claw_back(book.lots(owner), -posting.points, first, policy)
            book.take(owner, clawed.taken)
            change, shortfall = -clawed.charged, clawed.shortfall
        entries += [
            (txn_id, customer_account(*owner), change),
            (txn_id, ISSUED.format(currency=posting.currency), -posting.points),
        ]
        if shortfall:  # never silent: the points the lots no longer had, journalled
            entries.append((txn_id, SHORTFALL.format(currency=posting.currency), -shortfall))
        account.balance += change
        cause = "earn" if posting.kind in {"earn", "confirmation"} else posting.kind
        pending = [Lot(0, lot.remaining, lot.expires_at, lot.points, lot.posting_id)
                   for lot in unwritten.get(owner, ())]  # fmt: skip
        announced.append((posting, change, replace(account), cause,
                          [*book.lots(owner), *pending]))  # fmt: skip
    await repository.create_lots(uow.conn, new_lots, book)
    for posting, change, after, moved_by, as_then in announced:
        lots = [lot if lot.lot_id else replace(lot, lot_id=book.by_posting[lot.source])
                for lot in as_then]  # fmt: skip
        uow.publish(BALANCE_TOPIC, posting.customer_no, balance_changed(
            posting.posting_id, posting.customer_no, change, after, moved_by, now,
            currency=posting.currency,
            next_expiries=next_expiries(lots, now.date()),
            open_lots=open_lots(lots, now.date(), OPEN_LOTS),
        ))  # fmt: skip
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
