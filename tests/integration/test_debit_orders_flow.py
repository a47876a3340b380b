"""The batch gateway end to end: DOEXEC files in, points earned and reversed, LYCRED out."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from services.debit_orders.doexec import write_doexec
from services.debit_orders.lycred import read_lycred
from shared.infra.embedded import Endpoints
from tests.support import messages as m
from tests.support.db import eventually, fetchval
from tests.support.kafka import Bank, read_topic

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

# A debit order is known by its run date and sequence number: no other test (nor the debit-order
# bench, which uses 2026-11-20) may use this run date, or their records would be one downstream.
RUN = date(2026, 10, 14)


def loyalty(endpoints: Endpoints, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LOYALTY_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
        "LOYALTY_DATABASE_URL": endpoints.database_url,
        "LOYALTY_INFRA_MODE": "embedded",
    }
    return subprocess.run(
        [sys.executable, "-c", "from shared.cli import main; main()", *args],
        env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def detail(seq: int, customer: str, *, status: str = "00", amount: int = 69_900,
           orig: tuple[int, date] | None = None) -> dict[str, object]:  # fmt: skip
    return {
        "DOD-SEQUENCE-NO": seq, "DOD-CUSTOMER-NO": customer, "DOD-ACCOUNT-NO": 4071234567,
        "DOD-USER-CODE": "VACT", "DOD-USER-SHORT-NAME": "VIRGIN ACT",
        "DOD-USER-REFERENCE": f"{seq:06d}/04", "DOD-ACTION-DATE": RUN, "DOD-AMOUNT": amount,
        "DOD-CURRENCY": "ZAR", "DOD-STATUS": status, "DOD-ENTRY-CLASS": 1,
        "DOD-ORIG-SEQUENCE-NO": orig[0] if orig else 0,
        "DOD-ORIG-RUN-DATE": orig[1] if orig else None,
    }  # fmt: skip


async def test_debit_order_files_earn_once_reverse_and_pay_cash_back(
    platform, endpoints: Endpoints, pg_admin_url: str, tmp_path: Path
) -> None:
    customer = m.customer_no()
    file_id = f"DO{customer[-10:]}"
    vendors = tmp_path / "vendors.csv"
    vendors.write_text(
        "vendor_id,name,category,partner,accepts_redemptions,merchant_ids,user_codes,aliases\n"
        "virgin_active_t,Virgin Active,gyms,true,true,,VACT,VIRGIN ACT\n"
    )
    assert loyalty(endpoints, "vendors", "import", str(vendors)).returncode == 0

    async with Bank(endpoints.kafka_bootstrap) as bank:
        await bank.publish("esb.customer.updated.v1", m.customer_created(customer, language="af"),
                           customer)  # fmt: skip
    await eventually(
        lambda: fetchval(pg_admin_url, "SELECT count(*) FROM redemption.customers "
                         "WHERE customer_no = $1", customer),
        lambda n: n == 1,
    )  # fmt: skip

    doexec = tmp_path / "DOEXEC1.dat"
    write_doexec(doexec, file_id=file_id, run_date=RUN, details=[
        detail(1, customer), detail(2, customer, status="02"), detail(3, customer),
    ])  # fmt: skip
    data = bytearray(doexec.read_bytes())
    data[3 * 150 + 77 : 3 * 150 + 79] = "ZZ".encode("cp037")  # record 4: unknown status
    doexec.write_bytes(bytes(data))

    first = loyalty(endpoints, "debit-orders", "import", str(doexec))
    assert first.returncode == 1, first.stdout + first.stderr  # applied, one record rejected
    assert "record 4: DOD-STATUS" in first.stdout

    def points():  # type: ignore[no-untyped-def]
        return fetchval(pg_admin_url, "SELECT COALESCE(SUM(balance), 0) FROM redemption.accounts "
                        "WHERE customer_no = $1 AND currency = 'points'", customer)  # fmt: skip

    # Only the paid debit order earns: R699.00 at 1 point per R10 is 69 points.
    assert await eventually(points, lambda b: b == 69) == 69

    again = loyalty(endpoints, "debit-orders", "import", str(doexec))
    assert again.returncode == 3
    assert "already received" in again.stdout

    bad = tmp_path / "DOEXEC-bad.dat"
    write_doexec(bad, file_id=f"B{file_id}"[:16], run_date=RUN, details=[detail(9, customer)])
    data = bytearray(bad.read_bytes())
    data[-150 + 6 : -150 + 15] = bytes.fromhex("00000000000000001c")  # trailer total wrong
    bad.write_bytes(bytes(data))
    rejected = loyalty(endpoints, "debit-orders", "import", str(bad))
    assert rejected.returncode == 2
    assert "control totals disagree" in rejected.stdout

    # Cash back: 50 points become R5.00 for the customer's cheque account.
    request = {**m.redeem(customer, 50, vendor_id="virgin_active_t"), "reward": "cash_back"}
    async with Bank(endpoints.kafka_bootstrap) as bank:
        await bank.publish("loyalty.redemption.requested.v1", request, customer)
    await eventually(
        lambda: fetchval(pg_admin_url, "SELECT count(*) FROM debit_orders.payouts "
                         "WHERE customer_no = $1", customer),
        lambda n: n == 1,
    )  # fmt: skip
    cutoff = (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0)
    out = tmp_path / "out"
    first_export = loyalty(endpoints, "debit-orders", "export", "--cutoff", cutoff.isoformat(),
                           "--directory", str(out))  # fmt: skip
    assert first_export.returncode == 0, first_export.stderr
    file = next(out.glob("*.lycred"))
    written = file.read_bytes()
    _, details, trailer = read_lycred(written)
    mine = [d for d in details if d["LYD-CUSTOMER-NO"] == customer]
    assert len(mine) == 1
    assert (mine[0]["LYD-DIRECTION"], mine[0]["LYD-AMOUNT"]) == ("C", 500)
    assert mine[0]["LYD-NARRATIVE"] == "Belonings kontant terug"
    assert trailer["LYT-RECORD-COUNT"] == len(details)

    # The same cut-off again: the same bytes. A later cut-off: not this payout again.
    assert loyalty(endpoints, "debit-orders", "export", "--cutoff", cutoff.isoformat(),
                   "--directory", str(out)).returncode == 0  # fmt: skip
    assert file.read_bytes() == written
    later = out / "later"
    loyalty(endpoints, "debit-orders", "export", "--cutoff",
            (cutoff + timedelta(seconds=5)).isoformat(), "--directory", str(later))  # fmt: skip
    _, later_details, _ = read_lycred(next(later.glob("*.lycred")).read_bytes())
    assert all(d["LYD-CUSTOMER-NO"] != customer for d in later_details)

    # The next day the bank reverses the first debit order (disputed): its points go back.
    reversal = tmp_path / "DOEXEC2.dat"
    write_doexec(reversal, file_id=f"R{file_id}"[:16], run_date=RUN + timedelta(days=1),
                 details=[detail(1, customer, status="RV", orig=(1, RUN))])  # fmt: skip
    assert loyalty(endpoints, "debit-orders", "import", str(reversal)).returncode == 0
    assert await eventually(points, lambda b: b == -50 + 69 - 69) == -50 + 69 - 69

    published = await read_topic(
        endpoints.kafka_bootstrap, "esb.debit-order.executed.v1",
        lambda r: orjson.loads(r.value or b"{}").get("customer_no") == customer, expect=5,
        timeout=3,
    )  # fmt: skip
    # Records 2 and 3 of the first file and the reversal; none from the rejected file.
    assert sorted(orjson.loads(r.value)["sequence_no"] for r in published) == [1, 1, 2]
