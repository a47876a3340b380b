"""Programme fees end to end: `loyalty debit-orders fee` records them, the LYCRED export
carries them as debits beside the cash-back credits, each in exactly one file, and the
bank's COBOL checker (tests/cobol/LYCHECK.cbl) accepts the file. Real migrated Postgres,
the commands as subprocesses, as the runtime role."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from services.debit_orders.lycred import read_lycred
from shared.db.engine import runtime_role
from shared.infra.embedded import Endpoints
from tests.support import messages as m
from tests.support.cli import loyalty
from tests.support.cobol import compile_program, lycheck
from tests.support.db import execute, fetch

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def checker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_program("LYCHECK", tmp_path_factory.mktemp("cobol"))


async def test_fees_are_debits_once_in_the_customer_s_language(
    pg_admin_url: str, endpoints: Endpoints, checker: Path, tmp_path: Path
) -> None:
    afrikaans, unknown = m.customer_no(), m.customer_no()
    await execute(
        pg_admin_url,
        "INSERT INTO debit_orders.customers (customer_no, cashback_account_no, "
        "preferred_language, profile_version) VALUES ($1, '62001234567', 'af', 1)",
        afrikaans,
    )
    await execute(
        pg_admin_url,
        "INSERT INTO debit_orders.payouts (payout_id, customer_no, account_no, amount_cents, "
        "currency, reference, narrative, language, requested_at) VALUES ($1, $2, "
        "'62001234567', 50000, 'ZAR', 'LYPO-FEES-1', 'Belonings kontant terug', 'af', $3)",
        m.new_id("payout"), afrikaans, datetime(2002, 5, 6, 12, tzinfo=UTC),
    )  # fmt: skip
    ref = f"FEE{afrikaans[-10:]}"

    def fee(*args: str) -> tuple[int, dict[str, object]]:
        done = loyalty(endpoints, "debit-orders", "fee", *args, "--json")
        return done.returncode, json.loads(done.stdout) if done.stdout else {"err": done.stderr}

    code, first = fee(afrikaans, "62001234567", "9900", "--reason", "annual fee",
                      "--reference", ref, "--at", "2002-05-06T08:00:00+02:00")  # fmt: skip
    assert code == 0, first
    assert (first["narrative"], first["language"], first["created"]) == (
        "Belonings programfooi", "af", True,
    )  # fmt: skip
    code, again = fee(afrikaans, "62001234567", "9900", "--reason", "annual fee (re-run)",
                      "--reference", ref, "--at", "2002-05-06T08:00:00+02:00")  # fmt: skip
    assert (code, again["created"]) == (3, False)
    clash = loyalty(endpoints, "debit-orders", "fee", afrikaans, "62001234567", "9999",
                    "--reason", "typo", "--reference", ref)  # fmt: skip
    assert clash.returncode == 2
    assert "recorded before" in clash.stderr
    code, english = fee(unknown, "4071234567", "1500", "--reason", "card replacement",
                        "--at", "2002-05-07T09:00:00Z")  # fmt: skip
    assert code == 0, english
    assert (english["narrative"], english["language"]) == ("Rewards programme fee", "en")
    assert str(english["fee_id"]).startswith("LYFE")
    bad = loyalty(endpoints, "debit-orders", "fee", unknown, "4071234567", "0", "--reason", "x")
    assert bad.returncode == 2
    assert "not between 1" in bad.stderr

    out = tmp_path / "out"
    out.mkdir()
    assert loyalty(endpoints, "debit-orders", "export", "--cut-off", "2002-05-06",
                   str(out)).returncode == 0  # fmt: skip
    first_file = out / "LY20020506235959.lycred"
    written = first_file.read_bytes()
    _, details, trailer = read_lycred(written)
    assert [(d["LYD-DIRECTION"], d["LYD-CUSTOMER-NO"], d["LYD-AMOUNT"], d["LYD-REFERENCE"],
             d["LYD-NARRATIVE"]) for d in details] == [
        ("C", afrikaans, 50_000, "LYPO-FEES-1", "Belonings kontant terug"),
        ("D", afrikaans, 9_900, ref, "Belonings programfooi"),
    ]  # fmt: skip
    assert (trailer["LYT-TOTAL-CREDITS"], trailer["LYT-TOTAL-DEBITS"]) == (50_000, 9_900)
    assert trailer["LYT-HASH-TOTAL"] == 2 * 62001234567
    lines = lycheck(checker, first_file)
    assert lines[-1] == ["AGREE"]
    assert Decimal(lines[-2][3]) * 100 == 9_900  # COBOL's own total of debits

    # A fee charged before the cut-off but recorded after its file was built waits for the
    # next file: building the first cut-off again gives the very same bytes.
    code, late = fee(afrikaans, "62001234567", "700", "--reason", "late",
                     "--at", "2002-05-06T10:00:00Z")  # fmt: skip
    assert code == 0, late
    assert loyalty(endpoints, "debit-orders", "export", "--cut-off", "2002-05-06",
                   str(tmp_path / "again.dat")).returncode == 0  # fmt: skip
    assert (tmp_path / "again.dat").read_bytes() == written

    assert loyalty(endpoints, "debit-orders", "export", "--cut-off", "2002-05-07",
                   str(out)).returncode == 0  # fmt: skip
    second = out / "LY20020507235959.lycred"
    _, later, _ = read_lycred(second.read_bytes())
    assert sorted((d["LYD-CUSTOMER-NO"], d["LYD-AMOUNT"]) for d in later) == sorted(
        [(afrikaans, 700), (unknown, 1_500)]
    )
    assert all(d["LYD-DIRECTION"] == "D" for d in later)
    assert lycheck(checker, second)[-1] == ["AGREE"]

    # Every fee in exactly one file; who recorded it is kept.
    rows = await fetch(
        pg_admin_url,
        "SELECT fee_id, exported_file_id, recorded_by FROM debit_orders.fees "
        "WHERE customer_no = ANY($1::text[]) ORDER BY charged_at",
        [afrikaans, unknown],
    )
    assert [(r["fee_id"] == ref, r["exported_file_id"]) for r in rows] == [
        (True, "LY20020506235959"), (False, "LY20020507235959"), (False, "LY20020507235959"),
    ]  # fmt: skip
    assert {r["recorded_by"] for r in rows} == {runtime_role("debit_orders")}
