"""`loyalty rules load --check` and `rules simulate --file`: no database needed."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from services.accrual import cli
from services.accrual.programmes import DEFAULT_FILE

ENRICHED = {
    "source": "card",
    "transaction_id": "CT20261128000001",
    "status": "posted",
    "kind": "purchase",
    "original_transaction_id": None,
    "customer_no": "100234567890",
    "account_no": None,
    "amount_cents": 25_050,
    "currency": "ZAR",
    "transaction_at": "2026-11-28T10:15:30+02:00",
    "descriptor": "MAKRO WOODMEAD",
    "mcc": "5311",
    "channel": "card",
    "direction": "debit",
    "vendor_id": "makro",
    "vendor_name": "Makro",
    "vendor_category": "retail",
    "partner": True,
    "match_method": "name",
    "match_confidence": 92,
}


def loyalty(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="loyalty")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_load_check_accepts_the_shipped_programme(capsys) -> None:
    assert loyalty("rules", "load", str(DEFAULT_FILE), "--check") == 0
    assert "valid (5 agreements, 10 rules)" in capsys.readouterr().out


def test_load_check_names_the_bad_entry(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(DEFAULT_FILE.read_text().replace("rules: [card-points-gold,", "rules: [gold,"))
    assert loyalty("rules", "load", str(bad), "--check") == 1
    err = capsys.readouterr().err
    assert f"{bad}: 1 problem(s)" in err
    assert "agreements[1](retail-gold).rules[0]: unknown rule 'gold'" in err


def test_simulate_prints_agreement_rule_version_and_points_as_json(monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(ENRICHED)))
    assert loyalty("rules", "simulate", "--json", "--file", str(DEFAULT_FILE)) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["agreement"] == "standard"
    assert result["event"] == "card_purchase"
    assert result["class"] == {"segment": "retail", "tier": "blue", "from": "programme default"}
    points = result["currencies"]["points"]
    assert (points["rule_id"], points["points"], points["promotion_id"]) == (
        "card-points-standard", 50, "black-friday-2026",
    )  # fmt: skip
    assert result["currencies"]["tier_points"]["points"] == 25
    assert points["expires_at"] == "2028-11-30"


def test_simulate_for_another_class_in_text(monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(ENRICHED)))
    assert loyalty("rules", "simulate", "--file", str(DEFAULT_FILE), "--tier", "platinum") == 0
    out = capsys.readouterr().out
    assert "agreement   retail-platinum" in out
    assert "rule card-points-platinum" in out


@pytest.mark.parametrize(
    ("stdin", "message"), [("{", "stdin is not JSON"), ('{"source": "card"}', "not an enriched")]
)
def test_simulate_rejects_what_is_not_a_transaction(monkeypatch, capsys, stdin, message) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert loyalty("rules", "simulate", "--file", str(DEFAULT_FILE)) == 2
    assert message in capsys.readouterr().err
