"""Programme fees: narratives by language, and what fits the LYCRED detail (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.debit_orders.codec import encode_alnum
from services.debit_orders.fees import FEE_NARRATIVES, Fee, FeeError, check, narrative, new_fee_id
from services.debit_orders.lycred import NARRATIVE_LENGTH

FEE = Fee("FEE-2026-0001", "100234567890", "4071234567", 9_900, "ZAR", "annual fee",
          datetime(2026, 11, 20, 8, tzinfo=UTC))  # fmt: skip


def test_the_narrative_is_in_the_customer_s_language_or_english() -> None:
    assert narrative("af") == ("Belonings programfooi", "af")
    assert narrative("AF-za") == ("Belonings programfooi", "af")
    assert narrative("en") == ("Rewards programme fee", "en")
    assert narrative("zu") == ("Rewards programme fee", "en")
    assert narrative(None) == ("Rewards programme fee", "en")


def test_every_narrative_fits_the_statement_in_code_page_037() -> None:
    for text in FEE_NARRATIVES.values():
        assert len(encode_alnum(text, NARRATIVE_LENGTH)) == NARRATIVE_LENGTH


def test_a_generated_fee_id_fills_the_reference() -> None:
    first, second = new_fee_id(), new_fee_id()
    assert len(first) == 20
    assert first.startswith("LYFE")
    assert first != second
    check(replace(FEE, fee_id=first))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fee_id": "X" * 21}, "longer than 20"),
        ({"fee_id": " "}, "fee id is empty"),
        ({"customer_no": "1002345678901"}, "longer than 12"),
        ({"customer_no": "C€1"}, "outside code page 037"),
        ({"account_no": "40712345670000"}, "1 to 13 digits"),
        ({"account_no": "0"}, "1 to 13 digits"),
        ({"account_no": "40-71"}, "1 to 13 digits"),
        ({"amount_cents": 0}, "not between 1"),
        ({"amount_cents": 10**13}, "not between 1"),
        ({"currency": "zar"}, "ISO 4217"),
        ({"reason": "  "}, "reason is required"),
        ({"charged_at": datetime(2026, 11, 20)}, "time zone"),  # noqa: DTZ001 (the point)
    ],
)
def test_what_does_not_fit_is_refused_by_name(change: dict[str, object], message: str) -> None:
    check(FEE)
    with pytest.raises(FeeError, match=message):
        check(replace(FEE, **change))  # type: ignore[arg-type]
