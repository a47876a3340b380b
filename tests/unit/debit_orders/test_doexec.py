"""DOEXEC files: whole-file rejections, single-record rejections, round trips, streaming."""

from __future__ import annotations

import tempfile
import tracemalloc
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.debit_orders.codec import encode_packed, encode_record
from services.debit_orders.doexec import (
    DETAIL,
    HEADER,
    TRAILER,
    FileRejectedError,
    detail_values,
    iter_doexec_details,
    scan_doexec,
    write_doexec,
)
from tests.unit.debit_orders.strategies import good_details

RUN = date(2026, 11, 20)
LRECL = 150


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
    """Header, three details (records 2-4), trailer (record 5)."""
    path = tmp_path / "DOEXEC.dat"
    write_doexec(path, file_id="DOEXEC20261120", run_date=RUN, run_number=7,
                 details=[detail(1), detail(2, status="02"), detail(3)])  # fmt: skip
    return path


def patch(path: Path, record_no: int, field_offset: int, raw: bytes) -> None:
    data = bytearray(path.read_bytes())
    start = (record_no - 1) * LRECL + field_offset
    data[start : start + len(raw)] = raw
    path.write_bytes(bytes(data))


def records(path: Path) -> list[bytes]:
    data = path.read_bytes()
    return [data[i : i + LRECL] for i in range(0, len(data), LRECL)]


def test_a_good_file_is_read_with_its_header_totals_and_every_detail(good_file: Path) -> None:
    scan = scan_doexec(good_file)
    assert (scan.file_id, scan.run_date, scan.run_number, scan.source_system) == (
        "DOEXEC20261120", RUN, 7, "DOSYS",
    )  # fmt: skip
    assert (scan.records, scan.details, scan.accepted_details, scan.rejects) == (5, 3, 3, [])
    assert scan.total_amount == 3 * 69_900
    assert scan.hash_total == 3 * 4071234567
    details = list(iter_doexec_details(good_file))
    assert [(d.record_no, d.sequence_no, d.status, d.amount_cents) for d in details] == [
        (2, 1, "00", 69_900), (3, 2, "02", 69_900), (4, 3, "00", 69_900),
    ]  # fmt: skip
    first = details[0]
    assert (first.customer_no, first.account_no, first.user_code, first.user_short_name) == (
        "100230000001", 4071234567, "VACT", "VIRGIN ACT",
    )  # fmt: skip
    assert (first.user_reference, first.action_date, first.currency, first.entry_class) == (
        "000001/04", RUN, "ZAR", 1,
    )  # fmt: skip
    assert (first.orig_sequence_no, first.orig_run_date) == (None, None)


def test_a_file_without_details_is_a_header_and_a_trailer(tmp_path: Path) -> None:
    path = tmp_path / "empty-run.dat"
    assert write_doexec(path, file_id="NONE", run_date=RUN, details=[]) == 0
    scan = scan_doexec(path)
    assert (scan.records, scan.details, scan.total_amount, scan.hash_total) == (2, 0, 0, 0)
    assert list(iter_doexec_details(path)) == []


# Whole-file rejections: nothing from the file may take effect.


def test_size_not_a_multiple_of_the_record_length_rejects_the_file(good_file: Path) -> None:
    good_file.write_bytes(good_file.read_bytes() + b"\x40")
    with pytest.raises(FileRejectedError, match="file size 751 is not a positive multiple of 150"):
        scan_doexec(good_file)


def test_an_empty_file_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(FileRejectedError, match="file size 0"):
        scan_doexec(tmp_path / "empty")


def test_missing_header_rejects_the_file(good_file: Path) -> None:
    good_file.write_bytes(good_file.read_bytes()[LRECL:])
    with pytest.raises(FileRejectedError, match="missing header: record 1 is a 'D' record"):
        scan_doexec(good_file)


def test_missing_trailer_rejects_the_file(good_file: Path) -> None:
    good_file.write_bytes(good_file.read_bytes()[:-LRECL])
    with pytest.raises(FileRejectedError, match=r"missing trailer: the last record \(4\) is a 'D'"):
        scan_doexec(good_file)


def test_a_header_alone_rejects_the_file(good_file: Path) -> None:
    good_file.write_bytes(good_file.read_bytes()[:LRECL])
    with pytest.raises(FileRejectedError, match="missing trailer"):
        scan_doexec(good_file)


def test_a_trailer_that_is_not_last_rejects_the_file(good_file: Path) -> None:
    h, d1, d2, d3, t = records(good_file)
    good_file.write_bytes(h + d1 + t + d2 + d3 + t)  # a second trailer in the middle
    with pytest.raises(FileRejectedError, match=r"record 3 is a trailer \(T\) in the middle"):
        scan_doexec(good_file)
    good_file.write_bytes(h + d1 + t + d2 + d3)  # the only trailer, not last
    with pytest.raises(FileRejectedError, match=r"record 3 is a trailer \(T\) in the middle"):
        scan_doexec(good_file)


