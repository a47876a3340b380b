"""Reading (and, for tests and the simulator, writing) DOEXEC files.

Two passes over the file, each in constant memory: `scan_doexec` checks the whole file
(structure, every record, the trailer's control totals) without any effect; only when it
accepts the file does the caller iterate `iter_doexec_details` to publish the good details.

Control totals are computed over every detail record present: the count over all of them,
the total amount and the hash total over those whose amount and account number decode.
So a detail rejected for a bad status or date still counts, while a detail whose amount or
account cannot be read makes the totals disagree and the whole file is rejected, as the
interface says ("... and the rest of the file is processed, unless the control totals then
disagree").

A repeated sequence number is found in the second pass, by the database (the outbox's unique
message id), so that no pass holds more than one chunk of the file in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import BinaryIO

from services.debit_orders.codec import (
    FieldError,
    RecordError,
    Value,
    decode_alnum,
    decode_field,
    decode_record,
    encode_record,
)
from services.debit_orders.copybook import DOEXEC_LRECL, Layout, doexec

HASH_MODULUS = 10**17
HEADER, DETAIL, TRAILER = "DO-HEADER-REC", "DO-DETAIL-REC", "DO-TRAILER-REC"
CHUNK_RECORDS = 4096


class FileRejectedError(Exception):
    """The whole file is rejected: nothing from it may take effect."""


@dataclass(frozen=True, slots=True)
class DetailReject:
    record_no: int
    field: str
    reason: str
    raw_hex: str


@dataclass(frozen=True, slots=True)
class DebitOrderDetail:
    record_no: int
    sequence_no: int
    customer_no: str
    account_no: int
    user_code: str
    user_short_name: str
    user_reference: str
    action_date: date
    amount_cents: int
    currency: str
    status: str
    entry_class: int
    orig_sequence_no: int | None
    orig_run_date: date | None


@dataclass
class DoexecScan:
    file_id: str = ""
    run_date: date | None = None
    run_number: int = 0
    source_system: str = ""
    records: int = 0
    details: int = 0
    rejects: list[DetailReject] = field(default_factory=list)
    total_amount: int = 0
    hash_total: int = 0

    @property
    def accepted_details(self) -> int:
        return self.details - len(self.rejects)


def _records(handle: BinaryIO) -> Iterator[tuple[int, bytes]]:
    number = 0
    while chunk := handle.read(DOEXEC_LRECL * CHUNK_RECORDS):
        for start in range(0, len(chunk), DOEXEC_LRECL):
            number += 1
            yield number, chunk[start : start + DOEXEC_LRECL]


def _rec_type(data: bytes) -> str:
    return decode_alnum(data[:1])


def number(values: Mapping[str, Value], name: str) -> int:
    """A numeric field of a decoded record (the layout makes it an int)."""
    value = values[name]
    if not isinstance(value, int):
        raise TypeError(f"{name} is not numeric: {value!r}")
    return value


def optional_date(values: Mapping[str, Value], name: str) -> date | None:
    value = values[name]
    if value is not None and not isinstance(value, date):
        raise TypeError(f"{name} is not a date: {value!r}")
    return value


def _detail(values: Mapping[str, Value], record_no: int) -> DebitOrderDetail:
    v = values
    action = v["DOD-ACTION-DATE"]
    if not isinstance(action, date):
        raise RecordError(record_no, "DOD-ACTION-DATE", b"", "an action date is required")
    return DebitOrderDetail(
        record_no=record_no,
        sequence_no=number(v, "DOD-SEQUENCE-NO"),
        customer_no=str(v["DOD-CUSTOMER-NO"]),
        account_no=number(v, "DOD-ACCOUNT-NO"),
        user_code=str(v["DOD-USER-CODE"]),
        user_short_name=str(v["DOD-USER-SHORT-NAME"]),
        user_reference=str(v["DOD-USER-REFERENCE"]),
        action_date=action,
        amount_cents=number(v, "DOD-AMOUNT"),
        currency=str(v["DOD-CURRENCY"]),
        status=str(v["DOD-STATUS"]),
        entry_class=number(v, "DOD-ENTRY-CLASS"),
        orig_sequence_no=number(v, "DOD-ORIG-SEQUENCE-NO") or None,
        orig_run_date=optional_date(v, "DOD-ORIG-RUN-DATE"),
    )


def _check_detail(detail: DebitOrderDetail) -> None:
    n = detail.record_no
    if detail.amount_cents <= 0:
        raise RecordError(n, "DOD-AMOUNT", b"", f"amount {detail.amount_cents} is not positive")
    if not detail.customer_no:
        raise RecordError(n, "DOD-CUSTOMER-NO", b"", "customer number is empty")
    if detail.status == "RV" and (detail.orig_sequence_no is None or detail.orig_run_date is None):
        raise RecordError(n, "DOD-ORIG-SEQUENCE-NO", b"", "a reversal must name its original")


def _read_detail(layout: Layout, kind: str, data: bytes, number: int) -> DebitOrderDetail:
    if kind != "D":
        raise RecordError(number, "DOD-REC-TYPE", data[:1], f"record type {kind!r}")
    detail = _detail(decode_record(layout, data, number), number)
    _check_detail(detail)
    return detail


def _add_totals(scan: DoexecScan, data: bytes) -> None:
    """Amount and account of a detail, for the control totals, whatever else is wrong."""
    layout = doexec()[DETAIL]
    for name in ("DOD-AMOUNT", "DOD-ACCOUNT-NO"):
        f = layout.by_name[name]
        try:
            value = decode_field(f, data[f.offset : f.offset + f.length])
        except FieldError:
            continue
        if name == "DOD-AMOUNT":
            scan.total_amount += number({name: value}, name)
        else:
            scan.hash_total = (scan.hash_total + number({name: value}, name)) % HASH_MODULUS


def scan_doexec(path: Path, progress: Callable[[int], None] | None = None) -> DoexecScan:
    """Check the whole file; raises FileRejectedError, else returns what was found."""
    size = path.stat().st_size
    if size == 0 or size % DOEXEC_LRECL:
        raise FileRejectedError(f"file size {size} is not a positive multiple of {DOEXEC_LRECL}")
    total = size // DOEXEC_LRECL
    layouts = doexec()
    scan = DoexecScan()
    with path.open("rb") as handle:
        for number, data in _records(handle):
            kind = _rec_type(data)
            if number == 1:
                _header(scan, kind, data)
            elif number == total:
                _trailer(scan, kind, data, number)
            elif kind in {"H", "T"}:
                raise FileRejectedError(f"record {number}: a {kind} record before the end")
            else:
                scan.details += 1
                _add_totals(scan, data)
                try:
                    _read_detail(layouts[DETAIL], kind, data, number)
                except RecordError as exc:
                    scan.rejects.append(DetailReject(number, exc.field, exc.reason, exc.raw.hex()))
            scan.records = number
            if progress is not None and number % 10_000 == 0:
                progress(number)
    if progress is not None:
        progress(scan.records)
    return scan


def _header(scan: DoexecScan, kind: str, data: bytes) -> None:
    if kind != "H":
        raise FileRejectedError("record 1 is not a header (H)")
    try:
        values = decode_record(doexec()[HEADER], data, 1)
    except RecordError as exc:
        raise FileRejectedError(f"bad header: {exc}") from exc
    scan.file_id = str(values["DOH-FILE-ID"])
    scan.run_date = optional_date(values, "DOH-RUN-DATE")
    scan.run_number = number(values, "DOH-RUN-NUMBER")
    scan.source_system = str(values["DOH-SOURCE-SYSTEM"])
    if not scan.file_id or scan.run_date is None:
        raise FileRejectedError("the header has no file id or run date")


def _trailer(scan: DoexecScan, kind: str, data: bytes, record_no: int) -> None:
    if kind != "T":
        raise FileRejectedError(f"the last record ({record_no}) is not a trailer (T)")
    try:
        values = decode_record(doexec()[TRAILER], data, record_no)
    except RecordError as exc:
        raise FileRejectedError(f"bad trailer: {exc}") from exc
    expected = (
        number(values, "DOT-RECORD-COUNT"),
        number(values, "DOT-TOTAL-AMOUNT"),
        number(values, "DOT-HASH-TOTAL"),
    )
    found = (scan.details, scan.total_amount, scan.hash_total)
    for name, want, got in zip(
        ("record count", "total amount", "hash total"), expected, found, strict=True
    ):
        if want != got:
            raise FileRejectedError(
                f"control totals disagree: {name} {got} in the file, trailer says {want}"
            )


def iter_doexec_details(path: Path, rejected: Iterable[int] = ()) -> Iterator[DebitOrderDetail]:
    """The good details, in file order (second pass, after scan_doexec accepted the file)."""
    skip = set(rejected)
    layout = doexec()[DETAIL]
    with path.open("rb") as handle:
        for record_no, data in _records(handle):
            if record_no in skip or _rec_type(data) != "D":
                continue
            yield _detail(decode_record(layout, data, record_no), record_no)


def write_doexec(
    path: Path, *, file_id: str, run_date: date, details: Iterable[Mapping[str, Value]],
    run_number: int = 1, source_system: str = "DOSYS",
) -> int:  # fmt: skip
    """Write a DOEXEC file (header, details, trailer with correct totals); returns details."""
    layouts = doexec()
    count = amount = hashed = 0
    with path.open("wb") as out:
        out.write(encode_record(layouts[HEADER], {
            "DOH-REC-TYPE": "H", "DOH-FILE-ID": file_id, "DOH-RUN-DATE": run_date,
            "DOH-RUN-NUMBER": run_number, "DOH-SOURCE-SYSTEM": source_system,
        }))  # fmt: skip
        for values in details:
            out.write(encode_record(layouts[DETAIL], {"DOD-REC-TYPE": "D", **values}))
            count += 1
            amount += number(values, "DOD-AMOUNT")
            hashed = (hashed + number(values, "DOD-ACCOUNT-NO")) % HASH_MODULUS
        out.write(encode_record(layouts[TRAILER], {
            "DOT-REC-TYPE": "T", "DOT-RECORD-COUNT": count, "DOT-TOTAL-AMOUNT": amount,
            "DOT-HASH-TOTAL": hashed,
        }))  # fmt: skip
    return count
