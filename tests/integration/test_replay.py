"""`loyalty replay SERVICE`: history from the topics into a fresh database, nothing published."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
from sqlalchemy.engine import make_url

from shared.infra.embedded import Endpoints
from tests.support import messages as m
from tests.support.db import eventually, fetch, fetchval, wallet_points
from tests.support.kafka import Bank

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

CLI = (sys.executable, "-c", "from shared.cli import main; main()")


async def _earnings(url: str, customers: list[str]) -> list[tuple[str, str, str]]:
    rows = await fetch(
        url,
        "SELECT customer_no, source_transaction_id, currency FROM accrual.earnings "
        "WHERE customer_no = ANY($1::text[]) ORDER BY 1, 2, 3",
        customers,
    )
    return [(r["customer_no"], r["source_transaction_id"], r["currency"]) for r in rows]


async def test_replaying_accrual_rebuilds_its_earnings_and_publishes_nothing(
    platform, endpoints: Endpoints, pg_admin_url: str
) -> None:
    customers = [m.customer_no() for _ in range(3)]
    async with Bank(endpoints.kafka_bootstrap) as bank:
        for number, customer in enumerate(customers):
            await bank.publish("esb.customer.updated.v1", m.customer_created(customer), customer)
            for amount in range(number + 1):
                purchase = m.card_posted(customer, 10_000 * (amount + 1))
                await bank.publish("esb.card.transaction.v1", purchase, customer)
    expected = {customers[0]: 10, customers[1]: 30, customers[2]: 60}
    for customer, points in expected.items():
        assert (
            await eventually(wallet_points(pg_admin_url, customer), lambda b, p=points: b == p)
            == points
        )
    live = await _earnings(pg_admin_url, customers)
    assert len(live) == 6 * 2  # six purchases, points and tier points

    env = {
        **os.environ,
        "LOYALTY_INFRA_MODE": "embedded",
        "LOYALTY_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
        "LOYALTY_DATABASE_URL": pg_admin_url,
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [*CLI, "replay", "accrual", "--database", "loyalty_replay_test", "--drop-existing",
         "--timeout", "600", "--json"],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["messages"] >= 6
    assert summary["messages_per_second"] > 0

    replay_url = make_url(pg_admin_url).set(database="loyalty_replay_test")
    replayed = await _earnings(replay_url.render_as_string(hide_password=False), customers)
    assert replayed == live
    # Its relay was off: the wallet saw no second copy of any posting.
    for customer, points in expected.items():
        assert await wallet_points(pg_admin_url, customer)() == points
    unsent = await fetchval(
        replay_url.render_as_string(hide_password=False),
        "SELECT count(*) FROM accrual.outbox",
    )
    assert unsent >= len(live)


def test_replay_refuses_an_existing_database(endpoints: Endpoints, pg_admin_url: str) -> None:
    env = {
        **os.environ,
        "LOYALTY_INFRA_MODE": "embedded",
        "LOYALTY_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
        "LOYALTY_DATABASE_URL": pg_admin_url,
    }
    done = subprocess.run(
        [*CLI, "replay", "accrual", "--database", "postgres"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "database postgres exists" in done.stderr
