"""LYCRED files: byte-exact, deterministic, in the customer's language, never cut silently."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.debit_orders.lycred import (
    LycredError,
    LycredInstruction,
    fit_narrative,
    read_lycred,
    render_lycred,
)
from tests.unit.debit_orders.strategies import INSTRUCTIONS

CREATED = datetime(2026, 11, 20, 18, 0, 5, tzinfo=UTC)
CASH_BACK = LycredInstruction(
    customer_no="100234567890", account_no=4071234567, direction="C", amount_cents=50_000,
    currency="ZAR", reference="LYPO000000000042", narrative="Belonings kontant terug",
    value_date=date(2026, 11, 21),
)  # fmt: skip

# A whole one-instruction file, worked out by hand from the copybook: three 120-byte records.
HEADER_HEX = (
    "c8"  # 0   LYH-REC-TYPE X(1): 'H'
    "d3e8f2f0f2f6f1f1f2f0f1f8f0f0f0f5"  # 1   LYH-FILE-ID X(16): 'LY20261120180005'
    "f2f0f2f6f1f1f2f0"  # 17  LYH-CREATION-DATE 9(8): 20261120
    "f1f8f0f0f0f5"  # 25  LYH-CREATION-TIME 9(6): 180005
    "d3d6e8c1d3e3e840"  # 31  LYH-SOURCE-SYSTEM X(8): 'LOYALTY' and a space
) + "40" * 81  # 39 FILLER X(81)
DETAIL_HEX = (
    "c4"  # 0   LYD-REC-TYPE X(1): 'D'
    "000000001f"  # 1   LYD-SEQUENCE-NO 9(9) COMP-3: 1, sign F (unsigned)
    "f1f0f0f2f3f4f5f6f7f8f9f0"  # 6   LYD-CUSTOMER-NO X(12): '100234567890'
    "0004071234567f"  # 18  LYD-ACCOUNT-NO 9(13) COMP-3: 4071234567
    "c3"  # 25  LYD-DIRECTION X(1): 'C', a credit
    "0000000050000c"  # 26  LYD-AMOUNT S9(11)V99 COMP-3: R500.00 = 50000 cents, sign C
    "e9c1d9"  # 33  LYD-CURRENCY X(3): 'ZAR'
    "d3e8d7d6f0f0f0f0f0f0f0f0f0f0f4f2"
    "40404040"  # 36 LYD-REFERENCE X(20): 'LYPO...42'
    # 56  LYD-NARRATIVE X(30): 'Belonings kontant terug' (B=c2 e=85 l=93 o=96 n=95 i=89
    #     g=87 s=a2 k=92 t=a3 a=81 r=99 u=a4, space 40) and 7 spaces of padding
    "c28593969589958 7a2"
    "40929695a38195a3"  # pragma: allowlist secret
    "40a38599a487"
    + "40" * 7
    + "f2f0f2f6f1f1f2f1"  # 86  LYD-VALUE-DATE 9(8): 20261121
    + "40" * 26  # 94  FILLER X(26)
).replace(" ", "")
TRAILER_HEX = (
    "e3"  # 0   LYT-REC-TYPE X(1): 'T'
    "000000001f"  # 1   LYT-RECORD-COUNT 9(9) COMP-3: 1
    "00000000000050000c"  # 6   LYT-TOTAL-CREDITS S9(15)V99 COMP-3: 50000 cents
    "00000000000000000c"  # 15  LYT-TOTAL-DEBITS S9(15)V99 COMP-3: none
    "00000004071234567f"  # 24  LYT-HASH-TOTAL 9(17) COMP-3: the one account number
) + "40" * 87  # 33 FILLER X(87)


def test_a_file_is_byte_exact() -> None:
    data = render_lycred("LY20261120180005", CREATED, "LOYALTY", [CASH_BACK])
    assert [len(bytes.fromhex(h)) for h in (HEADER_HEX, DETAIL_HEX, TRAILER_HEX)] == [120] * 3
    assert data[:120].hex() == HEADER_HEX
    assert data[120:240].hex() == DETAIL_HEX
    assert data[240:].hex() == TRAILER_HEX


def test_the_same_inputs_give_the_same_bytes_and_the_order_is_the_callers() -> None:
    fee = replace(CASH_BACK, customer_no="200000000001", account_no=62001234567, direction="D",
                  amount_cents=1_500, reference="FEE202611", narrative="Programme fee")  # fmt: skip
    first = render_lycred("LY1", CREATED, "LOYALTY", [CASH_BACK, fee])
    assert first == render_lycred("LY1", CREATED, "LOYALTY", (i for i in [CASH_BACK, fee]))
    swapped = render_lycred("LY1", CREATED, "LOYALTY", [fee, CASH_BACK])
    assert swapped != first
    _, details, trailer = read_lycred(swapped)
    assert [(d["LYD-SEQUENCE-NO"], d["LYD-DIRECTION"]) for d in details] == [(1, "D"), (2, "C")]
    assert trailer == {
        "LYT-REC-TYPE": "T", "LYT-RECORD-COUNT": 2, "LYT-TOTAL-CREDITS": 50_000,
        "LYT-TOTAL-DEBITS": 1_500, "LYT-HASH-TOTAL": 4071234567 + 62001234567,
    }  # fmt: skip


def test_afrikaans_narratives_round_trip_in_code_page_037() -> None:
    narratives = ["Belonings kontant terug", "Rewards cash back", "Terugbetaling: ê ë ô é è"]
    items = [replace(CASH_BACK, narrative=n) for n in narratives]
    data = render_lycred("LY2", CREATED, "LOYALTY", items)
    _, details, _ = read_lycred(data)
    assert [d["LYD-NARRATIVE"] for d in details] == narratives
    third = data[3 * 120 + 56 : 3 * 120 + 86]
    assert third[15:20] == b"\x52\x40\x53\x40\xcb"  # "ê ë ô": 52, space 40, 53, 40, cb


def test_characters_outside_code_page_037_are_refused_naming_the_instruction() -> None:
    items = [CASH_BACK, replace(CASH_BACK, customer_no="C2", narrative="Kontant terug €50")]
    with pytest.raises(LycredError, match=(
        r"instruction 2 \(customer C2\): LYD-NARRATIVE \(PIC X\(30\)\): 'Kontant terug €50' "
        r"has characters outside code page 037: '€' at position 14"
    )):  # fmt: skip
        render_lycred("LY3", CREATED, "LOYALTY", items)


def test_a_long_narrative_is_an_error_unless_the_caller_cuts_it() -> None:
    long = "Belonings kontant terug vir Oktober 2026"
    with pytest.raises(LycredError, match=r"LYD-NARRATIVE .* longer than 30"):
        render_lycred("LY4", CREATED, "LOYALTY", [replace(CASH_BACK, narrative=long)])
    cut = fit_narrative(long)
    assert cut == "Belonings kontant terug vir Ok"
    data = render_lycred("LY4", CREATED, "LOYALTY", [replace(CASH_BACK, narrative=cut)])
    assert read_lycred(data)[1][0]["LYD-NARRATIVE"] == cut


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"direction": "X"}, r"LYD-DIRECTION: 'X' is not one of \('C', 'D'\)"),
        ({"amount_cents": 0}, "amount 0 is not positive"),
        ({"amount_cents": 10**13}, "LYD-AMOUNT .* does not fit 13 digits"),
        ({"account_no": 10**13}, "LYD-ACCOUNT-NO .* does not fit 13 digits"),
        ({"currency": "RAND"}, "LYD-CURRENCY .* longer than 3"),
        ({"reference": "R" * 21}, "LYD-REFERENCE .* longer than 20"),
    ],
)
def test_instructions_that_do_not_fit_are_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(LycredError, match=f"instruction 1 .*{message}"):
        render_lycred("LY5", CREATED, "LOYALTY", [replace(CASH_BACK, **change)])


def test_reading_back_checks_structure_and_totals() -> None:
    data = render_lycred("LY6", CREATED, "LOYALTY", [CASH_BACK, CASH_BACK])
    header, details, trailer = read_lycred(data)
    assert header == {
        "LYH-REC-TYPE": "H", "LYH-FILE-ID": "LY6", "LYH-CREATION-DATE": date(2026, 11, 20),
        "LYH-CREATION-TIME": 180005, "LYH-SOURCE-SYSTEM": "LOYALTY",
    }  # fmt: skip
    assert len(details) == 2
    assert trailer["LYT-TOTAL-CREDITS"] == 100_000
    with pytest.raises(LycredError, match="size 479"):
        read_lycred(data[:-1])
    with pytest.raises(LycredError, match="record 3 is a 'D' record where 'T' belongs"):
        read_lycred(data[:-120])
    with pytest.raises(LycredError, match=r"sequence numbers are not 1\.\.n"):
        read_lycred(data[:120] + data[240:360] + data[120:240] + data[360:])
    tampered = bytearray(data)
    tampered[360 + 6 : 360 + 15] = bytes.fromhex("00000000000099999c")
    with pytest.raises(LycredError, match="LYT-TOTAL-CREDITS is 99999, the details add up to"):
        read_lycred(bytes(tampered))


@settings(max_examples=30, deadline=None)
@given(st.lists(INSTRUCTIONS, max_size=15))
def test_files_round_trip(items: list[LycredInstruction]) -> None:
    data = render_lycred("LYPROP", CREATED, "LOYALTY", items)
    assert len(data) == 120 * (len(items) + 2)
    _, details, trailer = read_lycred(data)
    fields = ("CUSTOMER-NO", "ACCOUNT-NO", "DIRECTION", "AMOUNT", "CURRENCY", "REFERENCE",
              "NARRATIVE", "VALUE-DATE")  # fmt: skip
    assert [tuple(d[f"LYD-{name}"] for name in fields) for d in details] == [
        (i.customer_no, i.account_no, i.direction, i.amount_cents, i.currency, i.reference,
         i.narrative, i.value_date)
        for i in items
    ]  # fmt: skip
    assert [d["LYD-SEQUENCE-NO"] for d in details] == list(range(1, len(items) + 1))
    assert trailer["LYT-TOTAL-CREDITS"] == sum(i.amount_cents for i in items if i.direction == "C")
    assert trailer["LYT-TOTAL-DEBITS"] == sum(i.amount_cents for i in items if i.direction == "D")
    assert trailer["LYT-HASH-TOTAL"] == sum(i.account_no for i in items) % 10**17
