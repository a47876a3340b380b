"""From the enriched-transaction contract to the facts the rules look at."""

from __future__ import annotations

from typing import Any

from contracts.loyalty import TransactionEnriched
from services.accrual.rules.model import Activity


def activity_of(tx: TransactionEnriched) -> Activity:
    return Activity(
        source=tx.source,
        transaction_id=tx.transaction_id,
        status=tx.status,
        kind=tx.kind,
        customer_no=tx.customer_no,
        amount_cents=tx.amount_cents,
        transaction_at=tx.transaction_at,
        direction=tx.direction,
        channel=tx.channel,
        mcc=tx.mcc,
        vendor_id=tx.vendor_id,
        vendor_category=tx.vendor_category,
        partner=tx.partner,
        original_transaction_id=tx.original_transaction_id,
    )


def activity_from_facts(facts: dict[str, Any] | str | bytes) -> Activity:
    """A transaction stored as its contract's JSON, back as facts."""
    if isinstance(facts, dict):
        return activity_of(TransactionEnriched.model_validate(facts))
    return activity_of(TransactionEnriched.model_validate_json(facts))
