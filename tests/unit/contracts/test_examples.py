"""Every example message is valid for its model and for its committed JSON Schema, and what
the models accept and write is what the published schemas accept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema  # a dev dependency: the examples must pass the committed schemas
import pytest

from contracts.registry import TOPICS, model_for
from contracts.tools import ROOT
from tests.unit.contracts.samples import EXAMPLES, example, example_files, load_json


def validator(topic: str) -> Any:
    schema = load_json(ROOT / "schemas" / f"{topic}.json")
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_every_topic_has_an_example(topic: str) -> None:
    assert sorted((EXAMPLES / topic).glob("*.json")), f"no example for {topic}"


def test_examples_are_only_for_known_topics() -> None:
    assert {p.name for p in EXAMPLES.iterdir()} <= set(TOPICS)


@pytest.mark.parametrize("path", example_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_example_is_valid_for_its_model_and_its_committed_schema(path: Path) -> None:
    topic = path.parent.name
    model_for(topic).model_validate_json(path.read_bytes())
    validator(topic).validate(load_json(path))


@pytest.mark.parametrize("path", example_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_what_a_model_writes_its_schema_accepts(path: Path) -> None:
    topic = path.parent.name
    message = model_for(topic).model_validate_json(path.read_bytes())
    validator(topic).validate(message.model_dump(mode="json"))


@pytest.mark.parametrize(
    ("topic", "field", "value"),
    [
        ("esb.card.transaction.v1", "amount_cents", 250.5),
        ("esb.card.transaction.v1", "amount_cents", "25050"),
        ("esb.card.transaction.v1", "status", "settled"),
        ("esb.card.transaction.v1", "descriptor", "X" * 41),
        ("esb.account.transaction.v1", "account_no", "40712-34567"),
        ("esb.customer.updated.v1", "loyalty_member", "true"),
        ("loyalty.redemption.requested.v1", "points", 0),
        ("loyalty.transaction.enriched.v1", "match_confidence", 101),
    ],
)
def test_the_schema_rejects_what_the_model_rejects(topic: str, field: str, value: object) -> None:
    body = {**example(topic), field: value}
    assert not validator(topic).is_valid(body)


def test_our_own_topics_reject_unknown_fields_in_the_schema_too() -> None:
    body = {**example("loyalty.points.posted.v1"), "bonus": 5}
    assert not validator("loyalty.points.posted.v1").is_valid(body)
    bank = {**example("esb.card.transaction.v1"), "loyalty_programme_hint": "new field"}
    assert validator("esb.card.transaction.v1").is_valid(bank)