def test_a_second_header_rejects_the_file(good_file: Path) -> None:
    h, d1, d2, d3, t = records(good_file)
    good_file.write_bytes(h + d1 + h + d2 + d3 + t)
    with pytest.raises(FileRejectedError, match=r"record 3 is a header \(H\) in the middle"):
        scan_doexec(good_file)


@pytest.mark.parametrize(
    ("offset", "raw", "what"),
    [
        (1, bytes.fromhex("000000004f"), "record count 3 in the file, the trailer says 4"),
        (6, bytes.fromhex("00000000000000001c"), "total amount 209700 in the file, the trailer"),
        (15, bytes.fromhex("00000000000000001f"), "hash total 12213703701 in the file"),
    ],
)
def test_control_totals_that_disagree_reject_the_file(
    good_file: Path, offset: int, raw: bytes, what: str
) -> None:
    patch(good_file, 5, offset, raw)  # DOT-RECORD-COUNT, DOT-TOTAL-AMOUNT, DOT-HASH-TOTAL
    with pytest.raises(FileRejectedError, match=f"control totals disagree: {what}"):
        scan_doexec(good_file)


def test_an_unreadable_amount_makes_the_totals_disagree(good_file: Path) -> None:
    patch(good_file, 3, 67, bytes.fromhex("0000000069900a"))  # bad sign nibble in DOD-AMOUNT
    with pytest.raises(FileRejectedError, match="control totals disagree: total amount 139800"):
        scan_doexec(good_file)


def test_an_unreadable_account_makes_the_totals_disagree(good_file: Path) -> None:
    # a bad nibble in DOD-ACCOUNT-NO
    patch(good_file, 3, 18, bytes.fromhex("000407123456af"))  # pragma: allowlist secret
    with pytest.raises(FileRejectedError, match="control totals disagree: hash total"):
        scan_doexec(good_file)


def test_a_bad_header_or_trailer_rejects_the_file(good_file: Path) -> None:
    patch(good_file, 1, 17, "20261131".encode("cp037"))  # DOH-RUN-DATE, 31 November
    with pytest.raises(FileRejectedError, match="bad header: record 1, field DOH-RUN-DATE"):
        scan_doexec(good_file)


def test_a_bad_trailer_rejects_the_file(good_file: Path) -> None:
    patch(good_file, 5, 1, bytes.fromhex("00000000a3"))  # DOT-RECORD-COUNT, sign nibble 3
    with pytest.raises(FileRejectedError, match="bad trailer: record 5, field DOT-RECORD-COUNT"):
        scan_doexec(good_file)


# Single bad details: rejected on their own, the rest of the file is processed.


def test_single_bad_details_are_rejected_and_the_rest_processed(tmp_path: Path) -> None:
    path = tmp_path / "DOEXEC.dat"
    write_doexec(path, file_id="F", run_date=RUN, details=[detail(n) for n in range(1, 10)])
    patch(path, 2, 81, bytes.fromhex("00000000af"))  # DOD-ORIG-SEQUENCE-NO: nibble a
    patch(path, 3, 59, "20250231".encode("cp037"))  # DOD-ACTION-DATE: 31 February
    patch(path, 4, 77, "XX".encode("cp037"))  # DOD-STATUS: unknown
    patch(path, 5, 0, "X".encode("cp037"))  # DOD-REC-TYPE: neither H, D nor T
    patch(path, 6, 73, b"\x0d")  # DOD-AMOUNT: 69900 cents, negative (sign D)
    patch(path, 7, 79, b"\xf0\xc1")  # DOD-ENTRY-CLASS: not a zoned digit
    patch(path, 8, 77, "RV".encode("cp037"))  # a reversal that names no original
    # The bank's trailer adds the negative amount with its sign: 8 x 699.00 - 699.00.
    patch(path, 11, 6, encode_packed(7 * 69_900, 17, signed=True))
    scan = scan_doexec(path)
    assert [(r.record_no, r.field, r.raw_hex) for r in scan.rejects] == [
        (2, "DOD-ORIG-SEQUENCE-NO", "00000000af"),
        (3, "DOD-ACTION-DATE", "f2f0f2f5f0f2f3f1"),
        (4, "DOD-STATUS", "e7e7"),
        (5, "DOD-REC-TYPE", "e7"),
        (6, "DOD-AMOUNT", "0000000069900d"),
        (7, "DOD-ENTRY-CLASS", "f0c1"),
        (8, "DOD-ORIG-SEQUENCE-NO", "000000000f"),
    ]
    reasons = [r.reason for r in scan.rejects]
    assert reasons[0] == "PIC 9(9) COMP-3: nibble a is not a decimal digit"
    assert "20250231 is not a date" in reasons[1]
    assert reasons[2] == "'XX' is not one of ('00', '02', '04', '30', 'RV')"
    assert reasons[3] == "record type 'X' is not D"
    assert reasons[4] == "amount -69900 is not positive"
    assert reasons[6] == "a reversal must name its original"
    # Every detail present counts, the rejected ones too, a negative amount with its sign.
    assert (scan.details, scan.accepted_details) == (9, 2)
    assert scan.total_amount == 7 * 69_900
    assert [d.sequence_no for d in iter_doexec_details(path)] == [8, 9]


