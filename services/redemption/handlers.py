"""Use cases of the wallet fed by other services: postings, profiles, vendors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from contracts.loyalty import OPEN_LOTS, PointsPosted, ProfileChanged, VendorChanged
from services.redemption import repository
from services.redemption.decisions import BALANCE_TOPIC, balance_changed
from services.redemption.domain import (
    DEFAULT_NEGATIVE_POLICY,
    Lot,
    NegativePolicy,
    Owner,
    UsableLots,
    claw_back,
    with_opened,
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
    applied = await _first_time(uow, postings)
    now = datetime.now(UTC)
    # Every balance change states the account's usable lots as they are after it. Clawbacks
    # take from lots, so their accounts' open lots are loaded and locked. A credit changes no
    # lot: an account only credited here has a summary of its lots read (its first lots and
    # days, whatever their number) and the batch's new lots merged in. The account rows locked
    # above keep the other writers of lots (redemptions, expiry) out until this commits.
    clawing = {(p.customer_no, p.currency) for _, p in applied if p.points < 0}
    book = await repository.lock_open_lots(uow.conn, clawing)
    summaries = await repository.lot_summaries(
        uow.conn, {(p.customer_no, p.currency) for _, p in applied} - clawing, now.date(),
        OPEN_LOTS,
    )  # fmt: skip
    # A lot opened in this batch gets its id when it is written, so the messages are made
    # once every lot is (no query per message).
    entries: list[tuple[int, str, int]] = []
    new_lots: list[NewLot] = []
    unwritten: dict[Owner, list[Lot]] = {}  # new lots of clawing accounts, not in the book yet
    opened: dict[Owner, list[Lot]] = {}  # new lots of the accounts only credited
    announced: list[_Announced] = []
    ids: dict[str, int] = {}  # posting id -> the id of the lot it opened
    for txn_id, posting in applied:
        owner = (posting.customer_no, posting.currency)
        account = accounts[owner]
        change, shortfall = posting.points, 0
        if posting.points > 0:
            repaid = min(posting.points, max(0, -account.balance))  # a debt is repaid first
            lot = NewLot(*owner, posting.posting_id, posting.points,
                         posting.points - repaid, posting.expires_at)  # fmt: skip
            new_lots.append(lot)
            by_owner = unwritten if owner in clawing else opened
            by_owner.setdefault(owner, []).append(lot.unwritten())
        else:
            if owner in unwritten:
                # A credit earlier in this batch: its lot must exist before it can be taken.
                ids |= await repository.create_lots(uow.conn, new_lots, book)
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
        if owner in clawing:  # every lot is in hand: nothing summarised
            summary, lots = UsableLots(), [*book.lots(owner), *unwritten.get(owner, ())]
        else:
            summary, lots = summaries[owner], list(opened.get(owner, ()))
        announced.append(_Announced(posting, change, replace(account), cause, summary, lots))
    ids |= await repository.create_lots(uow.conn, new_lots, book)
    for balance_change in announced:
        balance_change.publish(uow, ids, now)
    await repository.consume_lots(uow.conn, book.drain())
    await repository.write_entries(uow.conn, entries)
    await repository.save_balances(uow.conn, accounts)


async def _first_time(
    uow: UnitOfWork, postings: Sequence[PointsPosted]
) -> list[tuple[int, PointsPosted]]:
    """The postings not applied before, with their journal transaction, in message order."""
    fresh = await repository.claim_journal(
        uow.conn, "posting", [(p.posting_id, p.customer_no, p.currency) for p in postings]
    )
    applied: list[tuple[int, PointsPosted]] = []
    for posting in postings:
        txn_id = fresh.pop(posting.posting_id, None)
        if txn_id is not None:  # else applied before (or twice in this batch)
            applied.append((txn_id, posting))
    return applied


@dataclass(frozen=True, slots=True)
class _Announced:
    """A posting's balance change, published once the batch's new lots have their ids."""

    posting: PointsPosted
    change: int
    account: Account  # as it was after the posting
    cause: str
    summary: UsableLots  # of the account's lots before the batch, or empty (all in `lots`)
    lots: list[Lot]  # the others as they are after the posting; new ones without an id yet

    def publish(self, uow: UnitOfWork, ids: Mapping[str, int], now: datetime) -> None:
        lots = [lot if lot.lot_id else replace(lot, lot_id=ids[lot.source]) for lot in self.lots]
        stated = with_opened(self.summary, lots, now.date(), OPEN_LOTS)
        p = self.posting
        uow.publish(BALANCE_TOPIC, p.customer_no, balance_changed(
            p.posting_id, p.customer_no, self.change, self.account, self.cause, now,
            currency=p.currency, next_expiries=stated.days,
            open_lots=(stated.first, stated.count),
        ))  # fmt: skip


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
