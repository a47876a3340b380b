"""BACKWARD compatibility: each kind of change, made to a copy of a released schema."""

from __future__ import annotations

import copy
import json
from typing import Any

from contracts.compatibility import breaking_changes
from contracts.tools import ROOT


def released(topic: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The released baseline, and a copy of it to change."""
    baseline = json.loads((ROOT / "released" / f"{topic}.json").read_text())
    return baseline, copy.deepcopy(baseline)


def test_no_change_is_compatible() -> None:
    old, new = released("esb.customer.updated.v1")
    assert breaking_changes(old, new) == []


def test_descriptions_and_examples_do_not_matter() -> None:
    old, new = released("esb.card.transaction.v1")
    new["properties"]["descriptor"]["description"] = "Another wording."
    new["properties"]["descriptor"]["examples"] = ["PNP FAMILY MENLYN PTA ZA"]
    assert breaking_changes(old, new) == []


def test_removing_a_field_is_breaking() -> None:
    old, new = released("loyalty.points.posted.v1")
    del new["properties"]["expires_at"]
    new["required"].remove("expires_at")
    assert breaking_changes(old, new) == ["expires_at: field removed (old messages carry it)"]


def test_removing_a_field_of_a_bank_message_is_breaking_too() -> None:
    old, new = released("esb.card.transaction.v1")  # open to unknown fields
    del new["properties"]["card_ref"]
    new["required"].remove("card_ref")
    assert breaking_changes(old, new) == ["card_ref: field removed (old messages carry it)"]


def test_adding_an_optional_field_is_compatible() -> None:
    old, new = released("loyalty.points.posted.v1")
    new["properties"]["campaign_id"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert breaking_changes(old, new) == []


def test_adding_a_required_field_is_breaking() -> None:
    old, new = released("esb.card.transaction.v1")
    new["properties"]["loyalty_tag"] = {"type": "string"}
    new["required"].append("loyalty_tag")
    assert breaking_changes(old, new) == ["loyalty_tag: new required field (old messages lack it)"]


def test_changing_a_type_is_breaking() -> None:
    old, new = released("esb.card.transaction.v1")
    new["properties"]["amount_cents"] = {"type": "string"}
    assert breaking_changes(old, new) == [
        "amount_cents: type changed from ['integer'] to ['string']"
    ]


def test_widening_integer_to_number_is_compatible() -> None:
    old, new = released("loyalty.wallet.balance-changed.v1")
    new["properties"]["change"]["type"] = "number"
    assert breaking_changes(old, new) == []


def test_making_a_nullable_field_non_nullable_is_breaking() -> None:
    old, new = released("esb.card.transaction.v1")
    new["properties"]["merchant_id"] = {"type": "string"}
    assert breaking_changes(old, new) == [
        "merchant_id: type changed from ['null', 'string'] to ['string']"
    ]


def test_dropping_an_enum_value_is_breaking_and_adding_one_is_not() -> None:
    old, new = released("esb.card.transaction.v1")
    new["properties"]["status"]["enum"] = ["authorized", "posted", "reversed", "held"]
    assert breaking_changes(old, new) == []
    new["properties"]["status"]["enum"] = ["authorized", "posted"]
    assert breaking_changes(old, new) == ["status: enum values removed: ['reversed']"]


def test_turning_free_text_into_an_enum_is_breaking() -> None:
    old, new = released("loyalty.customer.profile-changed.v1")
    new["properties"]["tier"]["enum"] = ["blue", "silver", "gold"]
    assert breaking_changes(old, new) == [
        "tier: restricted to the values ['blue', 'gold', 'silver']"
    ]


def test_making_an_optional_field_required_is_breaking() -> None:
    old, new = released("loyalty.redemption.requested.v1")
    new["required"].append("points")
    assert breaking_changes(old, new) == ["points: optional field became required"]


def test_tightening_a_limit_is_breaking_and_loosening_is_not() -> None:
    old, new = released("esb.card.transaction.v1")
    new["properties"]["descriptor"]["maxLength"] = 60
    assert breaking_changes(old, new) == []
    new["properties"]["descriptor"]["maxLength"] = 30
    assert breaking_changes(old, new) == ["descriptor: maxLength tightened to 30"]


def test_tightening_a_limit_of_a_nullable_field_is_breaking() -> None:
    old, new = released("loyalty.redemption.requested.v1")
    integer = next(v for v in new["properties"]["points"]["anyOf"] if v["type"] == "integer")
    integer["exclusiveMinimum"] = 10
    assert breaking_changes(old, new) == ["points: exclusiveMinimum tightened to 10"]


def test_adding_a_pattern_or_a_format_is_breaking() -> None:
    old, new = released("esb.card.transaction.v1")
    new["properties"]["mcc"]["anyOf"][0]["pattern"] = "^[0-9]{4}$"
    new["properties"]["card_ref"]["format"] = "uuid"
    assert breaking_changes(old, new) == [
        "card_ref: format changed to 'uuid'",
        "mcc: pattern changed to '^[0-9]{4}$'",
    ]


def test_closing_an_open_message_is_breaking() -> None:
    old, new = released("esb.card.transaction.v1")
    new["additionalProperties"] = False
    assert breaking_changes(old, new) == ["<message>: unknown fields are now rejected"]


def test_changes_inside_nested_objects_and_lists_are_found() -> None:
    old, new = released("esb.customer.updated.v1")
    account = new["$defs"]["CustomerAccount"]
    account["properties"]["type"]["enum"].remove("savings")
    account["properties"]["branch_code"] = {"type": "string"}
    account["required"].append("branch_code")
    assert breaking_changes(old, new) == [
        "accounts[].type: enum values removed: ['savings']",
        "accounts[].branch_code: new required field (old messages lack it)",
    ]
