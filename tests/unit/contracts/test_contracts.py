"""The contracts: the bank's shapes exactly, examples valid, no drift, no breaking change."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts import tools
from contracts.esb import CardTransaction, CustomerUpdated
from contracts.registry import TOPICS, topics_consumed_by
from contracts.tools import breaking_changes, check_compatibility, check_drift, schema_for
from contracts.vendor_gateway import RedemptionRequested
from shared.settings import SERVICES

EXAMPLES = Path(tools.ROOT) / "examples"


def example(topic: str) -> dict:
    return json.loads((EXAMPLES / topic / "basic.json").read_text())


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_every_topic_has_valid_examples(topic: str) -> None:
    files = sorted((EXAMPLES / topic).glob("*.json"))
    assert files, f"no example for {topic}"
    for path in files:
        TOPICS[topic].latest.model_validate_json(path.read_bytes())


def test_bank_messages_ignore_unknown_fields() -> None:
    body = {**example("esb.card.transaction.v1"), "loyalty_programme_hint": "new field"}
    assert CardTransaction.model_validate(body).transaction_id == "CT20261120000123"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount_cents", 250.5),  # money is never a float
        ("amount_cents", "25050"),  # nor a string
        ("amount_cents", 0),  # > 0
        ("status", "settled"),  # not one of authorized, posted, reversed
        ("transaction_at", "2026-11-20T08:14:02"),  # a timestamp needs its offset
        ("descriptor", "X" * 41),  # at most 40
        ("customer_no", "1234567890123"),  # at most 12
    ],
)
def test_schema_violations_are_rejected(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        CardTransaction.model_validate({**example("esb.card.transaction.v1"), field: value})


def test_a_missing_field_is_rejected_even_when_nullable() -> None:
    body = example("esb.card.transaction.v1")
    del body["merchant_id"]  # "string or null": present, possibly null
    with pytest.raises(ValidationError):
        CardTransaction.model_validate(body)


def test_redeem_and_authorize_need_points_capture_does_not() -> None:
    body = {**example("loyalty.redemption.requested.v1"), "points": None}
    with pytest.raises(ValidationError, match="points are required"):
        RedemptionRequested.model_validate(body)
    assert RedemptionRequested.model_validate({**body, "action": "capture"}).points is None


def test_customer_accounts_are_typed() -> None:
    body = example("esb.customer.updated.v1")
    body["accounts"][0]["type"] = "bond"
    with pytest.raises(ValidationError):
        CustomerUpdated.model_validate(body)


@given(
    amount=st.integers(min_value=1, max_value=10**12),
    status=st.sampled_from(["authorized", "posted", "reversed"]),
    descriptor=st.text(max_size=40),
)
def test_card_transactions_round_trip_through_json(
    amount: int, status: str, descriptor: str
) -> None:
    body = {
        **example("esb.card.transaction.v1"),
        "amount_cents": amount,
        "status": status,
        "descriptor": descriptor,
    }
    message = CardTransaction.model_validate(body)
    assert CardTransaction.model_validate_json(message.model_dump_json()) == message


def test_every_service_consumes_what_the_registry_says() -> None:
    import importlib

    for service in SERVICES:
        definition = importlib.import_module(f"services.{service}.app").definition()
        assert sorted(s.topic for s in definition.subscriptions) == sorted(
            topics_consumed_by(service)
        ), service


def test_committed_schemas_match_the_models() -> None:
    assert check_drift() == []


def test_drift_is_detected(tmp_path: Path) -> None:
    shutil.copytree(tools.ROOT / "schemas", tmp_path / "schemas")
    path = tmp_path / "schemas" / "esb.card.transaction.v1.json"
    schema = json.loads(path.read_text())
    schema["properties"]["amount_cents"]["description"] = "edited by hand"
    path.write_text(json.dumps(schema))
    expected = (
        "schemas/esb.card.transaction.v1.json: differs from the models "
        "(run `loyalty contracts gen`)"
    )
    assert check_drift(tmp_path) == [expected]


def test_current_schemas_are_compatible_with_the_released_ones() -> None:
    assert check_compatibility() == []


def _mutated(topic: str) -> tuple[dict, dict]:
    released = schema_for(topic)
    return released, copy.deepcopy(released)


def test_removing_a_field_is_breaking() -> None:
    old, new = _mutated("loyalty.points.posted.v1")
    del new["properties"]["expires_at"]
    new["required"].remove("expires_at")
    assert breaking_changes(old, new) == ["expires_at: field removed (old messages carry it)"]


def test_adding_a_required_field_is_breaking_and_an_optional_one_is_not() -> None:
    old, new = _mutated("esb.card.transaction.v1")
    new["properties"]["loyalty_tag"] = {"type": "string"}
    assert breaking_changes(old, new) == []
    new["required"].append("loyalty_tag")
    assert breaking_changes(old, new) == ["loyalty_tag: new required field (old messages lack it)"]


def test_changing_a_type_is_breaking() -> None:
    old, new = _mutated("esb.card.transaction.v1")
    new["properties"]["amount_cents"] = {"type": "string"}
    assert any("amount_cents: type changed" in p for p in breaking_changes(old, new))


def test_dropping_an_enum_value_is_breaking_and_adding_one_is_not() -> None:
    old, new = _mutated("esb.card.transaction.v1")
    new["properties"]["status"]["enum"] = ["authorized", "posted", "reversed", "held"]
    assert breaking_changes(old, new) == []
    new["properties"]["status"]["enum"] = ["authorized", "posted"]
    assert breaking_changes(old, new) == ["status: enum values removed: ['reversed']"]


def test_making_an_optional_field_required_is_breaking() -> None:
    old, new = _mutated("loyalty.redemption.requested.v1")
    new["required"].append("points")
    assert "points: optional field became required" in breaking_changes(old, new)


def test_tightening_a_limit_is_breaking() -> None:
    old, new = _mutated("esb.card.transaction.v1")
    new["properties"]["descriptor"]["maxLength"] = 30
    assert breaking_changes(old, new) == ["descriptor: maxLength tightened to 30"]


def test_a_breaking_change_against_a_released_copy_fails_the_check(tmp_path: Path) -> None:
    shutil.copytree(tools.ROOT / "released", tmp_path / "released")
    path = tmp_path / "released" / "loyalty.points.posted.v1.json"
    released = json.loads(path.read_text())
    released["properties"]["legacy_field"] = {"type": "string"}  # released, later removed
    path.write_text(json.dumps(released))
    assert check_compatibility(tmp_path) == [
        "loyalty.points.posted.v1: legacy_field: field removed (old messages carry it)"
    ]


def test_committed_asyncapi_documents_match_the_services() -> None:
    from shared.asyncapi import asyncapi_document, check_asyncapi

    assert check_asyncapi() == []
    document = asyncapi_document("redemption")
    operations = {(op["action"], op["channel"]["$ref"]) for op in document["operations"].values()}
    assert ("receive", "#/channels/loyalty_redemption_requested_v1") in operations
    assert ("send", "#/channels/loyalty_redemption_decided_v1") in operations
