"""`loyalty debit-orders import|export` as an operator runs them, on a real Postgres.

The commands run in a subprocess (`shared.cli.main`) against the session's migrated
Postgres; nothing else of the platform needs to run: import writes the outbox, export reads
the gateway's own tables.
"""

from __future__ import annotations

import csv
import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from services.debit_orders.codec import Value
from services.debit_orders.doexec import write_doexec
from services.debit_orders.files import EXECUTED_TOPIC
from services.debit_orders.lycred import read_lycred
from shared.infra.embedded import Endpoints
from tests.support import messages as m
from tests.support.cli import loyalty
from tests.support.db import execute
from tests.support.kafka import published

pytestmark = pytest.mark.integration

# A debit order is known by its run date and sequence number (the interface): each file here
# has a run date of its own, so its records never collide with another test's downstream.
RUN = date(2026, 9, 1)
BAD_RUN = date(2026, 9, 2)
OTHER_RUN = date(2026, 9, 3)


def detail(seq: int, customer: str, amount: int) -> dict[str, Value]:
    return {
        "DOD-SEQUENCE-NO": seq, "DOD-CUSTOMER-NO": customer, "DOD-ACCOUNT-NO": 4071234567 + seq,
        "DOD-USER-CODE": "DSTV", "DOD-USER-SHORT-NAME": "MultiChoic",
        "DOD-USER-REFERENCE": f"SUB-{seq}", "DOD-ACTION-DATE": RUN, "DOD-AMOUNT": amount,
        "DOD-CURRENCY": "ZAR", "DOD-STATUS": "00", "DOD-ENTRY-CLASS": 1,
        "DOD-ORIG-SEQUENCE-NO": 0, "DOD-ORIG-RUN-DATE": None,
    }  # fmt: skip


def test_help_shows_the_issue_s_command_shapes(endpoints: Endpoints) -> None:
    export = loyalty(endpoints, "debit-orders", "export", "--help")
    assert export.returncode == 0
    assert "[--cut-off DATE]" in export.stdout
    assert "OUT" in export.stdout
    assert "--directory" not in export.stdout  # the old spelling is hidden
    imp = loyalty(endpoints, "debit-orders", "import", "--help")
    assert "--json" in imp.stdout
    assert "exit status" in imp.stdout


async def test_import_json_summary_per_file(
    pg_admin_url: str, endpoints: Endpoints, tmp_path: Path
) -> None:
    customer = m.customer_no()
    file_id = f"J{customer[-12:]}"
    good = tmp_path / "good.dat"
    write_doexec(good, file_id=file_id, run_date=RUN, details=[
        detail(1, customer, 10_000), detail(2, customer, 2_500), detail(3, customer, 700),
    ])  # fmt: skip
    data = bytearray(good.read_bytes())
    data[3 * 150 + 77 : 3 * 150 + 79] = "ZZ".encode("cp037")  # record 4: unknown status
    good.write_bytes(bytes(data))
    bad = tmp_path / "bad.dat"
    write_doexec(bad, file_id=f"K{customer[-12:]}", run_date=BAD_RUN,
                 details=[detail(1, customer, 100)])  # fmt: skip
    bad.write_bytes(bad.read_bytes()[:-150])  # no trailer

    first = loyalty(endpoints, "debit-orders", "import", str(good), str(bad), "--json")
    assert first.returncode == 2, first.stdout + first.stderr  # the worst of 1 and 2
    summary = json.loads(first.stdout)
    assert summary["exit_status"] == 2
    applied, rejected = summary["files"]
    assert applied == {
        "path": str(good), "file_id": file_id, "status": "applied_with_rejects",
        "run_date": RUN.isoformat(), "records_read": 5, "details": 3, "published": 2,
        "rejected": 1, "total_amount_cents": 13_200, "published_amount_cents": 12_500,
        "hash_total": 3 * 4071234567 + 6, "exit_status": 1,
        "rejects": [{"record_no": 4, "field": "DOD-STATUS",
                     "reason": "'ZZ' is not one of ('00', '02', '04', '30', 'RV')",
                     "bytes": "e9e9"}],
    }  # fmt: skip
    assert rejected["status"] == "rejected"
    assert rejected["exit_status"] == 2
    assert "missing trailer" in rejected["reason"]
    assert rejected["published"] == 0
    put_out = await published(
        endpoints.kafka_bootstrap, pg_admin_url, "debit_orders", EXECUTED_TOPIC,
        id_prefix=f"DOEXEC:{file_id}:", expect=2,
    )  # fmt: skip
    assert len(put_out) == 2

    report = tmp_path / "rejects.csv"
    again = loyalty(endpoints, "debit-orders", "import", str(good), "--json", "--report",
                    str(report))  # fmt: skip
    assert again.returncode == 3
    (repeat,) = json.loads(again.stdout)["files"]
    assert (repeat["file_id"], repeat["status"], repeat["published"]) == (
        file_id, "already_received", 0,
    )  # fmt: skip


