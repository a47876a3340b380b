"""EBCDIC, zoned and packed decimals: byte-exact, and round trips for every field kind."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.debit_orders.codec import (
    FieldError,
    RecordError,
    decode_alnum,
    decode_packed,
    decode_record,
    decode_zoned,
    encode_alnum,
    encode_packed,
    encode_record,
    encode_zoned,
)
from services.debit_orders.copybook import doexec, lycred

# Hand-computed: COMP-3 puts two digits per byte and the sign in the last nibble.
PACKED = [
    (12345, 5, True, "12345c"),  # 9(5) COMP-3 signed: 3 bytes
    (-12345, 5, True, "12345d"),
    (12345, 9, False, "000012345f"),  # 9(9) COMP-3 unsigned: 5 bytes, sign F
    (69900, 13, True, "0000000069900c"),  # S9(11)V99: 13 digits + sign = 7 bytes
    (0, 9, False, "000000000f"),
    (4071234567, 13, False, "0004071234567f"),  # 9(13): 7 bytes, sign F
]


@pytest.mark.parametrize(("value", "digits", "signed", "hexed"), PACKED)
def test_packed_decimal_is_byte_exact(value: int, digits: int, signed: bool, hexed: str) -> None:
    assert len(hexed) == 2 * (digits // 2 + 1)
    assert encode_packed(value, digits, signed=signed).hex() == hexed
    assert decode_packed(bytes.fromhex(hexed), signed=signed) == value


def test_every_sign_nibble_is_read() -> None:
    assert decode_packed(bytes.fromhex("12345c"), signed=True) == 12345
    assert decode_packed(bytes.fromhex("12345f"), signed=True) == 12345
    assert decode_packed(bytes.fromhex("12345d"), signed=True) == -12345
    assert decode_packed(bytes.fromhex("12345b"), signed=True) == -12345
    with pytest.raises(FieldError, match="sign nibble a"):
        decode_packed(bytes.fromhex("12345a"), signed=True)
    with pytest.raises(FieldError, match="nibble c is not a decimal digit"):
        decode_packed(bytes.fromhex("1c345c"), signed=True)
    with pytest.raises(FieldError, match="unsigned"):
        decode_packed(bytes.fromhex("12345d"), signed=False)


def test_zoned_and_ebcdic_text_are_byte_exact() -> None:
    assert encode_zoned(20261120, 8).hex() == "f2f0f2f6f1f1f2f0"
    assert decode_zoned(bytes.fromhex("f0f0f4f2")) == 42
    with pytest.raises(FieldError, match="not a zoned decimal digit"):
        decode_zoned(bytes.fromhex("f0c1"))
    # "ZAR" in code page 037, padded with EBCDIC spaces.
    assert encode_alnum("ZAR", 5).hex() == "e9c1d94040"
    assert decode_alnum(bytes.fromhex("e9c1d94040")) == "ZAR"
    # Afrikaans letters are in code page 037: e-circumflex is 0x52, e-diaeresis 0x53.
    assert encode_alnum("êë", 2).hex() == "5253"
    with pytest.raises(FieldError, match="outside code page 037"):
        encode_alnum("R€", 5)
    with pytest.raises(FieldError, match="longer than 3"):
        encode_alnum("ABCD", 3)


def test_a_detail_record_is_byte_exact() -> None:
    layout = doexec()["DO-DETAIL-REC"]
    record = encode_record(
        layout,
        {
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
        },
    )
    expected = (
        "c4"  # DOD-REC-TYPE 'D'
        "000000001f"  # DOD-SEQUENCE-NO 9(9) COMP-3, unsigned: sign F
        "f1f0f0f2f3f4f5f6f7f8f9f0"  # DOD-CUSTOMER-NO '100234567890'
        "0004071234567f"  # DOD-ACCOUNT-NO 9(13) COMP-3
        "e5c1c3e3"  # DOD-USER-CODE 'VACT'
        "e5c9d9c7c9d540c1c3e3"  # DOD-USER-SHORT-NAME 'VIRGIN ACT'
        "f0f0f0f1f2f361f0f4"
        + "40" * 11  # DOD-USER-REFERENCE '000123/04' padded
        + "f2f0f2f6f1f1f2f0"  # DOD-ACTION-DATE 20261120 zoned
        + "0000000069900c"  # DOD-AMOUNT S9(11)V99 COMP-3: 699.00 -> 69900 cents, sign C
        + "e9c1d9"  # DOD-CURRENCY 'ZAR'
        + "f0f0"  # DOD-STATUS '00'
        + "f0f1"  # DOD-ENTRY-CLASS 01 zoned
        + "000000000f"  # DOD-ORIG-SEQUENCE-NO 0
        + "f0" * 8  # DOD-ORIG-RUN-DATE none
        + "40" * 56  # FILLER
    )
    assert len(record) == 150
    assert record.hex() == expected
    assert decode_record(layout, record, 7)["DOD-AMOUNT"] == 69900


def test_a_bad_field_names_the_record_field_and_bytes() -> None:
    layout = doexec()["DO-DETAIL-REC"]
    record = bytearray(b"\x40" * 150)
    record[0:1] = "D".encode("cp037")
    record[1:6] = bytes.fromhex("0000000a1f")  # a nibble 'a' in the sequence number
    with pytest.raises(RecordError) as error:
        decode_record(layout, bytes(record), 42)
    assert error.value.record_no == 42
    assert error.value.field == "DOD-SEQUENCE-NO"
    assert "record 42, field DOD-SEQUENCE-NO (bytes 00 00 00 0a 1f)" in str(error.value)


@given(st.integers(min_value=-(10**13) + 1, max_value=10**13 - 1))
def test_signed_packed_round_trips(value: int) -> None:
    assert decode_packed(encode_packed(value, 13, signed=True), signed=True) == value


@given(st.integers(min_value=0, max_value=10**17 - 1), st.sampled_from([5, 9, 13, 17]))
def test_unsigned_packed_round_trips(value: int, digits: int) -> None:
    value %= 10**digits
    raw = encode_packed(value, digits, signed=False)
    assert len(raw) == digits // 2 + 1
    assert decode_packed(raw, signed=False) == value


@given(st.integers(min_value=0, max_value=10**8 - 1))
def test_zoned_round_trips(value: int) -> None:
    assert decode_zoned(encode_zoned(value, 8)) == value


CP037_TEXT = st.text(
    alphabet=st.characters(codec="cp037", exclude_characters=" "), max_size=30
).map(str.strip)


@given(CP037_TEXT)
def test_text_round_trips(text: str) -> None:
    assert decode_alnum(encode_alnum(text, 30)) == text


@given(
    sequence=st.integers(min_value=1, max_value=10**9 - 1),
    amount=st.integers(min_value=1, max_value=10**13 - 1),
    narrative=CP037_TEXT,
    value_date=st.dates(min_value=date(1900, 1, 1), max_value=date(9999, 12, 31)),
)
def test_lycred_detail_records_round_trip(
    sequence: int, amount: int, narrative: str, value_date: date
) -> None:
    layout = lycred()["LY-DETAIL-REC"]
    values = {
        "LYD-REC-TYPE": "D",
        "LYD-SEQUENCE-NO": sequence,
        "LYD-CUSTOMER-NO": "100234567890",
        "LYD-ACCOUNT-NO": 4071234567,
        "LYD-DIRECTION": "C",
        "LYD-AMOUNT": amount,
        "LYD-CURRENCY": "ZAR",
        "LYD-REFERENCE": "LYPO2026000001",
        "LYD-NARRATIVE": narrative,
        "LYD-VALUE-DATE": value_date,
    }
    assert decode_record(layout, encode_record(layout, values), 1) == values
