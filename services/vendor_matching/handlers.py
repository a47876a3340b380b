"""Use cases: enrich every bank transaction with its vendor and pass it on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from contracts.esb import AccountTransaction, CardTransaction, DebitOrderExecuted
from contracts.loyalty import TransactionEnriched

from services.vendor_matching import repository
from services.vendor_matching.repository import MatchRow, VendorRef
from shared.messaging.uow import Inbound, UnitOfWork

CARD_TOPIC = "esb.card.transaction.v1"
ACCOUNT_TOPIC = "esb.account.transaction.v1"
DEBIT_ORDER_TOPIC = "esb.debit-order.executed.v1"
ENRICHED_TOPIC = "loyalty.transaction.enriched.v1"

DEBIT_ORDER_STATUS = {"00": "posted", "RV": "reversed"}


def _vendor_fields(vendor: VendorRef | None, method: str) -> dict[str, object]:
    if vendor is None:
        return {
            "vendor_id": None,
            "vendor_name": None,
            "vendor_category": None,
            "partner": False,
            "match_method": "none",
            "match_confidence": 0,
        }
    return {
        "vendor_id": vendor.vendor_id,
        "vendor_name": vendor.name,
        "vendor_category": vendor.category,
        "partner": vendor.partner,
        "match_method": method,
        "match_confidence": 100,
    }


def _publish(uow: UnitOfWork, enriched: TransactionEnriched, matches: list[MatchRow]) -> None:
    uow.publish(ENRICHED_TOPIC, enriched.customer_no, enriched)
    matches.append(
        MatchRow(
            enriched.source,
            enriched.transaction_id,
            enriched.status,
            enriched.customer_no,
            enriched.descriptor,
            enriched.vendor_id,
            enriched.match_method,
            enriched.match_confidence,
        )
    )


async def enrich_card_transactions(
    uow: UnitOfWork, batch: Sequence[Inbound[CardTransaction]]
) -> None:
    by_mid = await repository.vendors_by_code(
        uow.conn,
        "vendor_merchant_ids",
        "merchant_id",
        (i.message.merchant_id for i in batch if i.message.merchant_id),
    )
    now = datetime.now(UTC)
    matches: list[MatchRow] = []
    for item in batch:
        tx = item.message
        vendor = by_mid.get(tx.merchant_id) if tx.merchant_id else None
        enriched = TransactionEnriched(
            message_id=f"enriched:card:{tx.message_id}",
            sent_at=now,
            source="card",
            source_message_id=tx.message_id,
            transaction_id=tx.transaction_id,
            status=tx.status,
            kind=tx.kind,
            original_transaction_id=tx.original_transaction_id,
            customer_no=tx.customer_no,
            account_no=None,
            amount_cents=tx.amount_cents,
            currency=tx.currency,
            transaction_at=tx.transaction_at,
            descriptor=tx.descriptor,
            mcc=tx.mcc,
            channel="card",
            direction="credit" if tx.kind == "refund" else "debit",
            **_vendor_fields(vendor, "merchant_id"),  # type: ignore[arg-type]
        )
        _publish(uow, enriched, matches)
    await repository.record_matches(uow.conn, matches)


async def enrich_account_transactions(
    uow: UnitOfWork, batch: Sequence[Inbound[AccountTransaction]]
) -> None:
    now = datetime.now(UTC)
    matches: list[MatchRow] = []
    for item in batch:
        tx = item.message
        enriched = TransactionEnriched(
            message_id=f"enriched:account:{tx.message_id}",
            sent_at=now,
            source="account",
            source_message_id=tx.message_id,
            transaction_id=tx.transaction_id,
            status="posted",
            kind=tx.kind,
            original_transaction_id=tx.original_transaction_id,
            customer_no=tx.customer_no,
            account_no=tx.account_no,
            amount_cents=tx.amount_cents,
            currency=tx.currency,
            transaction_at=tx.transaction_at,
            descriptor=tx.descriptor,
            mcc=None,
            channel=tx.channel,
            direction=tx.direction,
            **_vendor_fields(None, "none"),  # type: ignore[arg-type]
        )
        _publish(uow, enriched, matches)
    await repository.record_matches(uow.conn, matches)


async def enrich_debit_orders(
    uow: UnitOfWork, batch: Sequence[Inbound[DebitOrderExecuted]]
) -> None:
    by_code = await repository.vendors_by_code(
        uow.conn, "vendor_user_codes", "user_code", (i.message.user_code for i in batch)
    )
    now = datetime.now(UTC)
    matches: list[MatchRow] = []
    for item in batch:
        order = item.message
        reversal = order.status == "RV"
        original = (
            f"DO-{order.original_run_date:%Y%m%d}-{order.original_sequence_no}"
            if reversal and order.original_run_date and order.original_sequence_no is not None
            else None
        )
        enriched = TransactionEnriched(
            message_id=f"enriched:debit-order:{order.message_id}",
            sent_at=now,
            source="debit_order",
            source_message_id=order.message_id,
            transaction_id=order.transaction_id,
            status=DEBIT_ORDER_STATUS.get(order.status, "unpaid"),  # type: ignore[arg-type]
            kind="reversal" if reversal else "payment",
            original_transaction_id=original,
            customer_no=order.customer_no,
            account_no=order.account_no,
            amount_cents=order.amount_cents,
            currency=order.currency,
            transaction_at=datetime.combine(order.action_date, datetime.min.time(), UTC),
            descriptor=f"DEBIT ORDER {order.user_short_name} {order.user_reference}"[:40],
            mcc=None,
            channel="debit_order",
            direction="credit" if reversal else "debit",
            **_vendor_fields(by_code.get(order.user_code), "user_code"),  # type: ignore[arg-type]
        )
        _publish(uow, enriched, matches)
    await repository.record_matches(uow.conn, matches)
