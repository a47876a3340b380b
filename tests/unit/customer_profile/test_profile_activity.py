"""What each loyalty event adds to a customer's history."""

from __future__ import annotations

from datetime import UTC, date, datetime

from contracts.loyalty import (
    BalanceChanged,
    PendingPointsChanged,
    PointsPosted,
    TransactionEnriched,
)
from contracts.vendor_gateway import RedemptionDecided
from services.customer_profile import activity

AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _transaction(**overrides: object) -> TransactionEnriched:
    fields: dict[str, object] = {
        "message_id": "enriched:card:m1",
        "sent_at": AT,
        "source": "card",
        "source_message_id": "m1",
        "transaction_id": "T1",
        "status": "posted",
        "kind": "purchase",
        "original_transaction_id": None,
        "customer_no": "C1",
        "account_no": None,
        "amount_cents": 25050,
        "currency": "ZAR",
        "transaction_at": AT,
        "descriptor": "WOOLWORTHS SANDTON CITY JHB ZA",
        "mcc": "5411",
        "channel": "card",
        "direction": "debit",
        "vendor_id": "woolworths",
        "vendor_name": "Woolworths",
        "vendor_category": "groceries",
        "partner": True,
        "match_method": "merchant_id",
        "match_confidence": 100,
    }
    return TransactionEnriched.model_validate(fields | overrides)


def _decision(**overrides: object) -> RedemptionDecided:
    fields: dict[str, object] = {
        "message_id": "decided:r1",
        "sent_at": AT,
        "request_id": "R1",
        "vendor_id": "takealot",
        "customer_no": "C1",
        "action": "redeem",
        "outcome": "approved",
        "points": 500,
        "balance_after": 100,
        "reason_code": None,
        "reason_text": None,
        "language": "af",
        "decided_at": AT,
    }
    return RedemptionDecided.model_validate(fields | overrides)


def test_a_card_purchase_is_a_transaction_with_its_vendor() -> None:
    row = activity.from_transaction(_transaction())
    assert (row.kind, row.points, row.reference) == ("transaction", None, "T1")
    assert row.description_key == "activity.transaction.purchase"
    assert row.details["vendor"] == "Woolworths"
    assert row.source_message_id == "enriched:card:m1"


def test_a_transaction_without_a_vendor_shows_its_descriptor() -> None:
    row = activity.from_transaction(_transaction(vendor_id=None, vendor_name=None, partner=False))
    assert row.details["vendor"] == "WOOLWORTHS SANDTON CITY JHB ZA"


def test_transaction_variants() -> None:
    assert (
        activity.from_transaction(_transaction(kind="refund", direction="credit")).description_key
        == "activity.transaction.refund"
    )
    assert (
        activity.from_transaction(
            _transaction(source="debit_order", kind="payment", status="unpaid")
        ).description_key
        == "activity.transaction.unpaid"
    )
    assert (
        activity.from_transaction(_transaction(status="authorized")).description_key
        == "activity.transaction.authorized"
    )


def _posting(kind: str, points: int, **overrides: object) -> PointsPosted:
    fields: dict[str, object] = {
        "message_id": f"posted:{kind}",
        "sent_at": AT,
        "posting_id": f"{kind}:1",
        "customer_no": "C1",
        "currency": "points",
        "points": points,
        "kind": kind,
        "source_transaction_id": "T1",
        "reverses_posting_id": None,
        "expires_at": date(2027, 11, 30),
        "rule_id": "flat",
        "rule_version": 1,
        "earned_at": AT,
        "actor": None,
        "reason": None,
    }
    return PointsPosted.model_validate(fields | overrides)


def test_postings_are_earned_reversed_or_adjusted_with_signed_points() -> None:
    earned = activity.from_posting(_posting("earn", 25))
    reversed_ = activity.from_posting(_posting("reversal", -10))
    adjusted = activity.from_posting(
        _posting("adjustment", -5, actor="ops@bank", reason="goodwill: wrong rate")
    )
    assert (earned.kind, earned.points, earned.details["points"]) == ("earned", 25, 25)
    assert (reversed_.kind, reversed_.points, reversed_.details["points"]) == ("reversed", -10, 10)
    assert (adjusted.kind, adjusted.points, adjusted.details["reason"]) == (
        "adjusted",
        -5,
        "goodwill: wrong rate",
    )


def test_pending_points_move_no_balance() -> None:
    change = PendingPointsChanged(
        message_id="pending:T1:cancelled",
        sent_at=AT,
        customer_no="C1",
        transaction_id="T1",
        state="cancelled",
        points=25,
        currency="points",
        changed_at=AT,
    )
    row = activity.from_pending(change)
    assert (row.kind, row.points, row.description_key) == (
        "cancelled",
        0,
        "activity.pending_cancelled",
    )


def test_only_an_expiry_is_balance_activity() -> None:
    def change(cause: str) -> BalanceChanged:
        return BalanceChanged(
            message_id=f"balance:{cause}",
            sent_at=AT,
            customer_no="C1",
            currency="points",
            change=-40,
            balance=60,
            held=0,
            cause=cause,  # type: ignore[arg-type]
            reference="run-1",
            occurred_at=AT,
        )

    assert activity.from_balance_change(change("redemption")) is None
    expired = activity.from_balance_change(change("expiry"))
    assert expired is not None
    assert (expired.kind, expired.points, expired.details["points"]) == ("expired", -40, 40)


def test_decisions_become_redeemed_held_cancelled_or_declined() -> None:
    assert activity.from_decision(_decision()).kind == "redeemed"
    assert activity.from_decision(_decision()).points == -500
    assert activity.from_decision(_decision(action="authorize")).kind == "held"
    assert activity.from_decision(_decision(action="cancel")).points == 500
    declined = activity.from_decision(
        _decision(
            outcome="declined",
            points=0,
            reason_code="insufficient_points",
            reason_text="Onvoldoende punte",
        )
    )
    assert (declined.kind, declined.points) == ("declined", 0)
    assert declined.details["reason"] == "Onvoldoende punte"
    assert declined.details["reason_code"] == "insufficient_points"


def test_a_lapsed_hold_is_history_too() -> None:
    lapsed = activity.from_balance_change(
        BalanceChanged(
            message_id="balance:lapse:hold:7",
            sent_at=AT,
            customer_no="C1",
            currency="points",
            change=0,
            balance=60,
            held=0,
            cause="lapse",
            reference="hold:7",
            occurred_at=AT,
        )
    )
    assert lapsed is not None
    assert (lapsed.kind, lapsed.points, lapsed.description_key) == (
        "cancelled",
        None,
        "activity.hold_lapsed",
    )


def test_a_tier_change_moves_no_points_and_carries_its_reason() -> None:
    row = activity.from_tier_change(
        message_id="profile:C1:4",
        customer_no="C1",
        as_of=AT,
        from_tier="gold",
        to_tier="silver",
        upgrade=False,
        points=1200,
        threshold=5000,
        window_months=12,
    )
    assert (row.kind, row.points, row.description_key) == (
        "tier_changed",
        None,
        "activity.tier_downgraded",
    )
    assert row.details["previous_tier"] == "gold"
    assert row.details["threshold"] == 5000
