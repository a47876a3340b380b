"""Rules as data and retroactive re-rating, through `loyalty rules` on a real Postgres: a
corrected rule for a past period posts only the differences, and a second run nothing."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.loyalty import AdjustmentRequested, PointsPosted
from services.accrual import cli, handlers, programmes
from services.accrual.handlers import POSTED_TOPIC
from services.accrual.programmes import DEFAULT_FILE
from shared.db.engine import create_engine, runtime_url
from shared.infra.embedded import Endpoints
from shared.settings import PlatformSettings, service_settings
from tests.integration.test_accrual_handlers import SERVICE, apply, enriched, points, refund
from tests.support import messages as m
from tests.support.db import fetch
from tests.support.kafka import json_field, published, read_topic

pytestmark = pytest.mark.integration

DAY = "2026-02-10"  # no other test earns on this day: the window re-rates only this story
AT_SASOL = {"vendor_id": "sasol", "vendor_category": "fuel", "mcc": "5541",
            "transaction_at": f"{DAY}T12:00:00+02:00"}  # fmt: skip
# The launch rule should have doubled points at Sasol from the start: the correction.
CORRECTED = DEFAULT_FILE.read_text().replace(
    "    effective: {to: 2026-02-28}\n",
    "    effective: {to: 2026-02-28}\n    multipliers:\n"
    "      - {id: sasol-launch, when: {vendors: [sasol]}, factor: 2}\n",
)


@pytest.fixture
def on_test_infra(endpoints: Endpoints, pg_admin_url: str, monkeypatch) -> str:
    """`loyalty` commands reach the session's broker and database."""
    mode = PlatformSettings().mode
    monkeypatch.setenv("LOYALTY_INFRA_MODE", mode.value)  # the URLs alone would mean external
    monkeypatch.setenv("LOYALTY_KAFKA_BOOTSTRAP", endpoints.kafka_bootstrap)
    monkeypatch.setenv("LOYALTY_DATABASE_URL", pg_admin_url)
    return pg_admin_url


@pytest.fixture(autouse=True)
def shipped_programme(pg_admin_url: str) -> Iterator[None]:
    """Told under the shipped default; what was in force before is put back afterwards."""

    async def store(doc: Any) -> Any:
        engine = create_engine(pg_admin_url, pool_size=1)
        try:
            async with engine.begin() as conn:
                before = await programmes.latest_document(conn)
                if doc is not None:
                    await programmes.store(conn, doc, source="tests", actor="tests")
                return before
        finally:
            await engine.dispose()

    before = asyncio.run(store(programmes.default_document()))
    yield
    if before is not None:
        asyncio.run(store(before))


def loyalty(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="loyalty")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def run_json(capsys, *argv: str) -> dict[str, Any]:
    capsys.readouterr()
    assert loyalty(*argv, "--json") == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def rerate_postings(url: str, run_id: str, expect: int = 0) -> list[PointsPosted]:
    """The run's postings, published or still in accrual's outbox (at least `expect`)."""
    bootstrap, prefix = os.environ["LOYALTY_KAFKA_BOOTSTRAP"], f"posted:rerate:{run_id}:"
    payloads = asyncio.run(
        published(bootstrap, url, SERVICE, POSTED_TOPIC, id_prefix=prefix, expect=expect)
    )
    return [PointsPosted.model_validate_json(p) for p in payloads]


