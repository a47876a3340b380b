"""Use cases: keep who the customer is, and record what they have done."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter

from contracts.esb import CustomerUpdated
from contracts.loyalty import (
    BalanceChanged,
    ExpiryBucket,
    LotSummary,
    PendingPointsChanged,
    PointsPosted,
    TransactionEnriched,
    VendorChanged,
)
from contracts.vendor_gateway import RedemptionDecided
from services.customer_profile import activity, repository, tier_repository, tiering
from services.customer_profile.domain import Account, cashback_account, winning_change
from services.customer_profile.profile_events import PROFILE_TOPIC, profile_changed
from services.customer_profile.repository import BalanceRow, CustomerRow, VendorRow
from shared.messaging.uow import Inbound, UnitOfWork

CUSTOMER_TOPIC = "esb.customer.updated.v1"
ENRICHED_TOPIC = "loyalty.transaction.enriched.v1"
POSTED_TOPIC = "loyalty.points.posted.v1"
PENDING_TOPIC = "loyalty.points.pending.v1"
BALANCE_TOPIC = "loyalty.wallet.balance-changed.v1"
DECIDED_TOPIC = "loyalty.redemption.decided.v1"
VENDOR_TOPIC = "loyalty.vendor.changed.v1"


def _customer_row(change: CustomerUpdated, tier: str, version: int) -> CustomerRow:
    accounts = [Account(a.account_no, a.type) for a in change.accounts]
    return CustomerRow(
        customer_no=change.customer_no,
        first_name=change.first_name,
        last_name=change.last_name,
        preferred_language=change.preferred_language,
        segment=change.segment,
        loyalty_member=change.loyalty_member,
        status="closed" if change.change == "closed" else "active",
        tier=tier,
        accounts=[{"account_no": a.account_no, "type": a.type} for a in accounts],
        cashback_account_no=cashback_account(accounts),
        changed_at=change.changed_at,
        profile_version=version,
    )


async def update_customers(uow: UnitOfWork, batch: Sequence[Inbound[CustomerUpdated]]) -> None:
    """Apply the bank's customer changes, newest `changed_at` wins; announce each new profile."""
    by_customer: dict[str, list[CustomerUpdated]] = {}
    for item in batch:
        by_customer.setdefault(item.message.customer_no, []).append(item.message)
    known = await repository.lock_customers(uow.conn, by_customer)
    ladder, _ = await tier_repository.tier_rules(uow.conn)
    rows: list[CustomerRow] = []
    for customer_no, changes in sorted(by_customer.items()):
        before = known.get(customer_no)
        outcome = winning_change(
            before.changed_at if before else None, ((c.changed_at, c) for c in changes)
        )
        if outcome.winner is None:
            continue  # every change was older than what we hold: late delivery
        version = (before.profile_version if before else 0) + outcome.applied
        tier = before.tier if before else ladder.lowest.name
        rows.append(_customer_row(outcome.winner, tier, version))
    written = await repository.upsert_customers(uow.conn, rows)
    now = datetime.now(UTC)
    for row in rows:
        if row.customer_no in written:
            uow.publish(PROFILE_TOPIC, row.customer_no, profile_changed(row, now, row.changed_at))


async def record_transactions(
    uow: UnitOfWork, batch: Sequence[Inbound[TransactionEnriched]]
) -> None:
    await repository.record_activity(
        uow.conn, [activity.from_transaction(i.message) for i in batch]
    )


async def record_postings(uow: UnitOfWork, batch: Sequence[Inbound[PointsPosted]]) -> None:
    """Every posting is history; tier points also count towards the tier."""
    postings = [i.message for i in batch]
    await repository.record_activity(uow.conn, [activity.from_posting(p) for p in postings])
    await tiering.apply_tier_points(uow, postings)


async def record_pending(uow: UnitOfWork, batch: Sequence[Inbound[PendingPointsChanged]]) -> None:
    await repository.record_activity(uow.conn, [activity.from_pending(i.message) for i in batch])


async def record_balances(uow: UnitOfWork, batch: Sequence[Inbound[BalanceChanged]]) -> None:
    """Keep the last known balance, next expiries and open lots; an expiry is also a line of
    the history."""
    latest: dict[tuple[str, str], BalanceChanged] = {}
    for item in batch:
        b = item.message
        key = (b.customer_no, b.currency)
        if key not in latest or latest[key].occurred_at <= b.occurred_at:
            latest[key] = b
    await repository.upsert_balances(
        uow.conn,
        [
            BalanceRow(
                b.customer_no,
                b.currency,
                b.balance,
                b.held,
                b.occurred_at,
                _expiries(b),
                *_open_lots(b),
            )
            for b in latest.values()
        ],
    )
    rows = [activity.from_balance_change(i.message) for i in batch]
    await repository.record_activity(uow.conn, [r for r in rows if r is not None])


# One call a list, not one a lot: dumping lot by lot was a tenth of the service's time.
_BUCKETS: TypeAdapter[list[ExpiryBucket]] = TypeAdapter(list[ExpiryBucket])
_LOTS: TypeAdapter[list[LotSummary]] = TypeAdapter(list[LotSummary])


def _expiries(change: BalanceChanged) -> list[dict[str, Any]] | None:
    """The next expiries as stored (JSON); None when the wallet did not state them."""
    if change.next_expiries is None:
        return None
    dumped: list[dict[str, Any]] = _BUCKETS.dump_python(change.next_expiries, mode="json")
    return dumped


def _open_lots(change: BalanceChanged) -> tuple[list[dict[str, Any]] | None, int | None]:
    """The open lots as stored (JSON) and how many in all; None when not stated."""
    if change.open_lots is None:
        return None, None
    listed = _LOTS.dump_python(change.open_lots, mode="json")
    total = change.open_lots_total
    return listed, len(listed) if total is None else max(total, len(listed))


async def record_decisions(uow: UnitOfWork, batch: Sequence[Inbound[RedemptionDecided]]) -> None:
    await repository.record_activity(uow.conn, [activity.from_decision(i.message) for i in batch])


async def update_vendors(uow: UnitOfWork, batch: Sequence[Inbound[VendorChanged]]) -> None:
    """Vendor names for the history; the newest `changed_at` wins."""
    latest: dict[str, VendorChanged] = {}
    for item in batch:
        v = item.message
        if v.vendor_id not in latest or latest[v.vendor_id].changed_at <= v.changed_at:
            latest[v.vendor_id] = v
    await repository.upsert_vendors(
        uow.conn, [VendorRow(v.vendor_id, v.name, v.changed_at) for v in latest.values()]
    )
