"""Encode and decode fields and records of the bank's fixed-width EBCDIC files.

- PIC X: code page 037, left-justified, padded with EBCDIC spaces (0x40). Decoding drops the
  trailing padding. Text is NFC-normalised before encoding, so a decomposed "e" + U+0302
  becomes the single cp037 letter "ê" rather than an error.
- PIC 9 (zoned): one EBCDIC digit per byte (0xF0..0xF9), right-justified, zero-filled.
  Unsigned only: any other byte, including a signed zone (0xC_/0xD_), is an error.
- COMP-3 (packed): two digits per byte, the last nibble the sign. Decoding accepts C and F as
  positive, D and B as negative (a negative sign in an unsigned field is an error), and
  rejects any other sign and any digit nibble above 9. A field of an even number of digits
  has a spare high-order nibble, which must be 0.
  Encoding writes C for a positive (or zero) signed field, D for a negative one, and F for
  an unsigned field. These are IBM's preferred signs (the compiler's own output for
  S9(n) and 9(n) COMP-3) and the only ones a COBOL NUMERIC class test accepts for each: an
  unsigned packed field signed C fails `IF field IS NUMERIC` on the bank's side (GnuCOBOL
  behaves the same; tests/cobol checks it).
- V99: the implied decimals are not stored; values are integers in the smallest unit (cents).
- Dates: PIC 9(8) fields named ...-DATE are YYYYMMDD as `datetime.date`, 00000000 is None,
  and an impossible date (20250231) is an error.

Encoding never truncates: a number too large for its picture, text longer than its field or
with characters outside code page 037 is a FieldError. A caller that wants a narrative cut to
fit says so with `truncate_text`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from datetime import date
from itertools import product
from operator import itemgetter
from typing import Final

from services.debit_orders.copybook import Field, Layout

CODEPAGE = "cp037"
SPACE = b"\x40"
Value = str | int | date | None

_ZONED_DIGITS = bytes(range(0xF0, 0xFA))
_ZONED_TO_ASCII = bytes.maketrans(_ZONED_DIGITS, b"0123456789")
_POSITIVE = "cf"
_NEGATIVE = "db"


class FieldError(ValueError):
    """A field's bytes (or a value to encode) do not fit its picture."""


class RecordError(ValueError):
    """A record could not be decoded: which record, which field, which bytes, and why."""

    def __init__(self, record_no: int, field: str, raw: bytes, reason: str) -> None:
        self.record_no, self.field, self.raw, self.reason = record_no, field, raw, reason
        super().__init__(f"record {record_no}, field {field} (bytes {raw.hex(' ')}): {reason}")

    @property
    def raw_hex(self) -> str:
        return self.raw.hex()


def decode_alnum(raw: bytes) -> str:
    return raw.decode(CODEPAGE).rstrip(" ")


def encode_alnum(text: str, length: int) -> bytes:
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    try:
        encoded = text.encode(CODEPAGE)
    except UnicodeEncodeError as exc:
        bad = text[exc.start : exc.end]
        raise FieldError(
            f"{text!r} has characters outside code page 037: {bad!r} at position {exc.start}"
        ) from exc
    if len(encoded) > length:
        raise FieldError(f"{text!r} is {len(encoded)} characters, longer than {length}")
    return encoded + SPACE * (length - len(encoded))


def truncate_text(text: str, length: int) -> str:
    """Text cut to fit a PIC X(length) field, on purpose (narratives); still cp037 or an error."""
    text = unicodedata.normalize("NFC", text)
    encode_alnum(text, len(text))  # characters outside code page 037 are still an error
    return text[:length].rstrip(" ")  # cp037 has one byte per character


def decode_zoned(raw: bytes) -> int:
    if raw.translate(None, _ZONED_DIGITS):
        bad = next(b for b in raw if b not in _ZONED_DIGITS)
        raise FieldError(f"byte {bad:02x} is not a zoned decimal digit (f0..f9)")
    return int(raw.translate(_ZONED_TO_ASCII))


def encode_zoned(value: int, digits: int) -> bytes:
    if not 0 <= value < 10**digits:
        raise FieldError(f"{value} does not fit {digits} unsigned digits")
    return f"{value:0{digits}d}".encode(CODEPAGE)


def decode_packed(raw: bytes, *, signed: bool, digits: int | None = None) -> int:
    hexed = raw.hex()
    body, sign = hexed[:-1], hexed[-1:]
    if not body.isdigit():
        bad = next(c for c in body if not c.isdigit())
        raise FieldError(f"nibble {bad} is not a decimal digit")
    if digits is not None and len(body) > digits and body[0] != "0":
        raise FieldError(f"the spare high-order nibble is {body[0]}, not 0")
    value = int(body)
    if sign in _POSITIVE:
        return value
    if sign in _NEGATIVE:
        if not signed:
            raise FieldError(f"negative sign {sign} in an unsigned field")
        return -value
    raise FieldError(f"sign nibble {sign} is not C, F, D or B")


