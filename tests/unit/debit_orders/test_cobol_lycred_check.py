"""A COBOL program of the bank's (tests/cobol/LYCHECK.cbl) checks the LYCRED files we write.

LYCHECK COPYs the bank's LYCRED copybook unchanged and adds up its own control totals
(count, credits, debits, hash total of account numbers) from the details; it must agree with
our trailer for credits and debits together, Afrikaans narratives with accented letters and
an empty file, and it must refuse what the bank would refuse. Needs GnuCOBOL (see
tests/support/cobol.py): without it this test fails, saying so.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from services.debit_orders.codec import encode_packed
from services.debit_orders.lycred import LycredInstruction, render_lycred
from tests.support.cobol import compile_program, lycheck

CREATED = datetime(2026, 11, 20, 23, 59, 59, tzinfo=UTC)
VALUE = date(2026, 11, 21)


@pytest.fixture(scope="module")
def checker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_program("LYCHECK", tmp_path_factory.mktemp("cobol"))


def instructions() -> list[LycredInstruction]:
    return [
        LycredInstruction("100234567890", 4071234567, "C", 123_456, "ZAR", "LYPO000000000042",
                          "Belonings kontant terug", VALUE),
        LycredInstruction("100234567890", 4071234567, "D", 9_900, "ZAR", "LYFE0123456789ABCDEF",
                          "Belonings programfooi", VALUE),
        LycredInstruction("C00000000002", 9_999_999_999_999, "D", 1, "ZAR", "FEE/2026-11",
                          "Gebühr für das Programm", VALUE),
        LycredInstruction("C00000000003", 62001234567, "C", 10**13 - 1, "ZAR", "LYPO3",
                          "Crème brûlée terug, ê ë ô", VALUE),
    ]  # fmt: skip


def test_cobol_agrees_with_our_totals_for_credits_and_debits(checker: Path, tmp_path: Path) -> None:
    path = tmp_path / "LYCRED.dat"
    path.write_bytes(render_lycred("LY20261120235959", CREATED, "LOYALTY", instructions()))
    lines = lycheck(checker, path)
    assert lines[0] == ["H", "LY20261120235959", "20261120", "235959", "LOYALTY"]
    details = [line for line in lines if line[0] == "D"]
    assert [(d[1], d[4], int(Decimal(d[5]) * 100)) for d in details] == [
        ("000000001", "C", 123_456), ("000000002", "D", 9_900), ("000000003", "D", 1),
        ("000000004", "C", 10**13 - 1),
    ]  # fmt: skip
    assert not [line for line in lines if line[0] == "X"]
    trailer, totals, verdict = lines[-3], lines[-2], lines[-1]
    assert trailer[0] == "T"
    assert totals[0] == "C"
    assert int(totals[1]) == 4
    assert Decimal(totals[2]) * 100 == 123_456 + 10**13 - 1
    assert Decimal(totals[3]) * 100 == 9_901
    assert int(totals[4]) == (2 * 4071234567 + 9_999_999_999_999 + 62001234567) % 10**17
    assert verdict == ["AGREE"]


def test_cobol_agrees_with_an_empty_file(checker: Path, tmp_path: Path) -> None:
    path = tmp_path / "LYCRED.dat"
    path.write_bytes(render_lycred("LY20261120235959", CREATED, "LOYALTY", []))
    lines = lycheck(checker, path)
    assert [line[0] for line in lines] == ["H", "T", "C", "AGREE"]
    assert int(lines[1][1]) == 0


def _patched(path: Path, data: bytes, record_no: int, offset: int, raw: bytes) -> Path:
    changed = bytearray(data)
    start = (record_no - 1) * 120 + offset
    changed[start : start + len(raw)] = raw
    path.write_bytes(bytes(changed))
    return path


def test_cobol_refuses_what_the_bank_would_refuse(checker: Path, tmp_path: Path) -> None:
    data = render_lycred("LY20261120235959", CREATED, "LOYALTY", instructions())
    # Trailer LYT-TOTAL-DEBITS (offset 15, 9 bytes) one cent short.
    short = _patched(tmp_path / "a.dat", data, 6, 15, encode_packed(9_900, 17, signed=True))
    assert lycheck(checker, short)[-1] == ["DISAGREE"]
    # Detail 2's direction is neither C nor D.
    odd = _patched(tmp_path / "b.dat", data, 3, 25, "X".encode("cp037"))
    lines = lycheck(checker, odd)
    assert ["X", "000000003", "LYD-DIRECTION"] in lines
    assert lines[-1] == ["DISAGREE"]
    # Detail 1's amount has the sign nibble A.
    sign = _patched(tmp_path / "c.dat", data, 2, 26, bytes.fromhex("0000000123456a"))
    assert ["X", "000000002", "LYD-AMOUNT"] in lycheck(checker, sign)
    # No trailer.
    cut = tmp_path / "d.dat"
    cut.write_bytes(data[:-120])
    assert lycheck(checker, cut)[-1] == ["DISAGREE"]
