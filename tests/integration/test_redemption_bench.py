"""A small `loyalty bench redemption` run on the whole platform: every request it sends is
decided once, from the points it granted. The story of the command, never its timing."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from services.redemption.bench import RedemptionBenchOptions, run_redemption_bench, summary_text
from shared.bench.workload import customer_no
from shared.infra.embedded import Endpoints
from tests.support.db import eventually, fetchval
from tests.support.processes import ServiceProcess

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

VENDOR = "bench_books"
REDEEMERS = 20
GRANTED = 100


async def _load_vendor(endpoints: Endpoints, url: str, tmp_path: Path) -> None:
    """A vendor that accepts points, loaded the operators' way."""
    csv = tmp_path / "vendors.csv"
    csv.write_text(
        "vendor_id,name,category,partner,accepts_redemptions,merchant_ids,user_codes,aliases\n"
        f"{VENDOR},Bench Books,books,true,true,,,\n"
    )
    env = {
        **os.environ,
        "LOYALTY_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
        "LOYALTY_DATABASE_URL": endpoints.database_url,
        "LOYALTY_INFRA_MODE": "embedded",
    }
    command = [sys.executable, "-c", "from shared.cli import main; main()"]
    done = await asyncio.to_thread(
        subprocess.run, [*command, "vendors", "import", str(csv)],
        env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    await eventually(
        lambda: fetchval(
            url, "SELECT count(*) FROM redemption.vendors WHERE vendor_id = $1", VENDOR
        ),
        lambda n: n == 1,
    )


async def test_every_request_is_decided_once_from_the_granted_points(
    platform: dict[str, ServiceProcess], endpoints: Endpoints, pg_admin_url: str, tmp_path: Path
) -> None:
    del platform  # running
    await _load_vendor(endpoints, pg_admin_url, tmp_path)
    options = RedemptionBenchOptions(
        rate=20, duration_s=3, redeemers=REDEEMERS, points=GRANTED, accrual_rate=20,
        customers=200, run=(run := f"rb{secrets.token_hex(4)}"),
    )  # fmt: skip
    report = await run_redemption_bench(options, endpoints)

    redemptions = report["redemptions"]
    assert redemptions["sent"] > 0
    assert redemptions["decided"] == redemptions["sent"]
    assert redemptions["unanswered"] == redemptions["send_failed"] == 0
    # At most 5 points a request: every redeemer's grant covers them all.
    assert redemptions["outcomes"] == {"approved": redemptions["sent"]}
    assert redemptions["latency"]["count"] == redemptions["sent"]
    # Split at the wallet's decided_at: both halves measured for every decision, and on one
    # machine's clock neither half is longer than the whole.
    way_in, way_back = redemptions["way_in"], redemptions["way_back"]
    assert way_in["count"] == way_back["count"] == redemptions["sent"]
    assert 0 < way_in["p50_ms"] <= redemptions["latency"]["max_ms"] + 1
    assert 0 < way_back["p50_ms"] <= redemptions["latency"]["max_ms"] + 1
    assert report["accruals"]["published"] > 0
    assert report["ok"]
    assert "decision latency: p50" in summary_text(report)
    assert "of which to the decision (decided_at) p50" in summary_text(report)

    # The wallet holds one decision per request, and each redeemer got its grant once.
    decided = await fetchval(
        pg_admin_url,
        "SELECT count(*) FROM redemption.redemptions WHERE request_id LIKE $1 "
        "AND outcome = 'approved'",
        f"B{run}R%",
    )
    assert decided == redemptions["sent"]
    grants = await fetchval(
        pg_admin_url,
        "SELECT count(*) FROM redemption.journal_transactions WHERE kind = 'posting' "
        "AND reference LIKE $1 AND customer_no = ANY($2::text[])",
        f"adjust:BENCH-{run}-%",
        [customer_no(k) for k in range(REDEEMERS)],
    )
    assert grants == REDEEMERS
