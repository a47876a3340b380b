"""`loyalty bench debit-orders` runs end to end on real Postgres and cleans up after itself.

No number is asserted (timing lives in docs/benchmarks.md): only that the import went through
the outbox for every record and that the bench's rows were removed afterwards.
"""

from __future__ import annotations

import json

import pytest

from shared.infra.embedded import Endpoints
from tests.support.cli import loyalty
from tests.support.db import fetchval

pytestmark = pytest.mark.integration


async def test_the_bench_imports_through_the_outbox_and_cleans_up(
    pg_admin_url: str, endpoints: Endpoints
) -> None:
    done = loyalty(endpoints, "bench", "debit-orders", "--records", "3000", "--repeats", "1",
                   "--json", timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["decode"]["records"] == 3000
    imported = report["import"]
    assert (imported["published"], imported["rejected"]) == (3000, 0)
    # Unpublished when the import ended: all of them, or fewer where a relay runs beside it
    # (the session's platform) and has published and deleted some.
    assert 0 <= imported["outbox_rows"] <= 3000
    assert imported["peak_rss_mib"] > 0
    left = await fetchval(
        pg_admin_url,
        "SELECT count(*) FROM debit_orders.outbox WHERE message_id LIKE $1",
        f"DOEXEC:{imported['file_id']}:%",
    )
    assert left == 0
    assert report["machine"]["nproc"] >= 1
