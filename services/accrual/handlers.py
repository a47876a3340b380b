"""Use cases: turn enriched transactions into points postings; keep customer classes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from contracts.loyalty import AdjustmentRequested, PointsPosted, ProfileChanged, TransactionEnriched
from services.accrual import repository
from services.accrual.domain import (
    FLAT_RULES,
    end_of_month_after,
    proportional_reversal,
    qualifies,
)
from services.accrual.repository import Earning
from services.accrual.tables import SCHEMA
from shared.messaging.uow import Inbound, UnitOfWork

log = logging.getLogger(__name__)

ENRICHED_TOPIC = "loyalty.transaction.enriched.v1"
PROFILE_TOPIC = "loyalty.customer.profile-changed.v1"
ADJUSTMENT_TOPIC = "loyalty.points.adjustment-requested.v1"
POSTED_TOPIC = "loyalty.points.posted.v1"


def _earning(tx: TransactionEnriched, currency: str, points: int) -> Earning:
    rule = FLAT_RULES[currency]
    return Earning(
        posting_id=f"earn:{tx.source}:{tx.transaction_id}:{currency}",
        source=tx.source,
        source_transaction_id=tx.transaction_id,
        status=tx.status,
        customer_no=tx.customer_no,
        currency=currency,
        points=points,
        amount_cents=tx.amount_cents,
        rule_id=rule.rule_id,
        rule_version=rule.version,
        reverses_posting_id=None,
        expires_at=(
            end_of_month_after(tx.transaction_at, rule.expiry_months)
            if rule.expiry_months is not None
            else None
        ),
        transaction_at=tx.transaction_at,
    )


def _reversals(
    tx: TransactionEnriched,
    found: dict[tuple[str, str], repository.OriginalEarning],
    reversed_so_far: dict[str, int],
) -> list[Earning]:
    original_id = tx.original_transaction_id or tx.transaction_id
    out: list[Earning] = []
    for currency in FLAT_RULES:
        original = found.get((original_id, currency))
        if original is None:
            continue
        already = original.already_reversed + reversed_so_far.get(original.posting_id, 0)
        refunded = original.amount_cents if tx.status == "reversed" else tx.amount_cents
        points = proportional_reversal(original.points, already, original.amount_cents, refunded)
        if points <= 0:
            continue
        reversed_so_far[original.posting_id] = reversed_so_far.get(original.posting_id, 0) + points
        out.append(
            replace(
                _earning(tx, currency, -points),
                posting_id=f"reverse:{tx.source}:{tx.transaction_id}:{tx.status}:{currency}",
                reverses_posting_id=original.posting_id,
                expires_at=None,
            )
        )
    return out


async def post_earnings(uow: UnitOfWork, batch: Sequence[Inbound[TransactionEnriched]]) -> None:
    """Earn on qualifying spend, reverse on refunds and reversals, once per transaction."""
    classes = await repository.customer_classes(uow.conn, (i.message.customer_no for i in batch))
    earnings: list[Earning] = []
    reversal_txs: list[TransactionEnriched] = []
    for item in batch:
        tx = item.message
        customer = classes.get(tx.customer_no)
        if customer is not None and not customer.earns:
            continue
        if qualifies(status=tx.status, kind=tx.kind, direction=tx.direction, channel=tx.channel):
            for currency, rule in FLAT_RULES.items():
                points = rule.points_for(tx.amount_cents)
                if points > 0:
                    earnings.append(_earning(tx, currency, points))
        elif tx.status == "reversed" or tx.kind in {"refund", "reversal"}:
            reversal_txs.append(tx)
    new = await repository.insert_earnings(uow.conn, earnings)
    _publish(uow, [e for e in earnings if e.posting_id in new])
    if not reversal_txs:
        return
    found = await repository.originals(
        uow.conn, (tx.original_transaction_id or tx.transaction_id for tx in reversal_txs)
    )
    reversed_so_far: dict[str, int] = {}
    reversals = [e for tx in reversal_txs for e in _reversals(tx, found, reversed_so_far)]
    new = await repository.insert_earnings(uow.conn, reversals)
    _publish(uow, [e for e in reversals if e.posting_id in new])


def _publish(uow: UnitOfWork, earnings: Sequence[Earning]) -> None:
    now = datetime.now(UTC)
    for e in earnings:
        posted = PointsPosted(
            message_id=f"posted:{e.posting_id}",
            sent_at=now,
            posting_id=e.posting_id,
            customer_no=e.customer_no,
            currency=e.currency,  # type: ignore[arg-type]
            points=e.points,
            kind="reversal" if e.points < 0 else "earn",
            source_transaction_id=e.source_transaction_id,
            reverses_posting_id=e.reverses_posting_id,
            expires_at=e.expires_at,
            rule_id=e.rule_id,
            rule_version=e.rule_version,
            earned_at=e.transaction_at,
            actor=None,
            reason=None,
        )
        uow.publish(POSTED_TOPIC, e.customer_no, posted)


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
                expires_at=end_of_month_after(a.requested_at, 12) if a.points > 0 else None,
                rule_id=None,
                rule_version=None,
                earned_at=a.requested_at,
                actor=a.actor,
                reason=f"{a.reason_code}: {a.reason_text}",
            ),
        )
