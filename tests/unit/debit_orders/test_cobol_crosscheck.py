"""A real COBOL compiler (GnuCOBOL) reads what we write and writes what we read.

The program in tests/cobol COPYs the bank's copybooks unchanged. GnuCOBOL keeps PIC X text
in ASCII, so text is checked by our own cp037 tests; what this proves is the part that is
easy to get wrong: packed decimals (digits, implied decimals, C/D/F sign nibbles) and record
offsets, byte for byte against a compiler. `make test` installs gnucobol3 (cobc).
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from services.debit_orders.codec import decode_field, encode_field
from services.debit_orders.copybook import COPYBOOKS, lycred
from services.debit_orders.doexec import iter_doexec_details, scan_doexec, write_doexec

PROGRAM = Path(__file__).parents[2] / "cobol" / "DOCHECK.cbl"


@pytest.fixture(scope="module")
def docheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cobc = shutil.which("cobc")
    assert cobc, "GnuCOBOL's cobc is missing: `make test` installs the gnucobol3 package"
    binary = tmp_path_factory.mktemp("cobol") / "docheck"
    subprocess.run(
        [cobc, "-x", "-I", str(COPYBOOKS), "-o", str(binary), str(PROGRAM)],
        check=True, capture_output=True,
    )  # fmt: skip
    return binary


def detail(seq: int, account: int, amount: int, orig: int = 0) -> dict[str, object]:
    return {
        "DOD-SEQUENCE-NO": seq, "DOD-CUSTOMER-NO": f"C{seq:011d}", "DOD-ACCOUNT-NO": account,
        "DOD-USER-CODE": "DSTV", "DOD-USER-SHORT-NAME": "MULTICHOIC", "DOD-USER-REFERENCE": "X",
        "DOD-ACTION-DATE": date(2026, 11, 20), "DOD-AMOUNT": amount, "DOD-CURRENCY": "ZAR",
        "DOD-STATUS": "RV" if orig else "00", "DOD-ENTRY-CLASS": 12,
        "DOD-ORIG-SEQUENCE-NO": orig, "DOD-ORIG-RUN-DATE": date(2026, 10, 20) if orig else None,
    }  # fmt: skip


def test_cobol_reads_our_doexec_packed_fields(docheck: Path, tmp_path: Path) -> None:
    path = tmp_path / "DOEXEC.dat"
    rows = [
        detail(1, 4071234567, 69_900),
        detail(987654321, 9_999_999_999_999, 99_999_999_999_99),
        detail(3, 1, 1, orig=987654321),
    ]
    write_doexec(path, file_id="XCHECK", run_date=date(2026, 11, 20), details=rows,
                 run_number=31337)  # fmt: skip
    out = subprocess.run(
        [str(docheck), str(path), str(tmp_path / "ly.dat")],
        check=True, capture_output=True, text=True,
    ).stdout.split("\n")  # fmt: skip
    cobol = [line.split() for line in out if line]
    ours = list(iter_doexec_details(path))
    scan = scan_doexec(path)
    assert cobol[0] == ["H", "31337"]
    for fields, mine in zip(cobol[1:-1], ours, strict=True):
        assert fields[0] == "D"
        assert int(fields[1]) == mine.sequence_no
        assert int(fields[2]) == mine.account_no
        assert Decimal(fields[3]) * 100 == mine.amount_cents
        assert int(fields[4]) == (mine.orig_sequence_no or 0)
    trailer = cobol[-1]
    assert trailer[0] == "T"
    assert int(trailer[1]) == scan.details == 3
    assert Decimal(trailer[2]) * 100 == scan.total_amount
    assert int(trailer[3]) == scan.hash_total


def test_we_read_and_write_cobols_packed_fields_byte_for_byte(
    docheck: Path, tmp_path: Path
) -> None:
    source = tmp_path / "DOEXEC.dat"
    write_doexec(source, file_id="XCHECK", run_date=date(2026, 11, 20), details=[])
    written = tmp_path / "ly.dat"
    subprocess.run([str(docheck), str(source), str(written)], check=True, capture_output=True)
    data = written.read_bytes()
    assert len(data) == 240  # a detail and a trailer, 120 bytes each, no separators
    layouts = lycred()
    expected = {
        "LY-DETAIL-REC": {"LYD-SEQUENCE-NO": 42, "LYD-ACCOUNT-NO": 4071234567,
                          "LYD-AMOUNT": 123456},
        "LY-TRAILER-REC": {"LYT-RECORD-COUNT": 1, "LYT-TOTAL-CREDITS": 123456,
                           "LYT-TOTAL-DEBITS": -9901, "LYT-HASH-TOTAL": 4071234567},
    }  # fmt: skip
    for index, (layout_name, values) in enumerate(expected.items()):
        record = data[index * 120 : (index + 1) * 120]
        layout = layouts[layout_name]
        for name, value in values.items():
            field = layout.by_name[name]
            raw = record[field.offset : field.offset + field.length]
            assert decode_field(field, raw) == value, name
            assert encode_field(field, value) == raw, name