def encode_packed(value: int, digits: int, *, signed: bool) -> bytes:
    if value < 0 and not signed:
        raise FieldError(f"{value} is negative for an unsigned field")
    if abs(value) >= 10**digits:
        raise FieldError(f"{value} does not fit {digits} digits")
    sign = ("d" if value < 0 else "c") if signed else "f"
    width = digits | 1  # an odd number of digit nibbles plus the sign fills whole bytes
    return bytes.fromhex(f"{abs(value):0{width}d}{sign}")


def decode_field(f: Field, raw: bytes) -> Value:
    if f.kind == "alnum":
        return decode_alnum(raw)
    if f.kind == "packed":
        return decode_packed(raw, signed=f.signed, digits=f.digits)
    return _zoned(decode_zoned(raw), f)


def encode_field(f: Field, value: Value) -> bytes:
    if f.kind == "alnum":
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise FieldError(f"needs text, got {value!r}")
        return encode_alnum(value, f.length)
    if f.is_date:
        if value is None:
            return encode_zoned(0, 8)
        if not isinstance(value, date):
            raise FieldError(f"needs a date or None, got {value!r}")
        return encode_zoned(value.year * 10000 + value.month * 100 + value.day, 8)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(f"needs an integer, got {value!r}")
    if f.kind == "packed":
        return encode_packed(value, f.digits, signed=f.signed)
    return encode_zoned(value, f.digits)


# A compiled decoder: for each layout, straight-line Python generated once from the layout's
# fields (no loop, no per-field branching on the kind), which decodes a record whose every
# field is well-formed into a tuple of values in `data_fields` order, and returns None as
# soon as anything is unusual (a bad nibble, a negative sign, an impossible date, a value
# outside an 88 level...). Only `decode_record`'s general path then looks at the record, so
# what is accepted, the values and every error stay exactly that path's; the compiled one
# only makes the common case about three times faster. Dates are decoded once per distinct
# YYYYMMDD (a daily file holds a handful).
# Code page 037 maps the 256 byte values one to one onto U+0000..U+00FF, so translating the
# bytes to Latin-1 and decoding that gives the same text about four times faster than the
# cp037 codec (checked below, at import).
EBCDIC_TO_LATIN1: Final = bytes(range(256)).decode(CODEPAGE).encode("latin-1")
if EBCDIC_TO_LATIN1.decode("latin-1") != bytes(range(256)).decode(CODEPAGE):  # pragma: no cover
    raise RuntimeError("code page 037 is not a permutation of Latin-1 here")
FastDecoder = Callable[[bytes], "tuple[Value, ...] | None"]
_MISSING: object = object()
_DATE_CACHE_LIMIT = 4096
_compiled: dict[int, tuple[Layout, FastDecoder]] = {}


def _getter(slices: list[slice] | list[int]) -> Callable[[str], object]:
    """One C call for every slice (or index) at once; a tuple even for one or none."""
    if not slices:
        return lambda _text: ()
    if len(slices) == 1:
        only = slices[0]
        return lambda text: (text[only],)
    return itemgetter(*slices)


def _compile(layout: Layout) -> FastDecoder:
    texts = [f for f in layout.data_fields if f.kind != "packed"]
    packed = [f for f in layout.data_fields if f.kind == "packed"]
    zoned = [f for f in texts if f.kind == "zoned"]
    env: dict[str, object] = {
        "MISSING": _MISSING, "FieldError": FieldError, "EBCDIC": EBCDIC_TO_LATIN1,
        "zoned": _zoned, "TG": _getter([slice(f.offset, f.end) for f in texts]),
        "PG": _getter([slice(2 * f.offset, 2 * f.end - 1) for f in packed]),
        "SG": _getter([2 * f.end - 1 for f in packed]),
        "SIGNS": frozenset(product("cf", repeat=len(packed))),
    }  # fmt: skip
    var = {f.name: f"T{i}" for i, f in enumerate(texts)}
    var.update({f.name: f"P{i}" for i, f in enumerate(packed)})
    lines = [
        "def decode(data):",
        f"    if len(data) != {layout.lrecl}:",
        "        return None",
        "    t = data.translate(EBCDIC).decode('latin-1')",
    ]
    if texts:
        lines.append(f"    ({''.join(var[f.name] + ', ' for f in texts)}) = TG(t)")
    if packed:
        lines += [
            "    h = data.hex()",
            f"    ({''.join(var[f.name] + ', ' for f in packed)}) = PG(h)",
            f"    if not ({' + '.join(var[f.name] for f in packed)}).isdigit():",
            "        return None",
            "    if tuple(SG(h)) not in SIGNS:",
            "        return None",
        ]
        for f in packed:
            if not f.digits % 2:  # the spare high-order nibble must be 0
                lines += [f"    if {var[f.name]}[0] != '0':", "        return None"]
    if zoned:
        lines += [
            f"    z = {' + '.join(var[f.name] for f in zoned)}",
            "    if not (z.isdigit() and z.isascii()):",
            "        return None",
        ]
    names = []
    for i, f in enumerate(layout.data_fields):
        v, x = f"v{i}", var[f.name]
        names.append(v)
        if f.kind == "alnum":
            lines.append(f"    {v} = {x}.rstrip(' ')")
        elif f.kind == "packed" or not f.is_date:
            lines.append(f"    {v} = int({x})")
        else:
            env[f"F{i}"], env[f"D{i}"] = f, {}
            lines += [
                f"    {v} = D{i}.get({x}, MISSING)",
                f"    if {v} is MISSING:",
                "        try:",
                f"            {v} = zoned(int({x}), F{i})",
                "        except FieldError:",
                "            return None",
                f"        if len(D{i}) < {_DATE_CACHE_LIMIT}:",
                f"            D{i}[{x}] = {v}",
            ]
        if f.values:
            env[f"V{i}"] = frozenset(f.values)
            lines += [f"    if {v} not in V{i}:", "        return None"]
    lines.append(f"    return ({''.join(n + ', ' for n in names)})")
    exec("\n".join(lines), env)  # noqa: S102 (code generated from the copybook's layout)
    decoder: FastDecoder = env["decode"]  # type: ignore[assignment]
    return decoder


