"""Reading (and, for tests and the simulator, writing) DOEXEC files, in constant memory.

Two passes, neither holding more than one chunk of the file:

1. `scan_doexec` checks the whole file without any effect: size a positive multiple of 150
   (from fstat, before reading), record 1 a header (H), the last record the one trailer (T),
   no H or T in between, every detail decoded and checked, and the trailer's control totals.
   A structural fault or totals that disagree raise FileRejectedError: nothing from the file
   may take effect. A single bad detail (bad packed nibble, impossible date, unknown status,
   unknown record type, ...) becomes a DetailReject and the scan goes on.
2. Only when the scan accepted the file, `iter_doexec_details` yields the good details in
   file order, applying the very same per-record checks, so it yields exactly the details the
   scan did not reject.

How the control totals are read ("a single bad detail record is rejected on its own ... and
the rest of the file is processed, unless the control totals then disagree"): the totals are
the bank's account of what it sent, so they are computed over every detail record present
between header and trailer, good or rejected: the count over all of them, the total amount
and the hash total over every one whose amount and account number can be decoded. A detail
rejected for its status, a date or its record type therefore still adds up and the rest of
the file is processed; a detail whose amount or account number cannot be read cannot be
added, the totals then disagree, and the whole file is rejected, as the interface says.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import BinaryIO, Final

from services.debit_orders.codec import (
    CODEPAGE,
    FieldError,
    RecordError,
    Value,
    compiled_decoder,
    decode_field,
    decode_record,
    decode_values,
    encode_record,
)
from services.debit_orders.copybook import DOEXEC, DOEXEC_LRECL

LRECL: Final = DOEXEC_LRECL
HASH_MODULUS: Final = 10**17
HEADER: Final = DOEXEC["DO-HEADER-REC"]
DETAIL: Final = DOEXEC["DO-DETAIL-REC"]
TRAILER: Final = DOEXEC["DO-TRAILER-REC"]
STATUSES: Final = DETAIL.by_name["DOD-STATUS"].values  # 00 02 04 30 RV, from the 88 levels
# `_read_detail` unpacks the compiled decoder's tuple in this order: the copybook's.
_DETAIL_FIELDS: Final = (
    "DOD-REC-TYPE", "DOD-SEQUENCE-NO", "DOD-CUSTOMER-NO", "DOD-ACCOUNT-NO", "DOD-USER-CODE",
    "DOD-USER-SHORT-NAME", "DOD-USER-REFERENCE", "DOD-ACTION-DATE", "DOD-AMOUNT",
    "DOD-CURRENCY", "DOD-STATUS", "DOD-ENTRY-CLASS", "DOD-ORIG-SEQUENCE-NO",
    "DOD-ORIG-RUN-DATE",
)  # fmt: skip
if tuple(f.name for f in DETAIL.data_fields) != _DETAIL_FIELDS:  # pragma: no cover
    raise RuntimeError(f"DOEXEC detail fields changed: {[f.name for f in DETAIL.data_fields]}")
_decode_detail: Final = compiled_decoder(DETAIL)
CHUNK_RECORDS: Final = 4096  # records read at a time: 600 kB, whatever the file's size
PROGRESS_EVERY: Final = 10_000
_H, _D, _T = ("H".encode(CODEPAGE), "D".encode(CODEPAGE), "T".encode(CODEPAGE))


class FileRejectedError(Exception):
    """The whole file is rejected: nothing from it may take effect."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class DetailReject:
    """One detail record rejected on its own; the rest of the file is processed."""

    record_no: int
    field: str
    reason: str
    raw_hex: str


@dataclass(frozen=True, slots=True)
class DebitOrderDetail:
    record_no: int  # position in the file, header = 1
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
    orig_sequence_no: int | None  # RV only
    orig_run_date: date | None  # RV only


@dataclass(frozen=True)
class DoexecScan:
    """What pass 1 found in an accepted file: header, counts, rejects and control totals."""

    file_id: str
    run_date: date
    run_number: int
    source_system: str
    records: int  # every record, header and trailer included
    details: int  # detail records present (good and rejected): the trailer's record count
    rejects: list[DetailReject] = field(default_factory=list)
    total_amount: int = 0  # cents; equal to the trailer's, or the file was rejected
    hash_total: int = 0

    @property
    def accepted_details(self) -> int:
        return self.details - len(self.rejects)


