"""Use cases: turn enriched transactions into points postings; keep customer classes; post
operators' adjustments."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import text

from contracts.loyalty import (
    AdjustmentRequested,
    PendingPointsChanged,
    PointsPosted,
    ProfileChanged,
    TransactionEnriched,
)
from services.accrual import open_items, programmes, repository
from services.accrual.facts import activity_of
from services.accrual.ledger import (
    Earning,
    Ledger,
    Pending,
    PendingChange,
    is_reversal,
    reversal_target,
    seen_key,
)
from services.accrual.rules.evaluate import expires_at, needed_cap_keys
from services.accrual.tables import SCHEMA
from shared.messaging.uow import Inbound, UnitOfWork

log = logging.getLogger(__name__)

ENRICHED_TOPIC = "loyalty.transaction.enriched.v1"
PROFILE_TOPIC = "loyalty.customer.profile-changed.v1"
ADJUSTMENT_TOPIC = "loyalty.points.adjustment-requested.v1"
POSTED_TOPIC = "loyalty.points.posted.v1"
PENDING_TOPIC = "loyalty.points.pending.v1"
# Earning takes it shared, re-rating exclusively: a re-rating never races a refund.
RERATE_LOCK = 0x4C_52_52_54


async def post_earnings(uow: UnitOfWork, batch: Sequence[Inbound[TransactionEnriched]]) -> None:
    """Earn, make pending, confirm, reverse or hold: once per transaction and status."""
    conn = uow.conn
    await conn.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": RERATE_LOCK})
    programme = await programmes.current(conn)
    txs = [i.message for i in batch]
    activities = [activity_of(tx) for tx in txs]
    own = {(a.source, a.transaction_id) for a in activities}
    targets = {(a.source, t) for a in activities if is_reversal(a) and (t := reversal_target(a))}
    ledger = Ledger(
        programme,
        members=await repository.members(conn, (a.customer_no for a in activities)),
        seen=await repository.seen(conn, own | targets),
        originals=await repository.originals(conn, own | targets),
        pending=await open_items.pending_for(conn, own),
        held=await open_items.held_for(conn, own),
    )
    wanted = [
        key
        for a in activities
        if a.status == "posted" and not is_reversal(a)
        for key in needed_cap_keys(programme, ledger.member(a.customer_no).customer, a)
    ]
    ledger.usage = await repository.cap_usage(conn, wanted, programme.timezone)
    fresh = await repository.record_transactions(
        conn, [(tx, ledger.member(tx.customer_no)) for tx in txs]
    )
    ledger.apply(a for a in activities if seen_key(a) in fresh)

    new = await repository.insert_earnings(conn, ledger.earnings)
    publish_postings(uow, [e for e in ledger.earnings if e.posting_id in new])
    publish_pending(uow, await open_items.save_pending(conn, ledger.pending_changes))
    await open_items.save_holds(conn, ledger.holds)
    await open_items.resolve_holds(conn, ledger.resolutions)
    for hold in ledger.holds:
        log.warning("held for review: %s %s (%s)", hold.activity.source,
                    hold.activity.transaction_id, hold.reason)  # fmt: skip


def publish_postings(uow: UnitOfWork, earnings: Sequence[Earning]) -> None:
    now = datetime.now(UTC)
    for e in earnings:
        posted = PointsPosted(
            message_id=f"posted:{e.posting_id}",
            sent_at=now,
            posting_id=e.posting_id,
            customer_no=e.customer_no,
            currency=e.currency,  # type: ignore[arg-type]
            points=e.points,
            kind=e.kind,  # type: ignore[arg-type]
            source_transaction_id=e.source_transaction_id,
            reverses_posting_id=e.reverses_posting_id,
            expires_at=e.expires_at,
            rule_id=e.rule_id,
            rule_version=e.rule_version,
            earned_at=e.transaction_at,
            actor=None,
            reason=e.reason,
        )
        uow.publish(POSTED_TOPIC, e.customer_no, posted)


def pending_event(pending: Pending, state: str, now: datetime) -> PendingPointsChanged:
    return PendingPointsChanged(
        message_id=f"pending:{pending.source}:{pending.transaction_id}:{pending.currency}:{state}",
        sent_at=now,
        customer_no=pending.customer_no,
        transaction_id=pending.transaction_id,
        state=state,  # type: ignore[arg-type]
        points=pending.points,
        currency=pending.currency,  # type: ignore[arg-type]
        changed_at=pending.transaction_at if state == "created" else now,
    )


def publish_pending(uow: UnitOfWork, changes: Sequence[PendingChange]) -> None:
    now = datetime.now(UTC)
    for change in changes:
        event = pending_event(change.pending, change.state, now)
        uow.publish(PENDING_TOPIC, event.customer_no, event)


async def lapse_pending(uow: UnitOfWork, *, older_than: datetime, limit: int = 1000) -> int:
    """Cancel pending points whose authorization was never posted in time."""
    lapsed = await open_items.lapse_pending(uow.conn, older_than, limit)
    now = datetime.now(UTC)
    for pending in lapsed:
        event = pending_event(pending, "cancelled", now)
        uow.publish(PENDING_TOPIC, event.customer_no, event)
    return len(lapsed)


async def record_profiles(uow: UnitOfWork, batch: Sequence[Inbound[ProfileChanged]]) -> None:
    latest: dict[str, ProfileChanged] = {}
    for item in batch:
        p = item.message
        if p.customer_no not in latest or latest[p.customer_no].profile_version < p.profile_version:
            latest[p.customer_no] = p
    await repository.upsert_classes(
        uow.conn,
        [
            (p.customer_no, p.segment, p.tier, p.loyalty_member, p.status, p.profile_version)
            for p in latest.values()
        ],
    )


async def post_adjustments(uow: UnitOfWork, batch: Sequence[Inbound[AdjustmentRequested]]) -> None:
    """Operators' adjustments become postings with actor and reason, never edits."""
    programme = await programmes.current(uow.conn)
    now = datetime.now(UTC)
    for item in batch:
        a = item.message
        posting_id = f"adjust:{a.adjustment_id}"
        inserted = await uow.conn.exec_driver_sql(
            f'INSERT INTO "{SCHEMA}".adjustments (adjustment_id, posting_id, '
            "customer_no, currency, points, actor, reason_code, reason_text, requested_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
            (a.adjustment_id, posting_id, a.customer_no, a.currency, a.points, a.actor,
             a.reason_code, a.reason_text, a.requested_at),
        )  # fmt: skip
        if inserted.rowcount == 0:
            continue
        uow.publish(
            POSTED_TOPIC,
            a.customer_no,
            PointsPosted(
                message_id=f"posted:{posting_id}",
                sent_at=now,
                posting_id=posting_id,
                customer_no=a.customer_no,
                currency=a.currency,
                points=a.points,
                kind="adjustment",
                source_transaction_id=None,
                reverses_posting_id=None,
                expires_at=(
                    expires_at(programme, a.currency, a.requested_at) if a.points > 0 else None
                ),
                rule_id=None,
                rule_version=None,
                earned_at=a.requested_at,
                actor=a.actor,
                reason=f"{a.reason_code}: {a.reason_text}",
            ),
        )
