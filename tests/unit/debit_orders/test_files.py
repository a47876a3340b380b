"""DOEXEC files: whole-file rejections, single-record rejections, streaming; LYCRED files."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from services.debit_orders.doexec import (
    FileRejectedError,
    iter_doexec_details,
    scan_doexec,
    write_doexec,
)
from services.debit_orders.lycred import LycredInstruction, read_lycred, render_lycred

RUN = date(2026, 11, 20)


def detail(seq: int, *, status: str = "00", amount: int = 69_900, account: int = 4071234567):
    return {
        "DOD-SEQUENCE-NO": seq,
        "DOD-CUSTOMER-NO": f"10023{seq:07d}",
        "DOD-ACCOUNT-NO": account,
        "DOD-USER-CODE": "VACT",
        "DOD-USER-SHORT-NAME": "VIRGIN ACT",
        "DOD-USER-REFERENCE": f"{seq:06d}/04",
        "DOD-ACTION-DATE": RUN,
        "DOD-AMOUNT": amount,
        "DOD-CURRENCY": "ZAR",
        "DOD-STATUS": status,
        "DOD-ENTRY-CLASS": 1,
        "DOD-ORIG-SEQUENCE-NO": 0,
        "DOD-ORIG-RUN-DATE": None,
    }


@pytest.fixture
def good_file(tmp_path: Path) -> Path:
    path = tmp_path / "DOEXEC.dat"
    write_doexec(path, file_id="DOEXEC20261120", run_date=RUN,
                 details=[detail(1), detail(2, status="02"), detail(3)])  # fmt: skip
    return path


def patch(path: Path, record_no: int, offset: int, raw: bytes) -> None:
    data = bytearray(path.read_bytes())
    start = (record_no - 1) * 150 + offset
    data[start : start + len(raw)] = raw
    path.write_bytes(bytes(data))


def test_a_good_file_is_read_with_its_header_and_every_detail(good_file: Path) -> None:
    scan = scan_doexec(good_file)
    assert (scan.file_id, scan.run_date, scan.details, scan.rejects) == (
        "DOEXEC20261120", RUN, 3, [],
    )  # fmt: skip
    details = list(iter_doexec_details(good_file))
    assert [(d.sequence_no, d.status, d.amount_cents) for d in details] == [
        (1, "00", 69_900), (2, "02", 69_900), (3, "00", 69_900),
    ]  # fmt: skip
    assert details[0].customer_no == "100230000001"


def test_size_not_a_multiple_of_the_record_length_rejects_the_file(good_file: Path) -> None:
    good_file.write_bytes(good_file.read_bytes() + b"\x40")
    with pytest.raises(FileRejectedError, match="not a positive multiple of 150"):
        scan_doexec(good_file)


def test_missing_header_rejects_the_file(good_file: Path) -> None:
    good_file.write_bytes(good_file.read_bytes()[150:])
    with pytest.raises(FileRejectedError, match="record 1 is not a header"):
        scan_doexec(good_file)


def test_missing_trailer_rejects_the_file(good_file: Path) -> None:
    good_file.write_bytes(good_file.read_bytes()[:-150])
    with pytest.raises(FileRejectedError, match="is not a trailer"):
        scan_doexec(good_file)


def test_a_trailer_before_the_end_rejects_the_file(good_file: Path) -> None:
    data = good_file.read_bytes()
    good_file.write_bytes(data[:150] + data[-150:] + data[150:])
    with pytest.raises(FileRejectedError, match="a T record before the end"):
        scan_doexec(good_file)


@pytest.mark.parametrize(
    ("offset", "raw", "what"),
    [
        (1, bytes.fromhex("000000004f"), "record count"),  # trailer says 4 details
        (6, bytes.fromhex("00000000000000001c"), "total amount"),  # S9(15)V99: 9 bytes
        (15, bytes.fromhex("00000000000000001f"), "hash total"),  # 9(17): 9 bytes
    ],
)
def test_control_totals_that_disagree_reject_the_file(
    good_file: Path, offset: int, raw: bytes, what: str
) -> None:
    patch(good_file, 5, offset, raw)
    with pytest.raises(FileRejectedError, match=f"control totals disagree: {what}"):
        scan_doexec(good_file)


def test_single_bad_details_are_rejected_and_the_rest_processed(good_file: Path) -> None:
    patch(good_file, 2, 77, "XX".encode("cp037"))  # unknown status
    patch(good_file, 4, 59, "20250231".encode("cp037"))  # 31 February
    scan = scan_doexec(good_file)
    assert [(r.record_no, r.field) for r in scan.rejects] == [
        (2, "DOD-STATUS"), (4, "DOD-ACTION-DATE"),
    ]  # fmt: skip
    assert "20250231 is not a date" in scan.rejects[1].reason
    rejected = [r.record_no for r in scan.rejects]
    assert [d.sequence_no for d in iter_doexec_details(good_file, rejected)] == [2]


def test_a_bad_packed_amount_makes_the_totals_disagree(good_file: Path) -> None:
    patch(good_file, 3, 67, bytes.fromhex("0000000069900a"))  # bad sign nibble in an amount
    with pytest.raises(FileRejectedError, match="total amount"):
        scan_doexec(good_file)


def test_a_bad_packed_nibble_elsewhere_rejects_only_that_record(good_file: Path) -> None:
    patch(good_file, 3, 81, bytes.fromhex("00000000af"))  # orig sequence no
    scan = scan_doexec(good_file)
    assert [(r.record_no, r.field) for r in scan.rejects] == [(3, "DOD-ORIG-SEQUENCE-NO")]
    assert scan.rejects[0].raw_hex == "00000000af"


def test_large_files_stream_in_constant_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.dat"
    n = 50_000
    write_doexec(path, file_id="BIG", run_date=RUN, details=(detail(i) for i in range(1, n + 1)))
    tracemalloc.start()
    try:
        scan = scan_doexec(path)
        count = sum(1 for _ in iter_doexec_details(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (scan.details, count) == (n, n)
    # The file is 7.5 MB; both passes hold one chunk of records at a time.
    assert peak < 3 * 1024 * 1024
    assert path.stat().st_size == (n + 2) * 150


def instruction(n: int, narrative: str = "Rewards cash back") -> LycredInstruction:
    return LycredInstruction(
        customer_no=f"1002345{n:05d}", account_no=4071234567 + n, direction="C",
        amount_cents=5_000 * n, currency="ZAR", reference=f"LYPO{n:010d}",
        narrative=narrative, value_date=date(2026, 11, 21),
    )  # fmt: skip


def test_lycred_files_are_deterministic_and_carry_their_totals() -> None:
    items = [instruction(1, "Belonings kontant terug"), instruction(2), instruction(3, "Tjêk ë ô")]
    created = datetime(2026, 11, 20, 18, 0, 0, tzinfo=UTC)
    data = render_lycred("LY20261120180000", created, "LOYALTY", items)
    assert data == render_lycred("LY20261120180000", created, "LOYALTY", items)
    assert len(data) == 5 * 120
    header, details, trailer = read_lycred(data)
    assert header["LYH-CREATION-TIME"] == 180000
    assert [d["LYD-SEQUENCE-NO"] for d in details] == [1, 2, 3]
    assert details[0]["LYD-NARRATIVE"] == "Belonings kontant terug"
    assert details[2]["LYD-NARRATIVE"] == "Tjêk ë ô"
    assert trailer["LYT-RECORD-COUNT"] == 3
    assert trailer["LYT-TOTAL-CREDITS"] == 30_000
    assert trailer["LYT-TOTAL-DEBITS"] == 0
    assert trailer["LYT-HASH-TOTAL"] == sum(4071234567 + n for n in (1, 2, 3))