def test_a_corrected_rule_is_rerated_once_and_later_refunds_use_the_corrected_earning(
    on_test_infra: str, tmp_path: Path, capsys
) -> None:
    url = on_test_infra
    customer = m.customer_no()
    fuel = enriched(customer, 30_000, **AT_SASOL)
    other = enriched(customer, 30_000, **{**AT_SASOL, "vendor_id": "shell"})
    earned = earn(url, fuel, other, refund(customer, fuel, 15_000))
    assert points(earned) == [("earn", 30), ("earn", 30), ("reversal", -15)]

    corrected = tmp_path / "corrected.yaml"
    corrected.write_text(CORRECTED)
    assert loyalty("rules", "load", str(corrected), "--actor", "ops.test", "--note", "Sasol") == 0
    out = capsys.readouterr().out
    assert "rule card-points-2025 v2 (changed)" in out
    listing = run_json(capsys, "rules", "list")
    assert listing["versions"][-1]["note"] == "Sasol"
    standard = listing["current"]["agreements"][0]
    assert {"id": "card-points-2025", "version": 2} in [
        {"id": r["id"], "version": r["version"]} for r in standard["rules"]
    ]

    dry = run_json(capsys, "rules", "rerate", "--from", DAY, "--to", DAY, "--dry-run")
    assert (dry["adjustments"], dry["points"]) == (1, {"points": 15})
    assert rerate_postings(url, dry["run_id"]) == []

    report = run_json(capsys, "rules", "rerate", "--from", DAY, "--to", DAY, "--actor", "ops.test")
    assert report["transactions"] == 2
    assert report["points"] == {"points": 15}
    [line] = report["lines"]
    # 60 earned instead of 30; the refund of half takes 30 instead of 15: net +15.
    assert (line["earned_delta"], line["reversed_delta"], line["points"]) == (30, 15, 15)
    [adjustment] = rerate_postings(url, report["run_id"], expect=1)
    assert (adjustment.kind, adjustment.points, adjustment.actor) == ("adjustment", 15, "ops.test")
    assert (adjustment.rule_id, adjustment.rule_version) == ("card-points-2025", 2)
    assert adjustment.source_transaction_id == fuel.transaction_id
    assert adjustment.reason is not None
    assert adjustment.reason.startswith("rerate: re-rated 2026-02-10..2026-02-10")
    [row] = asyncio.run(fetch(url, "SELECT points, reason_code FROM accrual.adjustments "
                              "WHERE posting_id = $1", adjustment.posting_id))  # fmt: skip
    assert (row["points"], row["reason_code"]) == (15, "rerate")

    again = run_json(capsys, "rules", "rerate", "--from", DAY, "--to", DAY)
    assert (again["adjustments"], again["lines"]) == (0, [])
    assert rerate_postings(url, again["run_id"]) == []
    runs = asyncio.run(
        fetch(
            url,
            "SELECT adjustments FROM accrual.rerate_runs WHERE run_id = ANY($1::text[])",
            [report["run_id"], again["run_id"]],
        )
    )
    assert sorted(r["adjustments"] for r in runs) == [0, 1]

    # The other half is refunded after re-rating: it takes back half of the corrected 60.
    late = earn(url, refund(customer, fuel, 15_000))
    assert points(late) == [("reversal", -30)]


def test_simulate_reads_the_stored_programme_and_the_customers_class(
    on_test_infra: str, monkeypatch, capsys
) -> None:
    tx = enriched(m.customer_no(), 30_000, **AT_SASOL).model_dump(mode="json")
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(tx)))
    result = run_json(capsys, "rules", "simulate")
    assert result["programme"]["version"] is not None
    assert result["class"]["from"] == "programme default"
    assert result["currencies"]["points"]["rule_id"] == "card-points-2025"
    assert result["currencies"]["points"]["rule_version"] is not None


def earn(url: str, *txs):
    """One batch through the handler, in a loop of its own (this test drives the CLI)."""

    async def run():
        engine = create_engine(
            runtime_url(SERVICE, url, PlatformSettings(), service_settings(SERVICE))
        )
        try:
            return await apply(engine, handlers.post_earnings, handlers.ENRICHED_TOPIC, txs)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_an_operator_requests_an_adjustment_on_its_topic(
    on_test_infra: str, endpoints: Endpoints, capsys
) -> None:
    customer, adjustment_id = m.customer_no(), m.new_id("ADJ")
    argv = ("adjust", customer, "-200", "--reason-code", "correction",
            "--reason", "double earning", "--actor", "ops.jane", "--id", adjustment_id)  # fmt: skip
    assert loyalty(*argv) == 0
    assert f"adjustment {adjustment_id} requested: -200 points" in capsys.readouterr().out
    [record] = asyncio.run(
        read_topic(
            endpoints.kafka_bootstrap,
            handlers.ADJUSTMENT_TOPIC,
            json_field("adjustment_id", adjustment_id),
        )
    )
    assert record.key == customer.encode()
    request = AdjustmentRequested.model_validate_json(record.value)
    assert (request.points, request.actor, request.reason_code) == (-200, "ops.jane", "correction")
    assert loyalty("adjust", customer, "0", "--reason-code", "x", "--reason", "y") == 2
