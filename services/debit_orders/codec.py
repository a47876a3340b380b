"""Encode and decode fields and records of the bank's fixed-width EBCDIC files.

PIC X: code page 037, left-justified, padded with EBCDIC spaces (0x40).
PIC 9 (zoned): one EBCDIC digit per byte (0xF0..0xF9), right-justified, zero-filled.
COMP-3 (packed): two digits per byte, the last nibble the sign: C or F positive, D or B
negative. We write C for signed fields and F for unsigned ones, as IBM compilers do.
Dates are PIC 9(8) YYYYMMDD; 00000000 means none.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from services.debit_orders.copybook import Field, Layout

CODEPAGE = "cp037"
SPACE = 0x40
POSITIVE = frozenset({0xC, 0xF})
NEGATIVE = frozenset({0xD, 0xB})
Value = str | int | date | None


class FieldError(ValueError):
    """A field's bytes (or value) do not fit its picture."""


class RecordError(ValueError):
    """A record could not be decoded: which record, which field, which bytes, why."""

    def __init__(self, record_no: int, field: str, raw: bytes, reason: str) -> None:
        self.record_no, self.field, self.raw, self.reason = record_no, field, raw, reason
        super().__init__(f"record {record_no}, field {field} (bytes {raw.hex(' ')}): {reason}")


def decode_alnum(raw: bytes) -> str:
    return raw.decode(CODEPAGE).rstrip(" ")


def encode_alnum(text: str, length: int) -> bytes:
    try:
        encoded = text.encode(CODEPAGE)
    except UnicodeEncodeError as exc:
        raise FieldError(f"{text!r} has characters outside code page 037") from exc
    if len(encoded) > length:
        raise FieldError(f"{text!r} is longer than {length} characters")
    return encoded + bytes([SPACE]) * (length - len(encoded))


def decode_zoned(raw: bytes) -> int:
    value = 0
    for byte in raw:
        if byte >> 4 != 0xF or byte & 0xF > 9:
            raise FieldError(f"byte {byte:02x} is not a zoned decimal digit")
        value = value * 10 + (byte & 0xF)
    return value


def encode_zoned(value: int, digits: int) -> bytes:
    if value < 0 or value >= 10**digits:
        raise FieldError(f"{value} does not fit PIC 9({digits})")
    return bytes(0xF0 | int(d) for d in str(value).rjust(digits, "0"))


def decode_packed(raw: bytes, *, signed: bool) -> int:
    nibbles = [n for byte in raw for n in (byte >> 4, byte & 0xF)]
    sign = nibbles.pop()
    value = 0
    for nibble in nibbles:
        if nibble > 9:
            raise FieldError(f"nibble {nibble:x} is not a decimal digit")
        value = value * 10 + nibble
    if sign in POSITIVE:
        return value
    if sign in NEGATIVE:
        if not signed:
            raise FieldError("negative sign in an unsigned field")
        return -value
    raise FieldError(f"sign nibble {sign:x} is not C, F, D or B")


def encode_packed(value: int, digits: int, *, signed: bool) -> bytes:
    if not signed and value < 0:
        raise FieldError(f"{value} is negative for an unsigned field")
    if abs(value) >= 10**digits:
        raise FieldError(f"{value} does not fit {digits} digits")
    sign = (0xD if value < 0 else 0xC) if signed else 0xF
    text = str(abs(value)).rjust(digits + (1 - digits % 2), "0")  # odd count + sign = bytes
    nibbles = [int(d) for d in text] + [sign]
    return bytes((nibbles[i] << 4) | nibbles[i + 1] for i in range(0, len(nibbles), 2))


def _is_date(f: Field) -> bool:
    return f.kind == "zoned" and f.digits == 8 and f.name.endswith("-DATE")


def decode_field(f: Field, raw: bytes) -> Value:
    if f.kind == "alnum":
        return decode_alnum(raw)
    if f.kind == "packed":
        return decode_packed(raw, signed=f.signed)
    number = decode_zoned(raw)
    if not _is_date(f):
        return number
    if number == 0:
        return None
    try:
        return date(number // 10000, number // 100 % 100, number % 100)
    except ValueError as exc:
        raise FieldError(f"{number:08d} is not a date") from exc


def encode_field(f: Field, value: Value) -> bytes:
    if f.kind == "alnum":
        return encode_alnum(str(value or ""), f.length)
    if _is_date(f):
        if value is None:
            return encode_zoned(0, 8)
        if not isinstance(value, date):
            raise FieldError(f"{f.name} needs a date, got {value!r}")
        return encode_zoned(int(f"{value:%Y%m%d}"), 8)
    if not isinstance(value, int):
        raise FieldError(f"{f.name} needs an integer, got {value!r}")
    if f.kind == "packed":
        return encode_packed(value, f.digits, signed=f.signed)
    return encode_zoned(value, f.digits)


def decode_record(layout: Layout, data: bytes, record_no: int) -> dict[str, Value]:
    """Every named field of the record (fillers skipped); RecordError on the first bad one."""
    if len(data) != layout.length:
        raise RecordError(record_no, layout.name, data[:16], f"record is {len(data)} bytes")
    values: dict[str, Value] = {}
    for f in layout.fields:
        if f.name.startswith("FILLER"):
            continue
        raw = data[f.offset : f.offset + f.length]
        try:
            value = decode_field(f, raw)
        except (FieldError, UnicodeDecodeError) as exc:
            raise RecordError(record_no, f.name, raw, str(exc)) from exc
        if f.values and value not in f.values:
            raise RecordError(record_no, f.name, raw, f"{value!r} is not one of {f.values}")
        values[f.name] = value
    return values


def encode_record(layout: Layout, values: Mapping[str, Value]) -> bytes:
    """The record's bytes; fillers are spaces; unknown or missing names are errors."""
    unknown = set(values) - set(layout.by_name)
    if unknown:
        raise FieldError(f"{layout.name} has no field(s) {sorted(unknown)}")
    parts = []
    for f in layout.fields:
        if f.name.startswith("FILLER"):
            parts.append(bytes([SPACE]) * f.length)
            continue
        if f.name not in values:
            raise FieldError(f"{layout.name}: {f.name} is missing")
        try:
            parts.append(encode_field(f, values[f.name]))
        except FieldError as exc:
            raise FieldError(f"{f.name}: {exc}") from exc
    return b"".join(parts)
