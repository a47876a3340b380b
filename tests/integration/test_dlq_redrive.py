"""`loyalty dlq list|redrive`: dead letters are listed, and re-driven once, with one effect."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import orjson
import pytest

from shared.infra.embedded import Endpoints
from tests.support import messages as m
from tests.support.db import eventually, wallet_points
from tests.support.kafka import Bank

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

CARD = "esb.card.transaction.v1"
CLI = (sys.executable, "-c", "from shared.cli import main; main()")


def _loyalty(endpoints: Endpoints, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LOYALTY_INFRA_MODE": "external",
        "LOYALTY_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
        "LOYALTY_DATABASE_URL": "postgresql://unused@127.0.0.1:1/none",
    }
    return subprocess.run(
        [*CLI, *argv], env=env, capture_output=True, text=True, timeout=120, check=False
    )


async def test_a_dead_letter_is_redriven_once_and_applied_once(
    platform, endpoints: Endpoints, pg_admin_url: str
) -> None:
    customer = m.customer_no()
    applied = m.card_posted(customer, 30_000)  # already applied before it is re-driven
    lost = m.card_posted(customer, 70_000)  # dead-lettered, say, during an outage
    async with Bank(endpoints.kafka_bootstrap) as bank:
        await bank.publish("esb.customer.updated.v1", m.customer_created(customer), customer)
        await bank.publish(CARD, applied, customer)
        assert await eventually(wallet_points(pg_admin_url, customer), lambda b: b == 30) == 30
        for payload in (applied, lost):
            await bank.producer.send_and_wait(
                f"{CARD}.dlq",
                value=orjson.dumps(payload),
                key=customer.encode(),
                headers=[
                    ("dlq.source_topic", CARD.encode()),
                    ("dlq.source_partition", b"0"),
                    ("dlq.source_offset", b"0"),
                    ("dlq.reason", b"transient_exhausted: database was down"),
                    ("dlq.service", b"vendor_matching"),
                ],
            )

    listed = _loyalty(endpoints, "dlq", "list", f"{CARD}.dlq", "--json")
    assert listed.returncode == 0, listed.stderr
    mine = [d for d in json.loads(listed.stdout) if d["key"] == customer]
    assert [d["reason"] for d in mine] == ["transient_exhausted: database was down"] * 2

    dry = _loyalty(endpoints, "dlq", "redrive", f"{CARD}.dlq", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["redriven"] == 0
    assert await wallet_points(pg_admin_url, customer)() == 30

    first = _loyalty(endpoints, "dlq", "redrive", f"{CARD}.dlq", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["redriven"] >= 2
    # The one already applied has no second effect (inbox); the lost one is applied now.
    assert await eventually(wallet_points(pg_admin_url, customer), lambda b: b == 100) == 100

    again = _loyalty(endpoints, "dlq", "redrive", f"{CARD}.dlq", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["considered"] == 0
    assert await wallet_points(pg_admin_url, customer)() == 100


def test_an_unknown_topic_is_refused_with_a_hint(endpoints: Endpoints) -> None:
    done = _loyalty(endpoints, "dlq", "redrive", CARD)
    assert done.returncode == 2
    assert f"did you mean {CARD}.dlq" in done.stderr
