"""A small `loyalty bench e2e` run: every transaction lands in the wallet exactly once.

The benchmark is a command; this is its story at a size a test can afford. It asserts the
accounting, never the timing.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from services.accrual import programmes
from services.accrual.programmes import default_document
from services.accrual.rules.document import ProgrammeDoc
from shared.bench.e2e import E2EOptions, run_e2e
from shared.bench.report import summary_text
from shared.bench.verify import verify_exactly_once
from shared.bench.workload import Workload
from shared.db.engine import create_engine
from shared.infra.embedded import Endpoints
from shared.settings import SERVICES
from tests.support.db import eventually, fetchval
from tests.support.processes import ServiceProcess

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

TRANSACTIONS = 2_000
PARTNER = "bench_gym"


async def _load_partner(endpoints: Endpoints, url: str, tmp_path: Path) -> None:
    """A partner that collects debit orders and accepts points, loaded the operators' way."""
    csv = tmp_path / "vendors.csv"
    csv.write_text(
        "vendor_id,name,category,partner,accepts_redemptions,merchant_ids,user_codes,aliases\n"
        f"{PARTNER},Bench Gym,fitness,true,true,,BGY1|BGY2,\n"
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
            url, "SELECT count(*) FROM redemption.vendors WHERE vendor_id = $1", PARTNER
        ),
        lambda n: n == 1,
    )


async def _latest(url: str) -> ProgrammeDoc | None:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return await programmes.latest_document(conn)
    finally:
        await engine.dispose()


async def test_a_small_run_earns_every_transaction_exactly_once_and_answers_every_request(
    platform: dict[str, ServiceProcess], endpoints: Endpoints, pg_admin_url: str, tmp_path: Path
) -> None:
    await _load_partner(endpoints, pg_admin_url, tmp_path)
    before = await _latest(pg_admin_url)
    try:
        await _small_run(endpoints, pg_admin_url)
    finally:
        await _store(pg_admin_url, before)


async def _store(url: str, doc: ProgrammeDoc | None) -> None:
    """Put back the programme that was in force (the bench stored the flat rule)."""
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await programmes.store(
                conn, doc or default_document(),
                source="test", actor="test_bench", note="after the bench",
            )  # fmt: skip
    finally:
        await engine.dispose()


async def _small_run(endpoints: Endpoints, pg_admin_url: str) -> None:
    options = E2EOptions(
        transactions=TRANSACTIONS,
        customers=500,
        redeem_rate=40,
        redeemers=50,
        sample_interval_s=0.5,
    )
    report = await run_e2e(options, endpoints)

    # The run found the partner's debit-order codes and sent debit orders among the rest.
    assert ["BGY1", "BENCH GYM"] in report["catalogue"]["debit_order_originators"]
    assert PARTNER in report["catalogue"]["redemption_vendors"]
    assert len(report["published"]["by_topic"]) == 3

    check = report["exactly_once"]
    assert check["ok"], check["problems"]
    # The expectation: the flat launch rule, stored by the run, rated by accrual's engine.
    expected = check["expected"]
    assert expected["exact"], expected["reasons"]
    assert expected["programme"]["name"] == "Launch rule (flat)"
    assert expected["transactions"] == TRANSACTIONS
    for currency in ("points", "tier_points"):
        row = check["currencies"][currency]
        assert row["postings"] == row["distinct_transactions"] == TRANSACTIONS
        assert row["expected_postings"] == row["accrual_postings"] == TRANSACTIONS
        assert row["points_credited"] == row["accrual_points"] == row["points_in_lots"]
        assert row["accrual_points"] == row["expected_points"] >= TRANSACTIONS
    assert report["end_to_end"]["landed"] == TRANSACTIONS
    assert report["end_to_end"]["complete"]
    assert report["ok"]

    # Every redemption request got its decision, read back by request id.
    redemptions = report["redemptions"]
    assert redemptions["sent"] > 0
    assert redemptions["decided"] == redemptions["sent"]
    assert redemptions["send_failed"] == 0
    assert redemptions["outcomes"].get("declined:vendor_not_accepted", 0) == 0

    # The raw ceiling read exactly the run's bank messages and left no scratch schema behind.
    assert report["ceiling"]["messages"] == report["ceiling"]["expected"] >= TRANSACTIONS
    assert report["ceiling"]["rows_stored"] == report["ceiling"]["messages"]
    leftovers = await fetchval(
        pg_admin_url,
        "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'bench_ceiling%'",
    )
    assert leftovers == 0

    # Lag was sampled for every consuming service, memory for every service process.
    assert {"vendor_matching", "accrual", "redemption", "customer_profile"} <= set(report["hops"])
    assert set(SERVICES) <= set(report["resources"])
    assert "verdict     OK" in summary_text(report)

    # The same check fails when the books and the expectation disagree.
    points = check["currencies"]["points"]["accrual_points"]
    workload = Workload(run=report["run"], transactions=TRANSACTIONS, customers=500, redeemers=0)
    doctored = expected | {
        "currencies": expected["currencies"]
        | {"points": expected["currencies"]["points"] | {"points": points + 1}}
    }
    one_more = Workload(
        run=report["run"], transactions=TRANSACTIONS + 1, customers=500, redeemers=0
    )
    conn = await asyncpg.connect(pg_admin_url)
    try:
        wrong_points = await verify_exactly_once(conn, workload, expected=doctored)
        missing = await verify_exactly_once(conn, one_more)
    finally:
        await conn.close()
    assert not wrong_points["ok"]
    wanted = (
        f"points: the programme gives {TRANSACTIONS} postings of {points + 1} points in all, "
        f"accrual earned {TRANSACTIONS} of {points}"
    )
    assert wrong_points["problems"] == [wanted]
    assert not missing["ok"]
    assert (
        f"points: {TRANSACTIONS} postings in the wallet, expected {TRANSACTIONS + 1}"
        in (missing["problems"])
    )
    failed = summary_text(report | {"ok": False, "exactly_once": wrong_points})
    assert "exactly once FAILED" in failed
    assert "verdict     FAILED" in failed
