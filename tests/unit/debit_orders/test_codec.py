"""EBCDIC text, zoned and packed decimals: byte-exact by hand, and round trips for every kind."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.debit_orders.codec import (
    FieldError,
    RecordError,
    decode_alnum,
    decode_field,
    decode_packed,
    decode_record,
    decode_zoned,
    encode_alnum,
    encode_field,
    encode_packed,
    encode_record,
    encode_zoned,
    truncate_text,
)
from services.debit_orders.copybook import DOEXEC, LYCRED
from tests.unit.debit_orders.strategies import cp037_text, field_values, records

DETAIL = DOEXEC["DO-DETAIL-REC"]
AMOUNT = DETAIL.by_name["DOD-AMOUNT"]

# Hand-computed: COMP-3 puts two digits per byte and the sign in the last nibble.
PACKED = [
    (12345, 5, True, "12345c"),  # S9(5) COMP-3: 3 bytes, positive sign C
    (-12345, 5, True, "12345d"),  # negative sign D
    (12345, 5, False, "12345f"),  # 9(5) COMP-3, unsigned: sign F
    (12345, 9, False, "000012345f"),  # 9(9): 5 bytes
    (69900, 13, True, "0000000069900c"),  # S9(11)V99: 699.00 as 69900 cents, 7 bytes
    (-1, 13, True, "0000000000001d"),  # minus one cent
    (0, 9, False, "000000000f"),
    (0, 13, True, "0000000000000c"),  # zero is positive
    (4071234567, 13, False, "0004071234567f"),  # 9(13): 7 bytes
    (10**17 - 1, 17, False, "99999999999999999f"),  # 9(17): 9 bytes, the largest
    (1234, 4, False, "01234f"),  # an even digit count has a spare high-order nibble 0
]


@pytest.mark.parametrize(("value", "digits", "signed", "hexed"), PACKED)
def test_packed_decimal_is_byte_exact(value: int, digits: int, signed: bool, hexed: str) -> None:
    assert len(hexed) == 2 * (digits // 2 + 1)
    assert encode_packed(value, digits, signed=signed).hex() == hexed
    assert decode_packed(bytes.fromhex(hexed), signed=signed, digits=digits) == value


def test_every_sign_nibble_is_read_and_no_other() -> None:
    assert decode_packed(b"\x12\x34\x5c", signed=True) == 12345
    assert decode_packed(b"\x12\x34\x5f", signed=True) == 12345
    assert decode_packed(b"\x12\x34\x5d", signed=True) == -12345
    assert decode_packed(b"\x12\x34\x5b", signed=True) == -12345
    for sign in "ae0123456789":  # pragma: allowlist secret
        with pytest.raises(FieldError, match=f"sign nibble {sign} is not C, F, D or B"):
            decode_packed(bytes.fromhex(f"12345{sign}"), signed=True)


def test_bad_digit_nibbles_and_signs_are_errors() -> None:
    with pytest.raises(FieldError, match="nibble c is not a decimal digit"):
        decode_packed(bytes.fromhex("1c345c"), signed=True)
    with pytest.raises(FieldError, match="nibble a is not a decimal digit"):
        decode_packed(bytes.fromhex("0000000a1f"), signed=False)
    with pytest.raises(FieldError, match="negative sign d in an unsigned field"):
        decode_packed(bytes.fromhex("12345d"), signed=False)
    with pytest.raises(FieldError, match="spare high-order nibble is 1"):
        decode_packed(bytes.fromhex("11234f"), signed=False, digits=4)


def test_packed_overflow_is_an_error_not_a_truncation() -> None:
    with pytest.raises(FieldError, match="does not fit 5 digits"):
        encode_packed(100_000, 5, signed=True)
    with pytest.raises(FieldError, match="negative for an unsigned field"):
        encode_packed(-1, 9, signed=False)
    with pytest.raises(FieldError, match=r"DOD-AMOUNT \(PIC S9\(11\)V99 COMP-3\)"):
        encode_record(DETAIL, {**_detail(), "DOD-AMOUNT": 10**13})


def test_zoned_decimals_are_byte_exact() -> None:
    assert encode_zoned(20261120, 8) == b"\xf2\xf0\xf2\xf6\xf1\xf1\xf2\xf0"
    assert encode_zoned(1, 2) == b"\xf0\xf1"
    assert decode_zoned(b"\xf0\xf0\xf4\xf2") == 42
    with pytest.raises(FieldError, match="byte c1 is not a zoned decimal digit"):
        decode_zoned(b"\xf0\xc1")
    with pytest.raises(FieldError, match="byte 32 is not a zoned"):
        decode_zoned(b"20")  # ASCII digits are not EBCDIC ones
    with pytest.raises(FieldError, match="does not fit 2 unsigned digits"):
        encode_zoned(100, 2)


def test_dates_are_zoned_yyyymmdd_and_zeros_mean_none() -> None:
    f = DETAIL.by_name["DOD-ACTION-DATE"]
    assert encode_field(f, date(2026, 11, 20)).hex() == "f2f0f2f6f1f1f2f0"
    assert decode_field(f, bytes.fromhex("f2f0f2f6f1f1f2f0")) == date(2026, 11, 20)
    assert encode_field(f, None) == b"\xf0" * 8
    assert decode_field(f, b"\xf0" * 8) is None
    with pytest.raises(FieldError, match="20250231 is not a date"):
        decode_field(f, "20250231".encode("cp037"))
    with pytest.raises(FieldError, match="20261301 is not a date"):
        decode_field(f, "20261301".encode("cp037"))


def test_ebcdic_text_is_byte_exact() -> None:
    assert encode_alnum("ZAR", 5) == b"\xe9\xc1\xd9\x40\x40"  # padded with EBCDIC spaces
    assert decode_alnum(b"\xe9\xc1\xd9\x40\x40") == "ZAR"
    assert encode_alnum("", 2) == b"\x40\x40"
    # Afrikaans letters are in code page 037: e-circumflex 0x52, e-diaeresis 0x53, o-circ. 0xCB.
    assert encode_alnum("êëô", 3) == b"\x52\x53\xcb"
    assert encode_alnum("e\u0302", 1) == b"\x52"  # a decomposed e-circumflex is the same letter
    with pytest.raises(FieldError, match="outside code page 037: '€' at position 1"):
        encode_alnum("R€", 5)
    with pytest.raises(FieldError, match="4 characters, longer than 3"):
        encode_alnum("ABCD", 3)


def test_text_is_cut_only_when_the_caller_asks() -> None:
    long = "Belonings kontant terug vir Oktober"
    with pytest.raises(FieldError, match="longer than 30"):
        encode_alnum(long, 30)
    assert truncate_text(long, 30) == "Belonings kontant terug vir Ok"
    assert truncate_text("Kontant terug      x", 18) == "Kontant terug"
    with pytest.raises(FieldError, match="outside code page 037"):
        truncate_text("€" + long, 30)


def test_values_of_the_wrong_type_are_errors() -> None:
    with pytest.raises(FieldError, match="needs an integer"):
        encode_field(AMOUNT, "12.00")
    with pytest.raises(FieldError, match="needs an integer"):
        encode_field(AMOUNT, True)  # noqa: FBT003 - a bool is not an amount
    with pytest.raises(FieldError, match="needs text"):
        encode_field(DETAIL.by_name["DOD-CUSTOMER-NO"], 100234567890)
    with pytest.raises(FieldError, match="needs a date"):
        encode_field(DETAIL.by_name["DOD-ACTION-DATE"], 20261120)


def _detail() -> dict[str, object]:
    return {
        "DOD-REC-TYPE": "D",
        "DOD-SEQUENCE-NO": 1,
        "DOD-CUSTOMER-NO": "100234567890",
        "DOD-ACCOUNT-NO": 4071234567,
        "DOD-USER-CODE": "VACT",
        "DOD-USER-SHORT-NAME": "VIRGIN ACT",
        "DOD-USER-REFERENCE": "000123/04",
        "DOD-ACTION-DATE": date(2026, 11, 20),
        "DOD-AMOUNT": 69900,
        "DOD-CURRENCY": "ZAR",
        "DOD-STATUS": "00",
        "DOD-ENTRY-CLASS": 1,
        "DOD-ORIG-SEQUENCE-NO": 0,
        "DOD-ORIG-RUN-DATE": None,
    }


# A whole DOEXEC detail record, 150 bytes, worked out by hand from the copybook.
DETAIL_HEX = (
    "c4"  # 0   DOD-REC-TYPE X(1): 'D'
    "000000001f"  # 1   DOD-SEQUENCE-NO 9(9) COMP-3: 1, unsigned so sign F, 5 bytes
    "f1f0f0f2f3f4f5f6f7f8f9f0"  # 6   DOD-CUSTOMER-NO X(12): '100234567890'
    "0004071234567f"  # 18  DOD-ACCOUNT-NO 9(13) COMP-3: 4071234567, 7 bytes
    "e5c1c3e3"  # 25  DOD-USER-CODE X(4): 'VACT'
    # 29  DOD-USER-SHORT-NAME X(10): 'VIRGIN ACT'
    "e5c9d9c7c9d540c1c3e3"  # pragma: allowlist secret
    "f0f0f0f1f2f361f0f4"
    + "40" * 11  # 39 DOD-USER-REFERENCE X(20): '000123/04' ('/' = 61)
    + "f2f0f2f6f1f1f2f0"  # 59  DOD-ACTION-DATE 9(8): 20261120, zoned
    + "0000000069900c"  # 67  DOD-AMOUNT S9(11)V99 COMP-3: R699.00 = 69900 cents, sign C
    + "e9c1d9"  # 74  DOD-CURRENCY X(3): 'ZAR'
    + "f0f0"  # 77  DOD-STATUS X(2): '00' paid
    + "f0f1"  # 79  DOD-ENTRY-CLASS 9(2): 01, zoned
    + "000000000f"  # 81  DOD-ORIG-SEQUENCE-NO 9(9) COMP-3: none (0)
    + "f0" * 8  # 86  DOD-ORIG-RUN-DATE 9(8): 00000000, none
    + "40" * 56  # 94  FILLER X(56): EBCDIC spaces
)


def test_a_doexec_detail_record_is_byte_exact() -> None:
    assert len(bytes.fromhex(DETAIL_HEX)) == 150
    record = encode_record(DETAIL, _detail())
    assert record.hex() == DETAIL_HEX
    assert decode_record(DETAIL, bytes.fromhex(DETAIL_HEX), 7) == _detail()


def test_a_bad_field_names_the_record_the_field_and_the_bytes() -> None:
    record = bytearray.fromhex(DETAIL_HEX)
    record[1:6] = bytes.fromhex("0000000a1f")  # a nibble 'a' in the sequence number
    with pytest.raises(RecordError) as error:
        decode_record(DETAIL, bytes(record), 42)
    assert (error.value.record_no, error.value.field, error.value.raw_hex) == (
        42, "DOD-SEQUENCE-NO", "0000000a1f",
    )  # fmt: skip
    assert str(error.value) == (
        "record 42, field DOD-SEQUENCE-NO (bytes 00 00 00 0a 1f): "
        "PIC 9(9) COMP-3: nibble a is not a decimal digit"
    )


def test_negative_amounts_decode_from_d_and_b() -> None:
    record = bytearray.fromhex(DETAIL_HEX)
    for sign in (0xD, 0xB):
        record[73] = 0x00 | sign  # the last byte of DOD-AMOUNT: digit 0, then the sign
        assert decode_record(DETAIL, bytes(record), 1)["DOD-AMOUNT"] == -69900


def test_an_88_level_value_is_checked_both_ways() -> None:
    record = bytearray.fromhex(DETAIL_HEX)
    record[77:79] = "XX".encode("cp037")
    with pytest.raises(RecordError, match=r"field DOD-STATUS \(bytes e7 e7\): 'XX' is not one"):
        decode_record(DETAIL, bytes(record), 3)
    with pytest.raises(FieldError, match="DOD-STATUS: 'XX' is not one of"):
        encode_record(DETAIL, {**_detail(), "DOD-STATUS": "XX"})


def test_unknown_and_missing_fields_are_errors() -> None:
    with pytest.raises(FieldError, match="no field"):
        encode_record(DETAIL, {**_detail(), "DOD-COLOUR": "red"})
    values = _detail()
    del values["DOD-CURRENCY"]
    with pytest.raises(FieldError, match="DOD-CURRENCY is missing"):
        encode_record(DETAIL, values)
    with pytest.raises(RecordError, match="record is 149 bytes, not 150"):
        decode_record(DETAIL, bytes.fromhex(DETAIL_HEX)[:-1], 9)


# Round trips for every field kind, and then for every record of both files.


@given(st.integers(min_value=1, max_value=18).flatmap(
    lambda d: st.tuples(st.just(d), st.integers(-(10**d) + 1, 10**d - 1))))  # fmt: skip
def test_signed_packed_round_trips(case: tuple[int, int]) -> None:
    digits, value = case
    raw = encode_packed(value, digits, signed=True)
    assert len(raw) == digits // 2 + 1
    assert raw[-1] & 0xF == (0xD if value < 0 else 0xC)
    assert decode_packed(raw, signed=True, digits=digits) == value


@given(st.integers(min_value=1, max_value=18).flatmap(
    lambda d: st.tuples(st.just(d), st.integers(0, 10**d - 1))))  # fmt: skip
def test_unsigned_packed_round_trips(case: tuple[int, int]) -> None:
    digits, value = case
    raw = encode_packed(value, digits, signed=False)
    assert len(raw) == digits // 2 + 1
    assert raw[-1] & 0xF == 0xF
    assert decode_packed(raw, signed=False, digits=digits) == value


@given(st.integers(min_value=-(10**13) + 1, max_value=10**13 - 1))
def test_amounts_with_implied_decimals_round_trip_as_cents(cents: int) -> None:
    raw = encode_field(AMOUNT, cents)
    assert AMOUNT.scale == 2
    assert decode_field(AMOUNT, raw) == cents
    # The digits stored are the cents: no decimal point, V99 only says where it would be.
    assert raw.hex()[:-1].lstrip("0") == str(abs(cents)).lstrip("0")


@given(st.integers(min_value=1, max_value=18).flatmap(
    lambda d: st.tuples(st.just(d), st.integers(0, 10**d - 1))))  # fmt: skip
def test_zoned_round_trips(case: tuple[int, int]) -> None:
    digits, value = case
    raw = encode_zoned(value, digits)
    assert len(raw) == digits
    assert all(0xF0 <= b <= 0xF9 for b in raw)
    assert decode_zoned(raw) == value


@given(st.integers(min_value=1, max_value=40).flatmap(
    lambda n: st.tuples(st.just(n), cp037_text(n))))  # fmt: skip
def test_text_round_trips(case: tuple[int, str]) -> None:
    length, text = case
    raw = encode_alnum(text, length)
    assert len(raw) == length
    assert decode_alnum(raw) == text


@given(st.dates() | st.none())
def test_dates_round_trip(value: date | None) -> None:
    f = DETAIL.by_name["DOD-ORIG-RUN-DATE"]
    assert decode_field(f, encode_field(f, value)) == value


@pytest.mark.parametrize("layout", [*DOEXEC.values(), *LYCRED.values()], ids=lambda x: x.name)
@given(data=st.data())
def test_every_record_type_round_trips(layout, data: st.DataObject) -> None:
    values = data.draw(records(layout))
    raw = encode_record(layout, values)
    assert len(raw) == layout.lrecl
    for f in layout.fields:
        if f.is_filler:
            assert raw[f.offset : f.end] == b"\x40" * f.length
        else:
            assert raw[f.offset : f.end] == encode_field(f, values[f.name])
    assert decode_record(layout, raw, 1) == values


@given(data=st.data())
def test_every_field_round_trips_alone(data: st.DataObject) -> None:
    layout = data.draw(st.sampled_from([*DOEXEC.values(), *LYCRED.values()]))
    f = data.draw(st.sampled_from(layout.data_fields))
    value = data.draw(field_values(f))
    raw = encode_field(f, value)
    assert len(raw) == f.length
    assert decode_field(f, raw) == value
