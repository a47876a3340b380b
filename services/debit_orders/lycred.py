"""Writing (and reading back) LYCRED files: loyalty credits and debits for the bank to post.

`render_lycred` is a pure function of its arguments: the same file id, creation time, source
and instructions in the same order always give the same bytes. Sequence numbers are 1..n in
the order given, so the caller decides the order (and sorts). Nothing is ever cut short: a
narrative longer than 30 characters or with characters outside code page 037 is a
LycredError naming the instruction; a caller that wants it cut says so with `fit_narrative`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Literal

from services.debit_orders.codec import (
    CODEPAGE,
    FieldError,
    RecordError,
    Value,
    decode_record,
    encode_record,
    truncate_text,
)
from services.debit_orders.copybook import LYCRED, LYCRED_LRECL

LRECL: Final = LYCRED_LRECL
HASH_MODULUS: Final = 10**17
HEADER: Final = LYCRED["LY-HEADER-REC"]
DETAIL: Final = LYCRED["LY-DETAIL-REC"]
TRAILER: Final = LYCRED["LY-TRAILER-REC"]
NARRATIVE_LENGTH: Final = DETAIL.by_name["LYD-NARRATIVE"].length


class LycredError(ValueError):
    """An instruction cannot be written as it is, or a LYCRED file does not read back."""


@dataclass(frozen=True, slots=True)
class LycredInstruction:
    customer_no: str
    account_no: int
    direction: Literal["C", "D"]  # C credits the customer (cash back), D debits (a fee)
    amount_cents: int  # positive
    currency: str
    reference: str
    narrative: str  # in the customer's language, code page 037
    value_date: date


def fit_narrative(text: str) -> str:
    """A narrative cut to LYD-NARRATIVE's 30 characters, on purpose; cp037 or FieldError."""
    return truncate_text(text, NARRATIVE_LENGTH)


def _detail(sequence: int, item: LycredInstruction) -> bytes:
    if item.amount_cents <= 0:
        raise LycredError(
            f"instruction {sequence} (customer {item.customer_no}): "
            f"amount {item.amount_cents} is not positive"
        )
    try:
        return encode_record(DETAIL, {
            "LYD-REC-TYPE": "D", "LYD-SEQUENCE-NO": sequence,
            "LYD-CUSTOMER-NO": item.customer_no, "LYD-ACCOUNT-NO": item.account_no,
            "LYD-DIRECTION": item.direction, "LYD-AMOUNT": item.amount_cents,
            "LYD-CURRENCY": item.currency, "LYD-REFERENCE": item.reference,
            "LYD-NARRATIVE": item.narrative, "LYD-VALUE-DATE": item.value_date,
        })  # fmt: skip
    except FieldError as exc:
        raise LycredError(f"instruction {sequence} (customer {item.customer_no}): {exc}") from exc


def render_lycred(
    file_id: str, created_at: datetime, source_system: str,
    instructions: Iterable[LycredInstruction],
) -> bytes:  # fmt: skip
    """The whole file: header, details numbered 1..n in the order given, trailer with totals.

    The creation date and time are created_at's own (wall-clock) fields.
    """
    try:
        header = encode_record(HEADER, {
            "LYH-REC-TYPE": "H", "LYH-FILE-ID": file_id,
            "LYH-CREATION-DATE": created_at.date(),
            "LYH-CREATION-TIME": created_at.hour * 10000 + created_at.minute * 100
            + created_at.second,
            "LYH-SOURCE-SYSTEM": source_system,
        })  # fmt: skip
    except FieldError as exc:
        raise LycredError(f"header: {exc}") from exc
    records = [header]
    count = credited = debited = hashed = 0
    for count, item in enumerate(instructions, start=1):
        records.append(_detail(count, item))
        if item.direction == "C":
            credited += item.amount_cents
        else:
            debited += item.amount_cents
        hashed = (hashed + item.account_no) % HASH_MODULUS
    try:
        records.append(encode_record(TRAILER, {
            "LYT-REC-TYPE": "T", "LYT-RECORD-COUNT": count, "LYT-TOTAL-CREDITS": credited,
            "LYT-TOTAL-DEBITS": debited, "LYT-HASH-TOTAL": hashed,
        }))  # fmt: skip
    except FieldError as exc:
        raise LycredError(f"trailer: {exc}") from exc
    return b"".join(records)


def read_lycred(
    data: bytes,
) -> tuple[dict[str, Value], list[dict[str, Value]], dict[str, Value]]:
    """(header, details, trailer) of a LYCRED file, checked like the bank would check it.

    LycredError if the size is not a multiple of 120, the first record is not the header,
    the last not the trailer, a detail is not a detail, sequence numbers are not 1..n, or the
    trailer's control totals disagree with the details.
    """
    if not data or len(data) % LRECL or len(data) < 2 * LRECL:
        raise LycredError(f"size {len(data)} is not a multiple of {LRECL} of 2 records or more")
    records = [data[i : i + LRECL] for i in range(0, len(data), LRECL)]
    kinds = ["H"] + ["D"] * (len(records) - 2) + ["T"]
    for number, (record, kind) in enumerate(zip(records, kinds, strict=True), start=1):
        rec_type = record[:1].decode(CODEPAGE)
        if rec_type != kind:
            raise LycredError(f"record {number} is a {rec_type!r} record where {kind!r} belongs")
    try:
        header = decode_record(HEADER, records[0], 1)
        details = [
            decode_record(DETAIL, record, number)
            for number, record in enumerate(records[1:-1], start=2)
        ]
        trailer = decode_record(TRAILER, records[-1], len(records))
    except RecordError as exc:
        raise LycredError(str(exc)) from exc
    sequences = [d["LYD-SEQUENCE-NO"] for d in details]
    if sequences != list(range(1, len(details) + 1)):
        raise LycredError("detail sequence numbers are not 1..n in order")
    found = {
        "LYT-RECORD-COUNT": len(details),
        "LYT-TOTAL-CREDITS": _total(details, "C"),
        "LYT-TOTAL-DEBITS": _total(details, "D"),
        "LYT-HASH-TOTAL": sum(_number(d["LYD-ACCOUNT-NO"]) for d in details) % HASH_MODULUS,
    }
    for name, value in found.items():
        if trailer[name] != value:
            raise LycredError(f"{name} is {trailer[name]}, the details add up to {value}")
    return header, details, trailer


def _number(value: Value) -> int:
    if not isinstance(value, int):
        raise TypeError(f"not numeric: {value!r}")
    return value


def _total(details: list[dict[str, Value]], direction: str) -> int:
    return sum(_number(d["LYD-AMOUNT"]) for d in details if d["LYD-DIRECTION"] == direction)
