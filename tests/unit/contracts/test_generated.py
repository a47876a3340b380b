"""Generated artefacts: committed files match the models, drift is detected, AsyncAPI
documents are whole, the CLI generates and checks, the README shows the catalogue."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from contracts import cli, tools
from contracts.generate import asyncapi_document, generate_schemas, topic_catalogue_markdown
from contracts.registry import SERVICES, TOPICS, topics_consumed_by, topics_produced_by

REPOSITORY = tools.ROOT.parent


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the committed contracts directory to tamper with."""
    for directory in ("schemas", "asyncapi", "released"):
        shutil.copytree(tools.ROOT / directory, tmp_path / directory)
    return tmp_path


def test_committed_files_match_the_models() -> None:
    assert tools.check_drift() == []


def test_a_schema_per_topic() -> None:
    schemas = generate_schemas()
    assert list(schemas) == list(TOPICS)
    card = schemas["esb.card.transaction.v1"]
    assert card["x-topic"] == {
        "name": "esb.card.transaction.v1",
        "version": 1,
        "key": "customer_no",
        "compatibility": "BACKWARD",
    }
    assert card["properties"]["amount_cents"] == {
        "description": "Amount in the currency's minor unit (cents); never a float.",
        "examples": [25050],
        "exclusiveMinimum": 0,
        "title": "Amount Cents",
        "type": "integer",
    }


def test_every_field_documents_itself() -> None:
    def fields(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        models = [schema, *schema.get("$defs", {}).values()]
        return [(n, f) for m in models for n, f in m.get("properties", {}).items()]

    for topic, schema in generate_schemas().items():
        for name, field in fields(schema):
            assert field.get("description"), f"{topic}.{name}: no description"
            assert field.get("examples"), f"{topic}.{name}: no examples"


def test_drift_is_detected_when_a_committed_schema_is_edited(copy: Path) -> None:
    assert tools.check_drift(copy) == []
    path = copy / "schemas" / "esb.card.transaction.v1.json"
    schema = json.loads(path.read_text())
    schema["properties"]["amount_cents"]["description"] = "edited by hand"
    path.write_text(json.dumps(schema))
    problem = "differs from the models (run `loyalty contracts gen`)"
    assert tools.check_drift(copy) == [f"schemas/esb.card.transaction.v1.json: {problem}"]


def test_drift_is_detected_for_missing_and_stray_files(copy: Path) -> None:
    (copy / "asyncapi" / "accrual.json").unlink()
    (copy / "schemas" / "esb.card.transaction.v0.json").write_text("{}\n")
    assert tools.check_drift(copy) == [
        "asyncapi/accrual.json: missing (run `loyalty contracts gen`)",
        "schemas/esb.card.transaction.v0.json: not generated from the registry (remove it)",
    ]


def test_write_all_generates_everything_once(tmp_path: Path) -> None:
    written = tools.write_all(tmp_path)
    assert len(written) == len(TOPICS) + len(SERVICES)
    assert tools.check_drift(tmp_path) == []
    assert tools.write_all(tmp_path) == []  # nothing left to write
    text = (tmp_path / "schemas" / "esb.card.transaction.v1.json").read_text()
    assert text.endswith("}\n")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_current_schemas_are_compatible_with_the_released_ones() -> None:
    assert tools.check_compatibility() == []


def test_a_breaking_change_against_a_released_copy_fails_the_check(copy: Path) -> None:
    path = copy / "released" / "loyalty.points.posted.v1.json"
    released = json.loads(path.read_text())
    released["properties"]["legacy_field"] = {"type": "string"}  # released, later removed
    path.write_text(json.dumps(released))
    (copy / "released" / "loyalty.vendor.changed.v1.json").unlink()
    assert tools.check_compatibility(copy) == [
        "loyalty.points.posted.v1: legacy_field: field removed (old messages carry it)",
        "loyalty.vendor.changed.v1: no released baseline in released/",
    ]


def test_release_freezes_a_compatible_schema_and_refuses_a_breaking_one(copy: Path) -> None:
    path = copy / "released" / "loyalty.points.posted.v1.json"
    path.unlink()
    assert tools.release("loyalty.points.posted.v1", copy) == path
    assert tools.check_compatibility(copy) == []
    released = json.loads(path.read_text())
    released["properties"]["legacy_field"] = {"type": "string"}
    path.write_text(json.dumps(released))
    with pytest.raises(ValueError, match="legacy_field: field removed"):
        tools.release("loyalty.points.posted.v1", copy)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


@pytest.mark.parametrize("service", SERVICES)
def test_asyncapi_documents_are_whole_and_match_the_registry(service: str) -> None:
    document = asyncapi_document(service)
    assert document["asyncapi"] == "3.0.0"
    for ref in _refs(document):
        assert _resolve(document, ref) is not None, ref
    operations = {
        (op["action"], _resolve(document, op["channel"]["$ref"])["address"])
        for op in document["operations"].values()
    }
    expected = {("receive", t) for t in topics_consumed_by(service)}
    expected |= {("send", t) for t in topics_produced_by(service)}
    expected |= {("send", f"{t}.dlq") for t in topics_consumed_by(service)}
    assert operations == expected
    for message in document["components"]["messages"].values():
        if message["name"] != "DeadLetter":
            schema = _resolve(document, message["payload"]["$ref"])
            assert schema["type"] == "object"


def test_the_redemption_document_in_detail() -> None:
    document = json.loads((tools.ROOT / "asyncapi" / "redemption.json").read_text())
    assert document["operations"]["receive_loyalty_redemption_requested_v1"]["channel"] == {
        "$ref": "#/channels/loyalty_redemption_requested_v1"
    }
    channel = document["channels"]["loyalty_redemption_decided_v1"]
    assert channel["address"] == "loyalty.redemption.decided.v1"
    assert channel["bindings"]["kafka"]["partitions"] == 8
    payload = document["components"]["messages"]["RedemptionRequested"]["payload"]
    assert payload == {"$ref": "#/components/schemas/RedemptionRequested"}


def test_the_readme_shows_the_catalogue() -> None:
    assert topic_catalogue_markdown() in (REPOSITORY / "README.md").read_text()


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["contracts", *argv])
    code: int = args.func(args)
    return code


def test_cli_check_passes_on_the_committed_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("check") == 0
    assert capsys.readouterr().out.strip().endswith("contracts: ok")


def test_cli_check_fails_with_the_list(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (copy / "schemas" / "loyalty.points.posted.v1.json").write_text("{}\n")
    assert run("--root", str(copy), "check") == 1
    out = capsys.readouterr().out
    assert "schemas/loyalty.points.posted.v1.json: differs from the models" in out
    assert "contracts: 1 problem(s)" in out


def test_cli_gen_writes_into_a_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--root", str(tmp_path), "gen") == 0
    assert f"{len(TOPICS) + len(SERVICES)} file(s) written" in capsys.readouterr().out
    assert tools.check_drift(tmp_path) == []


def test_cli_lists_the_topics(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["TOPIC", "KEY", "PARTITIONS", "PRODUCERS", "CONSUMERS"]
    assert len(lines) == 1 + len(TOPICS)
    assert lines[1].split()[:3] == ["esb.card.transaction.v1", "customer_no", "8"]
    assert run("list", "--markdown") == 0
    assert capsys.readouterr().out == topic_catalogue_markdown() + "\n"


def test_cli_runs_on_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["list"]) == 0
    assert "loyalty.points.posted.v1" in capsys.readouterr().out