def _records(handle: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(record number, 150 bytes), reading a chunk of records at a time."""
    number = 0
    while chunk := handle.read(LRECL * CHUNK_RECORDS):
        for start in range(0, len(chunk), LRECL):
            number += 1
            yield number, chunk[start : start + LRECL]


def _record_count(handle: BinaryIO) -> int:
    """Records in the file, from its size, before reading it; FileRejectedError if wrong."""
    try:
        size = os.fstat(handle.fileno()).st_size
    except (AttributeError, OSError):  # not a real file: measure by seeking
        size = handle.seek(0, os.SEEK_END)
        handle.seek(0)
    if size == 0 or size % LRECL:
        raise FileRejectedError(f"file size {size} is not a positive multiple of {LRECL}")
    if size // LRECL < 2:
        raise FileRejectedError("missing trailer: the file holds a single record")
    return size // LRECL


def _bad(record_no: int, data: bytes, name: str, reason: str) -> RecordError:
    f = DETAIL.by_name[name]
    return RecordError(record_no, name, data[f.offset : f.end], reason)


DetailValues = tuple[
    int, str, int, str, str, str, date, int, str, str, int, "int | None", "date | None"
]


def _detail_values(data: bytes, record_no: int) -> DetailValues:
    """A detail's checked values, in DebitOrderDetail's order after record_no (sequence,
    customer, account, ...); RecordError names the first thing wrong with the record."""
    if data[:1] != _D:
        rec_type = data[:1].decode(CODEPAGE)
        raise _bad(record_no, data, "DOD-REC-TYPE", f"record type {rec_type!r} is not D")
    values = _decode_detail(data)
    if values is None:  # something unusual: the general decoder says what, or reads it
        values = decode_values(DETAIL, data, record_no)
    (_, sequence_no, customer_no, account_no, user_code, user_short_name, user_reference,
     action_date, amount, currency, status, entry_class, orig_sequence_no,
     orig_run_date) = values  # fmt: skip
    if not isinstance(action_date, date):
        raise _bad(record_no, data, "DOD-ACTION-DATE", "an action date is required")
    amount_cents = _int(amount)
    if amount_cents <= 0:
        raise _bad(record_no, data, "DOD-AMOUNT", f"amount {amount_cents} is not positive")
    customer = str(customer_no).strip()
    if not customer:
        raise _bad(record_no, data, "DOD-CUSTOMER-NO", "the customer number is empty")
    orig_sequence = _int(orig_sequence_no) or None
    orig_date = orig_run_date if isinstance(orig_run_date, date) else None
    if status == "RV" and orig_sequence is None:
        raise _bad(record_no, data, "DOD-ORIG-SEQUENCE-NO", "a reversal must name its original")
    if status == "RV" and orig_date is None:
        raise _bad(record_no, data, "DOD-ORIG-RUN-DATE", "a reversal must name its run date")
    return (
        _int(sequence_no), customer, _int(account_no), str(user_code), str(user_short_name),
        str(user_reference), action_date, amount_cents, str(currency), str(status),
        _int(entry_class), orig_sequence, orig_date,
    )  # fmt: skip


def _read_detail(data: bytes, record_no: int) -> DebitOrderDetail:
    """A decoded, checked detail; RecordError names the first thing wrong with it."""
    return DebitOrderDetail(record_no, *_detail_values(data, record_no))


def _int(value: Value) -> int:
    if not isinstance(value, int):  # the layout makes it one; this tells mypy
        raise TypeError(f"not numeric: {value!r}")
    return value


def _control_fields(data: bytes) -> tuple[int | None, int | None]:
    """(amount, account number) of a rejected detail, each None if it cannot be decoded."""
    found: list[int | None] = []
    for name in ("DOD-AMOUNT", "DOD-ACCOUNT-NO"):
        f = DETAIL.by_name[name]
        try:
            found.append(_int(decode_field(f, data[f.offset : f.end])))
        except FieldError:
            found.append(None)
    return found[0], found[1]


def _scan_detail(
    data: bytes, record_no: int, rejects: list[DetailReject]
) -> tuple[int | None, int | None]:
    """(amount, account number) for the control totals; a bad detail joins the rejects."""
    try:
        good = _detail_values(data, record_no)
    except RecordError as exc:
        rejects.append(DetailReject(record_no, exc.field, exc.reason, exc.raw_hex))
        return _control_fields(data)
    return good[7], good[2]  # amount, account number


def _header(data: bytes) -> dict[str, Value]:
    if data[:1] != _H:
        raise FileRejectedError(
            f"missing header: record 1 is a {data[:1].decode(CODEPAGE)!r} record, not H"
        )
    try:
        values = decode_record(HEADER, data, 1)
    except RecordError as exc:
        raise FileRejectedError(f"bad header: {exc}") from exc
    if not values["DOH-FILE-ID"] or values["DOH-RUN-DATE"] is None:
        raise FileRejectedError("bad header: it has no file id or no run date")
    return values


def _check_trailer(data: bytes, record_no: int, found: tuple[int, int, int]) -> None:
    if data[:1] != _T:
        raise FileRejectedError(
            f"missing trailer: the last record ({record_no}) is a "
            f"{data[:1].decode(CODEPAGE)!r} record, not T"
        )
    try:
        values = decode_record(TRAILER, data, record_no)
    except RecordError as exc:
        raise FileRejectedError(f"bad trailer: {exc}") from exc
    names = ("DOT-RECORD-COUNT", "DOT-TOTAL-AMOUNT", "DOT-HASH-TOTAL")
    labels = ("record count", "total amount", "hash total")
    for name, label, got in zip(names, labels, found, strict=True):
        if values[name] != got:
            raise FileRejectedError(
                f"control totals disagree: {label} {got} in the file, "
                f"the trailer says {values[name]}"
            )


def scan_doexec(path: Path, progress: Callable[[int], None] | None = None) -> DoexecScan:
    """Pass 1: check the whole file, with no effect. FileRejectedError, or what was found.

    `progress` is called with the number of records read so far, now and then and at the end.
    """
    rejects: list[DetailReject] = []
    details = total_amount = hash_total = 0
    header: dict[str, Value] = {}
    record_no = 0
    with path.open("rb") as handle:
        total = _record_count(handle)
        for record_no, data in _records(handle):
            if record_no > total:
                break
            if record_no == 1:
                header = _header(data)
            elif record_no == total:
                _check_trailer(data, record_no, (details, total_amount, hash_total))
            elif data[:1] in {_H, _T}:
                kind = "header (H)" if data[:1] == _H else "trailer (T)"
                raise FileRejectedError(
                    f"record {record_no} is a {kind} in the middle of the file; "
                    f"the header must be the first and the one trailer the last of {total}"
                )
            else:
                details += 1
                amount, account = _scan_detail(data, record_no, rejects)
                total_amount += amount or 0
                hash_total = (hash_total + (account or 0)) % HASH_MODULUS
            if progress is not None and record_no % PROGRESS_EVERY == 0:
                progress(record_no)
    if record_no != total:
        raise FileRejectedError(f"the file changed while being read: {record_no} of {total}")
    if progress is not None:
        progress(total)
    run_date = header["DOH-RUN-DATE"]
    return DoexecScan(
        file_id=str(header["DOH-FILE-ID"]),
        run_date=run_date if isinstance(run_date, date) else date.min,
        run_number=_int(header["DOH-RUN-NUMBER"]),
        source_system=str(header["DOH-SOURCE-SYSTEM"]),
        records=total,
        details=details,
        rejects=rejects,
        total_amount=total_amount,
        hash_total=hash_total,
    )


def iter_doexec_details(path: Path, rejected: Iterable[int] = ()) -> Iterator[DebitOrderDetail]:
    """Pass 2, once scan_doexec accepted the file: the good details, in file order.

    The same checks as the scan decide what is good, so the scan's rejects are skipped
    without being passed in; record numbers in `rejected` are skipped as well.
    """
    skip = set(rejected)
    with path.open("rb") as handle:
        total = _record_count(handle)
        for record_no, data in _records(handle):
            if record_no >= total:
                break
            if record_no == 1 or record_no in skip:
                continue
            try:
                yield _read_detail(data, record_no)
            except RecordError:
                continue


def detail_values(detail: DebitOrderDetail) -> dict[str, Value]:
    """The copybook fields of a detail (the inverse of what iter_doexec_details decodes)."""
    return {
        "DOD-SEQUENCE-NO": detail.sequence_no,
        "DOD-CUSTOMER-NO": detail.customer_no,
        "DOD-ACCOUNT-NO": detail.account_no,
        "DOD-USER-CODE": detail.user_code,
        "DOD-USER-SHORT-NAME": detail.user_short_name,
        "DOD-USER-REFERENCE": detail.user_reference,
        "DOD-ACTION-DATE": detail.action_date,
        "DOD-AMOUNT": detail.amount_cents,
        "DOD-CURRENCY": detail.currency,
        "DOD-STATUS": detail.status,
        "DOD-ENTRY-CLASS": detail.entry_class,
        "DOD-ORIG-SEQUENCE-NO": detail.orig_sequence_no or 0,
        "DOD-ORIG-RUN-DATE": detail.orig_run_date,
    }


def write_doexec(
    path: Path, *, file_id: str, run_date: date,
    details: Iterable[Mapping[str, Value] | DebitOrderDetail],
    run_number: int = 1, source_system: str = "DOSYS",
) -> int:  # fmt: skip
    """Write a DOEXEC file: header, details, and the trailer with their control totals.

    Details are DebitOrderDetails or mappings of DOD- field names (DOD-REC-TYPE defaults to
    D). Streams: `details` may be a generator of any length. Returns the number of details.
    """
    count = amount = hashed = 0
    with path.open("wb") as out:
        out.write(encode_record(HEADER, {
            "DOH-REC-TYPE": "H", "DOH-FILE-ID": file_id, "DOH-RUN-DATE": run_date,
            "DOH-RUN-NUMBER": run_number, "DOH-SOURCE-SYSTEM": source_system,
        }))  # fmt: skip
        for item in details:
            values: Mapping[str, Value] = (
                detail_values(item) if isinstance(item, DebitOrderDetail) else item
            )
            out.write(encode_record(DETAIL, {"DOD-REC-TYPE": "D", **values}))
            count += 1
            amount += _int(values["DOD-AMOUNT"])
            hashed = (hashed + _int(values["DOD-ACCOUNT-NO"])) % HASH_MODULUS
        out.write(encode_record(TRAILER, {
            "DOT-REC-TYPE": "T", "DOT-RECORD-COUNT": count, "DOT-TOTAL-AMOUNT": amount,
            "DOT-HASH-TOTAL": hashed,
        }))  # fmt: skip
    return count
