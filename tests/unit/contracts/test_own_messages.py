"""Our own topics: closed to unknown fields, integers exact, the rules of each message."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.common import BankMessage, OwnMessage
from contracts.esb import DebitOrderExecuted
from contracts.loyalty import (
    AdjustmentRequested,
    CashbackPayoutRequested,
    PointsPosted,
    TransactionEnriched,
)
from contracts.registry import TOPICS, model_for
from tests.unit.contracts.samples import example

OWN_TOPICS = sorted(name for name, t in TOPICS.items() if issubclass(t.latest, OwnMessage))
BANK_TOPICS = sorted(name for name, t in TOPICS.items() if issubclass(t.latest, BankMessage))


def rejects(topic: str, **changes: Any) -> bool:
    try:
        model_for(topic).model_validate({**example(topic), **changes})
    except ValidationError:
        return True
    return False


@pytest.mark.parametrize("topic", OWN_TOPICS)
def test_our_messages_reject_unknown_fields(topic: str) -> None:
    assert rejects(topic, surprise="field")


def test_every_topic_is_either_ours_or_given_to_us() -> None:
    assert sorted(OWN_TOPICS + BANK_TOPICS) == sorted(TOPICS)
    assert BANK_TOPICS == [
        "esb.account.transaction.v1",
        "esb.card.transaction.v1",
        "esb.customer.updated.v1",
        "loyalty.redemption.requested.v1",
    ]


def test_the_debit_order_topic_is_ours_though_named_like_the_banks() -> None:
    assert "esb.debit-order.executed.v1" in OWN_TOPICS
    assert TOPICS["esb.debit-order.executed.v1"].producers == ("debit_orders",)


def test_transaction_enriched_carries_what_accrual_and_the_profile_need() -> None:
    assert set(TransactionEnriched.model_fields) == {
        "message_id", "sent_at", "source", "source_message_id", "transaction_id", "status",
        "kind", "original_transaction_id", "customer_no", "account_no", "amount_cents",
        "currency", "transaction_at", "descriptor", "mcc", "channel", "direction", "vendor_id",
        "vendor_name", "vendor_category", "partner", "match_method", "match_confidence",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("topic", "changes"),
    [
        ("loyalty.points.posted.v1", {"points": 0}),  # a posting moves points
        ("loyalty.points.posted.v1", {"points": "25"}),
        ("loyalty.points.posted.v1", {"points": 25.0}),
        ("loyalty.points.posted.v1", {"currency": "rand"}),
        ("loyalty.points.posted.v1", {"earned_at": "2026-11-20T08:15:30"}),
        ("loyalty.points.adjustment-requested.v1", {"points": 0}),
        ("loyalty.points.adjustment-requested.v1", {"actor": ""}),
        ("loyalty.points.pending.v1", {"points": -1}),
        ("loyalty.wallet.balance-changed.v1", {"held": -1}),
        ("loyalty.wallet.balance-changed.v1", {"balance": 145.0}),
        ("loyalty.wallet.balance-changed.v1", {"cause": "gift"}),
        ("loyalty.cashback.payout-requested.v1", {"reference": "L" * 21}),
        ("loyalty.cashback.payout-requested.v1", {"narrative": "N" * 31}),
        ("loyalty.cashback.payout-requested.v1", {"amount_cents": 50.0}),
        ("loyalty.cashback.payout-requested.v1", {"account_no": "4071-234567"}),
        ("loyalty.customer.profile-changed.v1", {"profile_version": 0}),
        ("loyalty.customer.profile-changed.v1", {"loyalty_member": "true"}),
        ("loyalty.vendor.changed.v1", {"partner": 1}),
        ("loyalty.transaction.enriched.v1", {"match_confidence": 101}),
        ("loyalty.transaction.enriched.v1", {"match_method": "guess"}),
        ("loyalty.match.review-requested.v1", {"candidates": [{"vendor_id": "pep"}]}),
        ("loyalty.match.review-decided.v1", {"decision": "maybe"}),
        ("loyalty.redemption.decided.v1", {"points": -1}),
        ("loyalty.redemption.decided.v1", {"outcome": "pending"}),
        ("esb.debit-order.executed.v1", {"status": "99"}),
        ("esb.debit-order.executed.v1", {"sequence_no": "42"}),
        ("esb.debit-order.executed.v1", {"user_code": "VIRGN"}),
        ("esb.debit-order.executed.v1", {"entry_class": 100}),
    ],
)
def test_invalid_own_messages_are_rejected(topic: str, changes: dict[str, Any]) -> None:
    assert rejects(topic, **changes)


def test_a_disputed_debit_order_names_its_original() -> None:
    reversal = example("esb.debit-order.executed.v1", "disputed-reversal")
    assert DebitOrderExecuted.model_validate(reversal).original_sequence_no == 42
    with pytest.raises(ValidationError, match="must name its original"):
        DebitOrderExecuted.model_validate({**reversal, "original_run_date": None})


def test_debit_order_ids_are_deterministic_per_file_record() -> None:
    order = DebitOrderExecuted.model_validate(example("esb.debit-order.executed.v1"))
    assert order.message_id == f"DOEXEC:{order.file_id}:{order.sequence_no}"
    assert order.transaction_id == f"DO-{order.run_date:%Y%m%d}-{order.sequence_no}"


def test_afrikaans_narratives_fit_the_statement_line() -> None:
    payout = CashbackPayoutRequested.model_validate(
        {**example("loyalty.cashback.payout-requested.v1"), "narrative": "Belonings kontant terug"}
    )
    assert payout.language == "af"


@given(points=st.integers(min_value=-(10**12), max_value=10**12).filter(bool))
def test_any_non_zero_posting_round_trips(points: int) -> None:
    body = {**example("loyalty.points.posted.v1"), "points": points}
    posted = PointsPosted.model_validate(body)
    assert PointsPosted.model_validate_json(posted.model_dump_json()).points == points


@given(points=st.integers(min_value=-(10**6), max_value=10**6))
def test_adjustments_are_never_zero(points: int) -> None:
    body = {**example("loyalty.points.adjustment-requested.v1"), "points": points}
    if points == 0:
        with pytest.raises(ValidationError, match="must not be zero"):
            AdjustmentRequested.model_validate(body)
    else:
        assert AdjustmentRequested.model_validate(body).points == points