async def test_import_report_path_in_json(endpoints: Endpoints, tmp_path: Path) -> None:
    customer = m.customer_no()
    path = tmp_path / "one.dat"
    write_doexec(path, file_id=f"R{customer[-12:]}", run_date=OTHER_RUN,
                 details=[detail(1, customer, 100), detail(2, customer, 200)])  # fmt: skip
    data = bytearray(path.read_bytes())
    data[2 * 150 + 59 : 2 * 150 + 67] = "20260231".encode("cp037")  # record 3: 31 February
    path.write_bytes(bytes(data))
    report = tmp_path / "rejects.csv"
    done = loyalty(endpoints, "debit-orders", "import", str(path), "--json", "--report",
                   str(report))  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    (one,) = json.loads(done.stdout)["files"]
    assert one["report"] == str(report)
    assert "rejects" not in one
    rows = list(csv.DictReader(report.open(encoding="utf-8")))
    assert [(r["record_no"], r["field"]) for r in rows] == [("3", "DOD-ACTION-DATE")]


async def _payout(url: str, customer: str, cents: int, at: datetime) -> str:
    payout_id = m.new_id("payout")
    await execute(
        url,
        "INSERT INTO debit_orders.payouts (payout_id, customer_no, account_no, amount_cents, "
        "currency, reference, narrative, language, requested_at) "
        "VALUES ($1, $2, '4071234567', $3, 'ZAR', $4, 'Rewards cash back', 'en', $5)",
        payout_id, customer, cents, f"LY{payout_id[-18:]}", at,
    )  # fmt: skip
    return payout_id


async def test_export_cut_off_date_means_the_whole_day(
    pg_admin_url: str, endpoints: Endpoints, tmp_path: Path
) -> None:
    customer = m.customer_no()
    last_moment = datetime(2001, 3, 4, 23, 59, 59, 500_000, tzinfo=UTC)
    await _payout(pg_admin_url, customer, 1_000, last_moment)
    await _payout(pg_admin_url, customer, 2_000, datetime(2001, 3, 5, tzinfo=UTC))

    empty = loyalty(endpoints, "debit-orders", "export", "--cut-off", "2001-03-01",
                    str(tmp_path / "empty.dat"))  # fmt: skip
    assert empty.returncode == 0, empty.stderr
    _, none, zero = read_lycred((tmp_path / "empty.dat").read_bytes())
    assert none == []
    assert (zero["LYT-RECORD-COUNT"], zero["LYT-TOTAL-CREDITS"], zero["LYT-HASH-TOTAL"]) == (
        0, 0, 0,
    )  # fmt: skip

    out = tmp_path / "outbound"  # does not exist yet: the trailing separator makes it a directory
    first = loyalty(endpoints, "debit-orders", "export", "--cut-off", "2001-03-04",
                    f"{out}{os.sep}", "--json")  # fmt: skip
    assert first.returncode == 0, first.stderr
    written = json.loads(first.stdout)
    assert written["file_id"] == "LY20010304235959"
    first_file = out / "LY20010304235959.lycred"
    assert written["path"] == str(first_file)
    header, details, _ = read_lycred(first_file.read_bytes())
    assert header["LYH-FILE-ID"] == "LY20010304235959"
    assert [(d["LYD-CUSTOMER-NO"], d["LYD-AMOUNT"]) for d in details] == [(customer, 1_000)]
    assert (written["credits"], written["credit_cents"]) == (1, 1_000)

    # The same cut-off again, as a timestamp and into a named file: the very same bytes.
    again = tmp_path / "again.dat"
    same = loyalty(endpoints, "debit-orders", "export", "--cut-off", "2001-03-04", str(again))
    assert same.returncode == 0, same.stderr
    assert again.read_bytes() == first_file.read_bytes()

    # The next day's file holds the next payout, and not the first one again.
    nxt = loyalty(endpoints, "debit-orders", "export", "--cut-off",
                  "2001-03-05T02:00:00+02:00", str(out))  # fmt: skip
    assert nxt.returncode == 0, nxt.stderr
    _, later, _ = read_lycred((out / "LY20010305000000.lycred").read_bytes())
    assert [(d["LYD-CUSTOMER-NO"], d["LYD-AMOUNT"]) for d in later] == [(customer, 2_000)]

    # The deprecated spelling still works.
    old = loyalty(endpoints, "debit-orders", "export", "--cutoff", "2001-03-05T00:00:00",
                  "--directory", str(tmp_path / "old"))  # fmt: skip
    assert old.returncode == 0, old.stderr
    assert (tmp_path / "old" / "LY20010305000000.lycred").read_bytes() == (
        out / "LY20010305000000.lycred"
    ).read_bytes()

    bad = loyalty(endpoints, "debit-orders", "export", "--cut-off", "4 March", str(out))
    assert bad.returncode == 2
    assert "bad --cut-off" in bad.stderr
