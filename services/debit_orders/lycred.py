"""Writing (and reading back) LYCRED files: loyalty credits and debits for the bank."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from services.debit_orders.codec import Value, decode_record, encode_record
from services.debit_orders.copybook import LYCRED_LRECL, lycred

HASH_MODULUS = 10**17
HEADER, DETAIL, TRAILER = "LY-HEADER-REC", "LY-DETAIL-REC", "LY-TRAILER-REC"


@dataclass(frozen=True, slots=True)
class LycredInstruction:
    customer_no: str
    account_no: int
    direction: Literal["C", "D"]
    amount_cents: int
    currency: str
    reference: str
    narrative: str
    value_date: date


def render_lycred(
    file_id: str, created_at: datetime, source_system: str,
    instructions: Sequence[LycredInstruction],
) -> bytes:  # fmt: skip
    """The whole file; the same inputs always give the same bytes (sequence 1..n in order)."""
    layouts = lycred()
    records = [
        encode_record(layouts[HEADER], {
            "LYH-REC-TYPE": "H", "LYH-FILE-ID": file_id,
            "LYH-CREATION-DATE": created_at.date(),
            "LYH-CREATION-TIME": int(f"{created_at:%H%M%S}"),
            "LYH-SOURCE-SYSTEM": source_system,
        })
    ]  # fmt: skip
    credited = debited = hashed = 0
    for sequence, item in enumerate(instructions, start=1):
        if item.amount_cents <= 0:
            raise ValueError(f"instruction {sequence}: amount must be positive")
        records.append(
            encode_record(layouts[DETAIL], {
                "LYD-REC-TYPE": "D", "LYD-SEQUENCE-NO": sequence,
                "LYD-CUSTOMER-NO": item.customer_no, "LYD-ACCOUNT-NO": item.account_no,
                "LYD-DIRECTION": item.direction, "LYD-AMOUNT": item.amount_cents,
                "LYD-CURRENCY": item.currency, "LYD-REFERENCE": item.reference,
                "LYD-NARRATIVE": item.narrative, "LYD-VALUE-DATE": item.value_date,
            })
        )  # fmt: skip
        if item.direction == "C":
            credited += item.amount_cents
        else:
            debited += item.amount_cents
        hashed = (hashed + item.account_no) % HASH_MODULUS
    records.append(
        encode_record(layouts[TRAILER], {
            "LYT-REC-TYPE": "T", "LYT-RECORD-COUNT": len(instructions),
            "LYT-TOTAL-CREDITS": credited, "LYT-TOTAL-DEBITS": debited, "LYT-HASH-TOTAL": hashed,
        })
    )  # fmt: skip
    return b"".join(records)


def read_lycred(
    data: bytes,
) -> tuple[dict[str, Value], list[dict[str, Value]], dict[str, Value]]:
    """(header, details, trailer) of a LYCRED file, for verification and tests."""
    if not data or len(data) % LYCRED_LRECL:
        raise ValueError(f"size {len(data)} is not a positive multiple of {LYCRED_LRECL}")
    layouts = lycred()
    chunks = [data[i : i + LYCRED_LRECL] for i in range(0, len(data), LYCRED_LRECL)]
    header = decode_record(layouts[HEADER], chunks[0], 1)
    details = [decode_record(layouts[DETAIL], c, n) for n, c in enumerate(chunks[1:-1], start=2)]
    trailer = decode_record(layouts[TRAILER], chunks[-1], len(chunks))
    return header, details, trailer
