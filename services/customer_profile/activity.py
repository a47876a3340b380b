"""What each loyalty event adds to a customer's activity history (pure: message -> row)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.loyalty import (
    BalanceChanged,
    PendingPointsChanged,
    PointsPosted,
    TransactionEnriched,
)
from contracts.vendor_gateway import RedemptionDecided

SPENDABLE = "points"  # redemptions always spend the spendable points currency


@dataclass(frozen=True, slots=True)
class ActivityRow:
    """One line of the history; `description_key` and `details` render it in any language."""

    source_message_id: str
    customer_no: str
    occurred_at: datetime
    kind: str
    points: int | None  # signed effect on the customer's points; None for bank transactions
    currency: str | None
    reference: str | None
    description_key: str
    details: dict[str, Any] = field(default_factory=dict)


def _transaction_key(tx: TransactionEnriched) -> str:
    if tx.status == "authorized":
        variant = "authorized"
    elif tx.status == "reversed" or tx.kind == "reversal":
        variant = "reversed"
    elif tx.status == "unpaid":
        variant = "unpaid"
    elif tx.kind == "refund":
        variant = "refund"
    elif tx.direction == "credit":
        variant = "credit"
    elif tx.source == "debit_order":
        variant = "debit_order"
    elif tx.kind == "purchase":
        variant = "purchase"
    else:
        variant = "payment"
    return f"activity.transaction.{variant}"


def from_transaction(tx: TransactionEnriched) -> ActivityRow:
    return ActivityRow(
        source_message_id=tx.message_id,
        customer_no=tx.customer_no,
        occurred_at=tx.transaction_at,
        kind="transaction",
        points=None,
        currency=tx.currency,
        reference=tx.transaction_id,
        description_key=_transaction_key(tx),
        details={
            "vendor": tx.vendor_name or tx.descriptor,
            "vendor_id": tx.vendor_id,
            "descriptor": tx.descriptor,
            "amount_cents": tx.amount_cents,
            "currency": tx.currency,
            "source": tx.source,
            "status": tx.status,
            "transaction_kind": tx.kind,
            "channel": tx.channel,
        },
    )


POSTING_KINDS = {
    "earn": "earned",
    "confirmation": "earned",  # the pending points became a lot
    "reversal": "reversed",
    "adjustment": "adjusted",
}


def from_posting(posting: PointsPosted) -> ActivityRow:
    kind = POSTING_KINDS[posting.kind]
    details: dict[str, Any] = {"points": abs(posting.points), "unit": posting.currency}
    if kind == "adjusted":
        details |= {"points": posting.points, "reason": posting.reason, "actor": posting.actor}
    if posting.source_transaction_id is not None:
        details["transaction_id"] = posting.source_transaction_id
    return ActivityRow(
        source_message_id=posting.message_id,
        customer_no=posting.customer_no,
        occurred_at=posting.earned_at,
        kind=kind,
        points=posting.points,
        currency=posting.currency,
        reference=posting.posting_id,
        description_key=f"activity.{kind}",
        details=details,
    )


PENDING = {
    "created": ("pending", "activity.pending"),
    "confirmed": ("confirmed", "activity.confirmed"),
    "cancelled": ("cancelled", "activity.pending_cancelled"),
}


def from_pending(change: PendingPointsChanged) -> ActivityRow:
    kind, key = PENDING[change.state]
    return ActivityRow(
        source_message_id=change.message_id,
        customer_no=change.customer_no,
        occurred_at=change.changed_at,
        kind=kind,
        # Pending points are not spendable: they move no balance until a posting confirms them.
        points=0,
        currency=change.currency,
        reference=change.transaction_id,
        description_key=key,
        details={"points": change.points, "unit": change.currency},
    )


def from_balance_change(change: BalanceChanged) -> ActivityRow | None:
    """An expiry and a lapsed hold are activity of their own; every other movement of the
    balance has its own event (a posting or a redemption decision)."""
    if change.cause == "lapse":
        # The wallet released a hold nobody captured or voided in time; the message says
        # how much is held after, not how much was released, so no points are shown.
        return ActivityRow(
            source_message_id=change.message_id,
            customer_no=change.customer_no,
            occurred_at=change.occurred_at,
            kind="cancelled",
            points=None,
            currency=change.currency,
            reference=change.reference,
            description_key="activity.hold_lapsed",
            details={"held_after": change.held, "unit": change.currency},
        )
    if change.cause != "expiry":
        return None
    return ActivityRow(
        source_message_id=change.message_id,
        customer_no=change.customer_no,
        occurred_at=change.occurred_at,
        kind="expired",
        points=change.change,
        currency=change.currency,
        reference=change.reference,
        description_key="activity.expired",
        details={"points": abs(change.change), "unit": change.currency},
    )


# action -> (kind, description key, sign of the points' effect on spendable points)
APPROVED = {
    "redeem": ("redeemed", "activity.redeemed", -1),
    "capture": ("redeemed", "activity.redeemed", 0),  # the hold already reserved them
    "authorize": ("held", "activity.held", -1),
    "void": ("cancelled", "activity.hold_released", 1),
    "cancel": ("cancelled", "activity.redemption_cancelled", 1),
}


def from_decision(decision: RedemptionDecided) -> ActivityRow:
    details: dict[str, Any] = {
        "vendor_id": decision.vendor_id,
        "points": decision.points,
        "action": decision.action,
        "balance_after": decision.balance_after,
    }
    if decision.outcome == "declined":
        kind, key, sign = "declined", "activity.declined", 0
        details |= {
            "reason_code": decision.reason_code,
            "reason": decision.reason_text or decision.reason_code,
            "reason_language": decision.language,
        }
    else:
        kind, key, sign = APPROVED[decision.action]
    return ActivityRow(
        source_message_id=decision.message_id,
        customer_no=decision.customer_no,
        occurred_at=decision.decided_at,
        kind=kind,
        points=sign * decision.points,
        currency=SPENDABLE,
        reference=decision.request_id,
        description_key=key,
        details=details,
    )


def from_tier_change(
    *,
    message_id: str,
    customer_no: str,
    as_of: datetime,
    from_tier: str,
    to_tier: str,
    upgrade: bool,
    points: int,
    threshold: int,
    window_months: int,
) -> ActivityRow:
    """A tier change, with its reason: the tier points in the window against the threshold
    reached (up) or missed (down). It moves no points."""
    direction = "upgraded" if upgrade else "downgraded"
    return ActivityRow(
        source_message_id=message_id,
        customer_no=customer_no,
        occurred_at=as_of,
        kind="tier_changed",
        points=None,
        currency=None,
        reference=message_id,
        description_key=f"activity.tier_{direction}",
        details={
            "tier": to_tier,
            "previous_tier": from_tier,
            "points": points,
            "unit": "tier_points",
            "threshold": threshold,
            "window_months": window_months,
        },
    )