def compiled_decoder(layout: Layout) -> FastDecoder:
    """The layout's compiled decoder (see above): a tuple of values, or None."""
    found = _compiled.get(id(layout))
    if found is None or found[0] is not layout:
        found = (layout, _compile(layout))
        _compiled[id(layout)] = found
    return found[1]


def decode_values(layout: Layout, data: bytes, record_no: int) -> tuple[Value, ...]:
    """The values of `layout.data_fields`, in order, as `decode_record` decodes them."""
    values = compiled_decoder(layout)(data)
    if values is None:
        found = _decode_record(layout, data, record_no)
        return tuple(found[f.name] for f in layout.data_fields)
    return values


def decode_record(layout: Layout, data: bytes, record_no: int) -> dict[str, Value]:
    """Every named field of the record (fillers skipped); RecordError on the first bad one.

    A field with 88-level conditions must hold one of their values. The compiled decoder
    reads a well-formed record; anything else goes through `_decode_record`.
    """
    values = compiled_decoder(layout)(data)
    if values is None:
        return _decode_record(layout, data, record_no)
    return dict(zip([f.name for f in layout.data_fields], values, strict=True))


def _decode_record(layout: Layout, data: bytes, record_no: int) -> dict[str, Value]:
    """Every named field of the record (fillers skipped); RecordError on the first bad one.

    A field with 88-level conditions must hold one of their values. The record's text and
    hex are decoded once and sliced per field (several times faster than field by field);
    a slice that does not look right is decoded again by the field's own decoder, which
    gives the reason.
    """
    if len(data) != layout.lrecl:
        raise RecordError(
            record_no, layout.name, data[:16], f"record is {len(data)} bytes, not {layout.lrecl}"
        )
    text = data.decode(CODEPAGE)
    hexed = data.hex()
    values: dict[str, Value] = {}
    for f in layout.data_fields:
        start, end = f.offset, f.end
        try:
            if f.kind == "alnum":
                value: Value = text[start:end].rstrip(" ")
            elif f.kind == "packed":
                body = hexed[2 * start : 2 * end - 1]
                if (
                    body.isdigit()
                    and hexed[2 * end - 1] in _POSITIVE
                    and (f.digits % 2 or body[0] == "0")
                ):
                    value = int(body)
                else:
                    value = decode_packed(data[start:end], signed=f.signed, digits=f.digits)
            else:
                digits = text[start:end]
                if digits.isdigit() and digits.isascii():
                    value = _zoned(int(digits), f) if f.is_date else int(digits)
                else:
                    value = decode_field(f, data[start:end])
        except FieldError as exc:
            raise RecordError(
                record_no, f.name, data[start:end], f"PIC {f.picture}: {exc}"
            ) from exc
        if f.values and value not in f.values:
            raise RecordError(
                record_no, f.name, data[start:end], f"{value!r} is not one of {f.values}"
            )
        values[f.name] = value
    return values


def _zoned(number: int, f: Field) -> int | date | None:
    if not f.is_date:
        return number
    if number == 0:
        return None
    try:
        return date(number // 10000, number // 100 % 100, number % 100)
    except ValueError as exc:
        raise FieldError(f"{number:08d} is not a date ({exc})") from exc


def encode_record(layout: Layout, values: Mapping[str, Value]) -> bytes:
    """The record's bytes; fillers are EBCDIC spaces; unknown or missing names are errors."""
    unknown = set(values) - {f.name for f in layout.data_fields}
    if unknown:
        raise FieldError(f"{layout.name} has no field(s) {sorted(unknown)}")
    parts = []
    for f in layout.fields:
        if f.is_filler:
            parts.append(SPACE * f.length)
            continue
        if f.name not in values:
            raise FieldError(f"{layout.name}: {f.name} is missing")
        value = values[f.name]
        if f.values and value not in f.values:
            raise FieldError(f"{f.name}: {value!r} is not one of {f.values}")
        try:
            parts.append(encode_field(f, value))
        except FieldError as exc:
            raise FieldError(f"{f.name} (PIC {f.picture}): {exc}") from exc
    return b"".join(parts)
