"""The programme file: the shipped default is valid, and a bad entry is named by its path."""

from __future__ import annotations

import pytest

from services.accrual.programmes import DEFAULT_FILE, default_document
from services.accrual.rules.loader import (
    ProgrammeError,
    compile_programme,
    digest,
    load_text,
    next_rule_versions,
)

DEFAULT = DEFAULT_FILE.read_text(encoding="utf-8")


def problems(text: str) -> list[str]:
    with pytest.raises(ProgrammeError) as caught:
        load_text(text, "test.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_shipped_programme_is_valid_and_complete() -> None:
    programme = compile_programme(default_document())
    assert programme.timezone == "Africa/Johannesburg"
    assert {a.id for a in programme.agreements} >= {"standard", "retail-gold", "business"}
    assert programme.currencies["points"].months == 24
    assert programme.currencies["tier_points"].months is None
    events = {r.event for r in programme.rules().values()}
    assert {"card_purchase", "eft_payment", "debit_order"} <= events


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("factor: 1.5", "factor: -1"),
         "rules[2](card-points-gold).multipliers[0](partners).factor: Input should be greater"),
        (("rules: [card-points-gold, card-tier", "rules: [card-points-gould, card-tier"),
         "agreements[1](retail-gold).rules[0]: unknown rule 'card-points-gould'"),
        (("event: eft_payment", "event: eft"), "rules[7](eft-points).event: Input should be"),
        (("    rate: {points: 3, per_amount_cents: 2000}\n", ""),
         "rules[4](card-points-premier).rate: Field required"),
        (("cap_per_transaction: 25000", "cap_per_transactoin: 25000"),
         "rules[4](card-points-premier).cap_per_transactoin: Extra inputs are not permitted"),
        (('"4829", ', '"48x9", '), "exclusions[3](cash-and-quasi-cash).when.mccs[0]: String"),
        (("timezone: Africa/Johannesburg", "timezone: Africa/Jhb"), "unknown time zone"),
        (("effective: {from: 2026-11-27, to: 2026-11-30}", "effective: {from: 2026-11-27}"),
         "a promotion runs between two dates"),
    ],
)  # fmt: skip
def test_a_bad_entry_is_reported_with_its_path(change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in DEFAULT
    found = problems(DEFAULT.replace(old, new, 1))
    assert any(expected in p for p in found), found


def test_agreements_serving_the_same_class_on_the_same_days_are_refused() -> None:
    found = problems(DEFAULT.replace("tiers: [platinum]", "tiers: [gold]"))
    assert found == [
        (
            "agreements[2](retail-platinum): serves the same customers on the same dates as "
            "agreements[1](retail-gold) with equal specificity: narrow its segments, tiers or dates"
        )
    ]


def test_two_rules_for_one_event_and_currency_may_not_overlap_in_an_agreement() -> None:
    found = problems(DEFAULT.replace("effective: {to: 2026-02-28}", "effective: {to: 2026-03-01}"))
    assert len(found) == 1
    assert found[0].startswith("agreements[0](standard).rules: rules 'card-points-2025' and ")
    assert "2026-03-01..open" in found[0]


def test_invalid_yaml_points_at_the_line() -> None:
    [problem] = problems("programme: x\nrules: [a, b\n")
    assert problem.startswith("line 3, column 1: not valid YAML")


def test_every_problem_is_reported_at_once() -> None:
    text = DEFAULT.replace("factor: 1.5", "factor: 0").replace("event: eft_payment", "event: x")
    assert len(problems(text)) == 2


def test_merchant_category_codes_may_be_written_as_numbers() -> None:
    doc = load_text(DEFAULT.replace('"4829", ', "4829, "))
    assert doc.exclusions[3].when.mccs is not None
    assert doc.exclusions[3].when.mccs[0] == "4829"


def test_a_rule_version_moves_only_when_its_content_changes() -> None:
    before = load_text(DEFAULT)
    stored = {r.id: (3, digest(r)) for r in before.rules}
    after = load_text(DEFAULT.replace("factor: 1.5", "factor: 1.75"))
    versions = next_rule_versions(after, stored)
    assert versions["card-points-gold"] == 4
    assert {v for r, v in versions.items() if r != "card-points-gold"} == {3}
    # Layout and key order are not content.
    assert digest(load_text(DEFAULT.replace("    rounding: down\n", ""))) == digest(before)