def test_a_record_rejected_for_a_non_total_field_still_counts(good_file: Path) -> None:
    patch(good_file, 3, 77, "XX".encode("cp037"))
    scan = scan_doexec(good_file)  # the trailer (3 details, 209700, hash) still agrees
    assert [(r.record_no, r.field) for r in scan.rejects] == [(3, "DOD-STATUS")]
    assert [d.sequence_no for d in iter_doexec_details(good_file)] == [1, 3]
    assert [d.sequence_no for d in iter_doexec_details(good_file, [2])] == [3]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 10**9 - 1), max_size=20, unique=True).flatmap(
    lambda seqs: st.tuples(*(good_details(s) for s in seqs))))  # fmt: skip
def test_files_round_trip(details: tuple[dict[str, object], ...]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "DOEXEC.dat"
        write_doexec(path, file_id="ROUNDTRIP", run_date=RUN, details=details)
        scan = scan_doexec(path)
        read = list(iter_doexec_details(path))
        again = Path(tmp) / "again.dat"
        write_doexec(again, file_id="ROUNDTRIP", run_date=RUN, details=read)
        assert again.read_bytes() == path.read_bytes()
    assert (scan.details, scan.rejects) == (len(details), [])
    assert scan.total_amount == sum(d["DOD-AMOUNT"] for d in details)
    assert scan.hash_total == sum(d["DOD-ACCOUNT-NO"] for d in details) % 10**17
    expected = [{k: v for k, v in d.items() if k != "DOD-REC-TYPE"} for d in details]
    assert [detail_values(d) for d in read] == expected


def test_the_trailer_is_computed_by_the_writer(good_file: Path) -> None:
    trailer = records(good_file)[-1]
    assert trailer.hex() == (
        "e3"  # DOT-REC-TYPE 'T'
        "000000003f"  # DOT-RECORD-COUNT 9(9) COMP-3: 3
        "00000000000209700c"  # DOT-TOTAL-AMOUNT S9(15)V99 COMP-3: 3 x 699.00, sign C
        "00000012213703701f" + "40" * 126  # DOT-HASH-TOTAL 9(17) COMP-3: 3 x 4071234567, sign F
    )
    header = records(good_file)[0]
    assert header == encode_record(HEADER, {
        "DOH-REC-TYPE": "H", "DOH-FILE-ID": "DOEXEC20261120", "DOH-RUN-DATE": RUN,
        "DOH-RUN-NUMBER": 7, "DOH-SOURCE-SYSTEM": "DOSYS",
    })  # fmt: skip
    assert header[25:28] == b"\x00\x00\x7f"  # DOH-RUN-NUMBER 9(5) COMP-3: 7


def test_progress_is_reported(good_file: Path) -> None:
    seen: list[int] = []
    scan_doexec(good_file, seen.append)
    assert seen == [5]


def write_big_file(path: Path, n: int) -> None:
    """n details, fast: one encoded detail with each record's own sequence number patched in."""
    template = encode_record(DETAIL, {"DOD-REC-TYPE": "D", **detail(1)})
    seq = DETAIL.by_name["DOD-SEQUENCE-NO"]
    with path.open("wb") as out:
        out.write(records_of(path.parent / "h.dat")[0])
        for i in range(1, n + 1):
            out.write(template[: seq.offset] + encode_packed(i, 9, signed=False)
                      + template[seq.end :])  # fmt: skip
        out.write(encode_record(TRAILER, {
            "DOT-REC-TYPE": "T", "DOT-RECORD-COUNT": n, "DOT-TOTAL-AMOUNT": n * 69_900,
            "DOT-HASH-TOTAL": n * 4071234567 % 10**17,
        }))  # fmt: skip


def records_of(path: Path) -> list[bytes]:
    write_doexec(path, file_id="BIG", run_date=RUN, details=[])
    return records(path)


def test_large_files_stream_in_constant_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.dat"
    n = 200_000
    write_big_file(path, n)
    assert path.stat().st_size == (n + 2) * LRECL  # 30 MB
    seen: list[int] = []
    tracemalloc.start()
    try:
        scan = scan_doexec(path, seen.append)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Pass 1 holds one chunk of records (600 kB) at a time, whatever the file's size.
    assert peak < 3 * 1024 * 1024
    assert (scan.details, scan.rejects, scan.total_amount) == (n, [], n * 69_900)
    assert seen[:2] == [10_000, 20_000]
    assert seen[-1] == n + 2
    # Pass 2 reads the same way (one chunk at a time), lazily: a generator, not a list.
    details = iter_doexec_details(path)
    assert next(details).sequence_no == 1
    assert sum(1 for _ in details) == n - 1
