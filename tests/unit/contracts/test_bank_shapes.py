"""The bank's and the vendor gateways' messages, exactly as the interface (esb-topics.md)
gives them: field names, types, optionality and enumerations; and what must be rejected."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from contracts.esb import AccountTransaction, CardTransaction, CustomerAccount, CustomerUpdated
from contracts.vendor_gateway import RedemptionDecided, RedemptionRequested
from tests.unit.contracts.samples import example

# field -> (required, nullable, enumeration or None), transcribed from esb-topics.md.
E = None
INTERFACE: dict[type[BaseModel], dict[str, tuple[bool, bool, set[str] | None]]] = {
    CardTransaction: {
        "message_id": (True, False, E), "sent_at": (True, False, E),
        "transaction_id": (True, False, E),
        "status": (True, False, {"authorized", "posted", "reversed"}),
        "kind": (True, False, {"purchase", "refund"}),
        "original_transaction_id": (True, True, E), "customer_no": (True, False, E),
        "card_ref": (True, False, E), "merchant_id": (True, True, E), "mcc": (True, True, E),
        "descriptor": (True, False, E), "amount_cents": (True, False, E),
        "currency": (True, False, E), "transaction_at": (True, False, E),
        "posted_at": (True, True, E),
    },
    AccountTransaction: {
        "message_id": (True, False, E), "sent_at": (True, False, E),
        "transaction_id": (True, False, E), "customer_no": (True, False, E),
        "account_no": (True, False, E),
        "channel": (True, False, {"eft", "debit_order", "transfer", "fee", "atm", "other"}),
        "direction": (True, False, {"debit", "credit"}),
        "kind": (True, False, {"payment", "reversal"}),
        "original_transaction_id": (True, True, E), "descriptor": (True, False, E),
        "amount_cents": (True, False, E), "currency": (True, False, E),
        "transaction_at": (True, False, E),
    },
    CustomerUpdated: {
        "message_id": (True, False, E), "sent_at": (True, False, E),
        "customer_no": (True, False, E),
        "change": (True, False, {"created", "updated", "closed"}),
        "first_name": (True, False, E), "last_name": (True, False, E),
        "preferred_language": (True, False, E),
        "segment": (True, False, {"retail", "premier", "private", "business"}),
        "loyalty_member": (True, False, E), "accounts": (True, False, E),
        "changed_at": (True, False, E),
    },
    CustomerAccount: {
        "account_no": (True, False, E),
        "type": (True, False, {"cheque", "savings", "credit_card"}),
    },
    RedemptionRequested: {
        "message_id": (True, False, E), "sent_at": (True, False, E),
        "request_id": (True, False, E),
        "action": (True, False, {"redeem", "authorize", "capture", "void", "cancel"}),
        "vendor_id": (True, False, E), "customer_no": (True, False, E),
        "points": (False, True, E),  # required for redeem/authorize: a model validator
        "reward": (True, False, {"voucher", "in_store", "cash_back"}),
        "requested_at": (True, False, E),
    },
    RedemptionDecided: {
        "message_id": (True, False, E), "sent_at": (True, False, E),
        "request_id": (True, False, E), "vendor_id": (True, False, E),
        "customer_no": (True, False, E),
        "action": (True, False, {"redeem", "authorize", "capture", "void", "cancel"}),
        "outcome": (True, False, {"approved", "declined"}),
        "points": (True, False, E), "balance_after": (True, False, E),
        "reason_code": (True, True, E), "reason_text": (True, True, E),
        "language": (True, False, E), "decided_at": (True, False, E),
    },
}  # fmt: skip


def _shape(model: type[BaseModel]) -> dict[str, tuple[bool, bool, set[str] | None]]:
    """(required, nullable, enumeration) of every field, as the published JSON Schema says."""
    schema = model.model_json_schema()
    shape = {}
    for name, field in schema["properties"].items():
        variants = field.get("anyOf", [field])
        values = {v for variant in variants for v in variant.get("enum", [])}
        shape[name] = (
            name in schema.get("required", []),
            any(variant.get("type") == "null" for variant in variants),
            values or None,
        )
    return shape


@pytest.mark.parametrize("model", list(INTERFACE), ids=lambda m: m.__name__)
def test_fields_match_the_interface(model: type[BaseModel]) -> None:
    assert _shape(model) == INTERFACE[model]


@pytest.mark.parametrize(
    ("model", "limits"),
    [
        (CardTransaction, {"transaction_id": 40, "customer_no": 12, "descriptor": 40}),
        (AccountTransaction, {"transaction_id": 40, "customer_no": 12, "account_no": 13}),
        (CustomerUpdated, {"customer_no": 12}),
        (RedemptionRequested, {"request_id": 40, "customer_no": 12}),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_length_limits_of_the_interface(model: type[BaseModel], limits: dict[str, int]) -> None:
    properties = model.model_json_schema()["properties"]
    assert {name: properties[name]["maxLength"] for name in limits} == limits


def test_bank_messages_ignore_unknown_fields() -> None:
    body = {**example("esb.card.transaction.v1"), "loyalty_programme_hint": "new field"}
    message = CardTransaction.model_validate(body)
    assert message.transaction_id == "CT20261120000123"
    assert "loyalty_programme_hint" not in message.model_dump()
    accounts = example("esb.customer.updated.v1")
    accounts["accounts"][0]["branch_code"] = "250655"
    assert CustomerUpdated.model_validate(accounts).accounts[0].account_no == "4071234567"


def test_vendor_gateway_requests_ignore_unknown_fields() -> None:
    body = {**example("loyalty.redemption.requested.v1"), "till_no": "07"}
    assert RedemptionRequested.model_validate(body).points == 500


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount_cents", 250.5),  # money is never a float
        ("amount_cents", 25050.0),  # not even a whole one
        ("amount_cents", "25050"),  # nor a string
        ("amount_cents", 0),  # > 0
        ("amount_cents", -100),
        ("amount_cents", True),  # nor a boolean
        ("status", "settled"),  # not one of authorized, posted, reversed
        ("kind", "Purchase"),  # enumerations are case-sensitive
        ("transaction_at", "2026-11-20T08:14:02"),  # a timestamp needs its offset
        ("transaction_at", "20/11/2026 08:14"),
        ("posted_at", "2026-11-20"),
        ("descriptor", "X" * 41),  # at most 40
        ("transaction_id", ""),
        ("customer_no", "1234567890123"),  # at most 12
        ("currency", "rand"),
        ("merchant_id", 368621675767412),  # a string or null
    ],
)
def test_schema_violations_are_rejected(field: str, value: object) -> None:
    body = {**example("esb.card.transaction.v1"), field: value}
    with pytest.raises(ValidationError):
        CardTransaction.model_validate(body)
    with pytest.raises(ValidationError):  # as it comes off the topic
        CardTransaction.model_validate_json(json.dumps(body))


@pytest.mark.parametrize("field", ["amount_cents", "transaction_id", "status", "sent_at"])
def test_a_missing_field_is_rejected(field: str) -> None:
    body = example("esb.card.transaction.v1")
    del body[field]
    with pytest.raises(ValidationError, match=field):
        CardTransaction.model_validate(body)


def test_a_missing_nullable_field_is_rejected_too() -> None:
    # "string or null" in the interface: the key is there, its value may be null.
    body = example("esb.card.transaction.v1")
    del body["merchant_id"]
    with pytest.raises(ValidationError, match="merchant_id"):
        CardTransaction.model_validate(body)


@pytest.mark.parametrize("value", ["true", 1, "yes"])
def test_booleans_are_strict(value: object) -> None:
    body = {**example("esb.customer.updated.v1"), "loyalty_member": value}
    with pytest.raises(ValidationError):
        CustomerUpdated.model_validate(body)


def test_customer_accounts_are_typed() -> None:
    body = example("esb.customer.updated.v1")
    body["accounts"][0]["type"] = "bond"
    with pytest.raises(ValidationError):
        CustomerUpdated.model_validate(body)


def test_messages_are_frozen() -> None:
    message = CardTransaction.model_validate(example("esb.card.transaction.v1"))
    with pytest.raises(ValidationError):
        message.amount_cents = 1  # type: ignore[misc]


@pytest.mark.parametrize("action", ["redeem", "authorize"])
def test_redeem_and_authorize_need_points(action: str) -> None:
    body = {**example("loyalty.redemption.requested.v1"), "action": action}
    del body["points"]
    with pytest.raises(ValidationError, match=f"points are required for {action}"):
        RedemptionRequested.model_validate(body)
    with pytest.raises(ValidationError, match="points are required"):
        RedemptionRequested.model_validate({**body, "points": None})


@pytest.mark.parametrize("action", ["capture", "void", "cancel"])
def test_capture_void_and_cancel_may_omit_points(action: str) -> None:
    body = {**example("loyalty.redemption.requested.v1"), "action": action}
    del body["points"]
    assert RedemptionRequested.model_validate(body).points is None


@pytest.mark.parametrize("points", [0, -5, 12.5, "500"])
def test_requested_points_are_a_positive_integer(points: object) -> None:
    body = {**example("loyalty.redemption.requested.v1"), "points": points}
    with pytest.raises(ValidationError):
        RedemptionRequested.model_validate(body)


offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
# Hypothesis takes naive bounds and attaches the generated offsets itself.
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=offsets,
)
card_transactions = st.fixed_dictionaries(
    {
        "message_id": st.text(min_size=1, max_size=100),
        "sent_at": moments,
        "transaction_id": st.text(min_size=1, max_size=40),
        "status": st.sampled_from(["authorized", "posted", "reversed"]),
        "kind": st.sampled_from(["purchase", "refund"]),
        "original_transaction_id": st.none() | st.text(max_size=40),
        "customer_no": st.text(alphabet="0123456789", min_size=1, max_size=12),
        "card_ref": st.from_regex(r"\A[0-9]{6}\*{6}[0-9]{4}\Z"),
        "merchant_id": st.none() | st.text(alphabet="0123456789", min_size=8, max_size=15),
        "mcc": st.none() | st.from_regex(r"\A[0-9]{4}\Z"),
        "descriptor": st.text(max_size=40),
        "amount_cents": st.integers(min_value=1, max_value=10**13),
        "currency": st.sampled_from(["ZAR", "USD", "EUR", "NAD"]),
        "transaction_at": moments,
        "posted_at": st.none() | moments,
    }
)


@given(body=card_transactions)
def test_card_transactions_round_trip_through_json(body: dict[str, Any]) -> None:
    message = CardTransaction.model_validate(body)
    again = CardTransaction.model_validate_json(message.model_dump_json())
    assert again == message
    assert again.transaction_at.utcoffset() == body["transaction_at"].utcoffset()


@given(
    action=st.sampled_from(["redeem", "authorize", "capture", "void", "cancel"]),
    points=st.none() | st.integers(min_value=1, max_value=10**9),
)
def test_redemption_requests_are_valid_exactly_when_points_are_given_where_needed(
    action: str, points: int | None
) -> None:
    body = {**example("loyalty.redemption.requested.v1"), "action": action, "points": points}
    needed = action in {"redeem", "authorize"}
    if needed and points is None:
        with pytest.raises(ValidationError):
            RedemptionRequested.model_validate(body)
    else:
        message = RedemptionRequested.model_validate(body)
        assert RedemptionRequested.model_validate_json(message.model_dump_json()) == message


def test_timestamps_keep_their_offset_and_instant() -> None:
    message = CardTransaction.model_validate(example("esb.card.transaction.v1"))
    assert message.transaction_at == datetime(2026, 11, 20, 6, 14, 2, tzinfo=UTC)
    assert message.transaction_at.utcoffset() == timedelta(hours=2)
