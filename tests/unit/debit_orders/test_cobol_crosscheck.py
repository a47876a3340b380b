"""A real COBOL compiler (GnuCOBOL) reads what we write and writes what we read.

tests/cobol/DOCHECK.cbl COPYs the bank's copybooks unchanged, so every offset, picture and
88 level it uses is the copybook's, not ours. It reads a DOEXEC file from `write_doexec`
as a bank program would (packed fields by COBOL itself; text and zoned fields through an
EBCDIC table, as GnuCOBOL keeps text in ASCII), flags the records it finds bad and checks
the control totals itself; and it writes a whole LYCRED file that `read_lycred` must read
and `render_lycred` must reproduce byte for byte.

Needs `cobc`: Debian's gnucobol3 package (`apt-get install -y gnucobol3`), which
`make test` installs. Without it this test fails, saying so; it never skips.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from services.debit_orders.codec import encode_packed
from services.debit_orders.copybook import COPYBOOKS
from services.debit_orders.doexec import (
    FileRejectedError,
    iter_doexec_details,
    scan_doexec,
    write_doexec,
)
from services.debit_orders.lycred import LycredInstruction, read_lycred, render_lycred

PROGRAM = Path(__file__).parents[2] / "cobol" / "DOCHECK.cbl"
RUN = date(2026, 11, 20)


@pytest.fixture(scope="module")
def docheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cobc = shutil.which("cobc")
    assert cobc, (
        "GnuCOBOL's cobc is missing: install it with "
        "`apt-get update && apt-get install -y gnucobol3` (`make test` does)"
    )
    binary = tmp_path_factory.mktemp("cobol") / "docheck"
    built = subprocess.run(
        [cobc, "-x", "-I", str(COPYBOOKS), "-o", str(binary), str(PROGRAM)],
        check=False, capture_output=True, text=True,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    return binary


def run(docheck: Path, doexec: Path, lycred: Path) -> list[list[str]]:
    out = subprocess.run(
        [str(docheck), str(doexec), str(lycred)], check=True, capture_output=True, text=True
    ).stdout
    return [[part.strip() for part in line.split("|")] for line in out.splitlines() if line]


def detail(seq: int, account: int, amount: int, **changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "DOD-SEQUENCE-NO": seq, "DOD-CUSTOMER-NO": f"C{seq:011d}", "DOD-ACCOUNT-NO": account,
        "DOD-USER-CODE": "DSTV", "DOD-USER-SHORT-NAME": "MultiChoic",
        "DOD-USER-REFERENCE": f"SUB-{seq}/26.11", "DOD-ACTION-DATE": RUN,
        "DOD-AMOUNT": amount, "DOD-CURRENCY": "ZAR", "DOD-STATUS": "00",
        "DOD-ENTRY-CLASS": 12, "DOD-ORIG-SEQUENCE-NO": 0, "DOD-ORIG-RUN-DATE": None,
    }  # fmt: skip
    return {**values, **changes}


def patch(path: Path, record_no: int, offset: int, raw: bytes) -> None:
    data = bytearray(path.read_bytes())
    start = (record_no - 1) * 150 + offset
    data[start : start + len(raw)] = raw
    path.write_bytes(bytes(data))


def test_cobol_reads_every_field_of_our_doexec_and_rejects_what_we_reject(
    docheck: Path, tmp_path: Path
) -> None:
    path = tmp_path / "DOEXEC.dat"
    reversal = {"DOD-STATUS": "RV", "DOD-ORIG-SEQUENCE-NO": 987654321,
                "DOD-ORIG-RUN-DATE": date(2026, 10, 20)}  # fmt: skip
    rows = [
        detail(1, 4071234567, 69_900),
        detail(987654321, 9_999_999_999_999, 10**13 - 1, **{"DOD-STATUS": "02"}),
        detail(3, 1, 1, **reversal),
        detail(4, 62001234567, 12_345, **{"DOD-STATUS": "30", "DOD-ENTRY-CLASS": 0}),
        detail(5, 5, -1_500),  # a negative amount: rejected, and counted with its sign
        detail(6, 6, 600),
        detail(7, 7, 700),
        detail(8, 8, 800),
        detail(9, 9, 900),
    ]
    write_doexec(path, file_id="XCHECK", run_date=RUN, details=rows, run_number=31337,
                 source_system="DOSYS")  # fmt: skip
    patch(path, 7, 81, bytes.fromhex("00000000af"))  # DOD-ORIG-SEQUENCE-NO: nibble a
    patch(path, 8, 59, "20250231".encode("cp037"))  # DOD-ACTION-DATE: 31 February
    patch(path, 9, 77, "XX".encode("cp037"))  # DOD-STATUS: unknown
    patch(path, 10, 0, "X".encode("cp037"))  # DOD-REC-TYPE: unknown

    cobol = run(docheck, path, tmp_path / "ly.dat")
    scan = scan_doexec(path)
    ours = list(iter_doexec_details(path))

    assert cobol[0] == ["H", "XCHECK", "20261120", "31337", "DOSYS"]
    assert (scan.file_id, scan.run_date, scan.run_number, scan.source_system) == (
        "XCHECK", RUN, 31337, "DOSYS",
    )  # fmt: skip
    good = [line for line in cobol if line[0] == "D"]
    assert len(good) == len(ours) == 4
    for line, mine in zip(good, ours, strict=True):
        assert line[1:] == [
            f"{mine.sequence_no:09d}", mine.customer_no, f"{mine.account_no:013d}",
            mine.user_code, mine.user_short_name, mine.user_reference,
            f"{mine.action_date:%Y%m%d}", line[8], mine.currency, mine.status,
            f"{mine.entry_class:02d}", f"{mine.orig_sequence_no or 0:09d}",
            f"{mine.orig_run_date:%Y%m%d}" if mine.orig_run_date else "00000000",
        ]  # fmt: skip
        assert Decimal(line[8]) * 100 == mine.amount_cents  # S9(11)V99: COBOL shows R.cc
    bad = [(int(line[1]), line[2]) for line in cobol if line[0] == "X"]
    assert bad == [(r.record_no, r.field) for r in scan.rejects] == [
        (6, "DOD-AMOUNT"), (7, "DOD-ORIG-SEQUENCE-NO"), (8, "DOD-ACTION-DATE"),
        (9, "DOD-STATUS"), (10, "DOD-REC-TYPE"),
    ]  # fmt: skip
    trailer, totals, verdict = cobol[-3], cobol[-2], cobol[-1]
    assert trailer[0] == "T"
    assert totals[0] == "C"
    assert verdict == ["AGREE"]
    assert int(totals[1]) == int(trailer[1]) == scan.details == 9
    assert Decimal(totals[2]) * 100 == Decimal(trailer[2]) * 100 == scan.total_amount
    assert int(totals[3]) == int(trailer[3]) == scan.hash_total


def test_cobol_and_we_both_refuse_totals_that_disagree(docheck: Path, tmp_path: Path) -> None:
    path = tmp_path / "DOEXEC.dat"
    write_doexec(path, file_id="XCHECK", run_date=RUN,
                 details=[detail(1, 4071234567, 69_900), detail(2, 2, 100)])  # fmt: skip
    patch(path, 4, 15, encode_packed(4071234568, 17, signed=False))  # DOT-HASH-TOTAL, off by 1
    assert run(docheck, path, tmp_path / "ly.dat")[-1] == ["DISAGREE"]
    with pytest.raises(FileRejectedError, match="hash total 4071234569 in the file"):
        scan_doexec(path)


def test_we_read_cobols_lycred_and_write_the_very_same_bytes(docheck: Path, tmp_path: Path) -> None:
    source = tmp_path / "DOEXEC.dat"
    write_doexec(source, file_id="XCHECK", run_date=RUN, details=[])
    written = tmp_path / "ly.dat"
    run(docheck, source, written)
    data = written.read_bytes()
    assert len(data) == 4 * 120  # header, two details, trailer; no separators

    header, details, trailer = read_lycred(data)
    assert header == {
        "LYH-REC-TYPE": "H", "LYH-FILE-ID": "LY20261120180005",
        "LYH-CREATION-DATE": date(2026, 11, 20), "LYH-CREATION-TIME": 180005,
        "LYH-SOURCE-SYSTEM": "LOYALTY",
    }  # fmt: skip
    instructions = [
        LycredInstruction("100234567890", 4071234567, "C", 123_456, "ZAR", "LYPO000000000042",
                          "Rewards cash back", date(2026, 11, 21)),
        LycredInstruction("C00000000002", 9_999_999_999_999, "D", 9_901, "ZAR", "FEE/2026-11",
                          "Programme fee.", date(2026, 11, 21)),
    ]  # fmt: skip
    assert [d["LYD-AMOUNT"] for d in details] == [123_456, 9_901]
    assert trailer["LYT-HASH-TOTAL"] == 4071234567 + 9_999_999_999_999
    # COBOL's own packed signs (F unsigned, C signed) are the ones we write.
    created = datetime(2026, 11, 20, 18, 0, 5, tzinfo=UTC)
    assert render_lycred("LY20261120180005", created, "LOYALTY", instructions) == data
