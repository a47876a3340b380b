"""`loyalty simulate` publishes the simulated bank to a running platform's broker."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest

from shared.infra.embedded import Endpoints
from tests.support.kafka import read_topic

pytestmark = pytest.mark.integration

CLI = (sys.executable, "-c", "from shared.cli import main; main()")


def test_simulate_publishes_seeded_customers_and_traffic_then_stops(
    endpoints: Endpoints, pg_admin_url: str
) -> None:
    env = {
        **os.environ,
        "LOYALTY_INFRA_MODE": "external",
        "LOYALTY_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
        "LOYALTY_DATABASE_URL": pg_admin_url,
    }
    done = subprocess.run(
        [*CLI, "simulate", "--rate", "40", "--customers", "30", "--seed", "7",
         "--duration", "4", "--json"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["failed"] == 0
    assert summary["customers"] == 30
    assert summary["published"] == sum(summary["published_by_topic"].values()) > 0
    # Customers are announced before they trade: every one of the 30 CIF records went out.
    assert summary["published_by_topic"]["esb.customer.updated.v1"] >= 30
    # The run id is in every id the run makes: its card traffic is on the bank's topic.
    cards = asyncio.run(
        read_topic(
            endpoints.kafka_bootstrap,
            "esb.card.transaction.v1",
            lambda r: summary["run_id"].encode() in (r.value or b""),
            timeout=20,
        )
    )
    assert cards


def test_simulate_without_infrastructure_says_so_and_exits_2(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env["LOYALTY_HOME"] = str(tmp_path)
    done = subprocess.run(
        [*CLI, "simulate", "--duration", "1"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "no infrastructure" in done.stderr


def test_simulate_refuses_a_rate_of_zero() -> None:
    done = subprocess.run(
        [*CLI, "simulate", "--rate", "0"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "must be above zero" in done.stderr
