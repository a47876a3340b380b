"""The export command's cut-off and file naming (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.debit_orders.cli import parse_cut_off
from services.debit_orders.files import lycred_file_id, lycred_path


def test_a_date_means_up_to_the_end_of_that_day() -> None:
    cutoff = parse_cut_off("2026-11-20")
    assert cutoff == datetime(2026, 11, 20, 23, 59, 59, 999_999, tzinfo=UTC)
    assert lycred_file_id(cutoff) == "LY20261120235959"


def test_a_timestamp_is_utc_unless_it_says_otherwise() -> None:
    assert parse_cut_off("2026-11-20T16:00:00") == datetime(2026, 11, 20, 16, tzinfo=UTC)
    assert parse_cut_off("2026-11-20T16:00:00+02:00") == datetime(2026, 11, 20, 14, tzinfo=UTC)


def test_no_cut_off_is_now_to_the_second() -> None:
    now = datetime(2026, 11, 20, 16, 0, 5, 123_456, tzinfo=UTC)
    assert parse_cut_off(None, now) == datetime(2026, 11, 20, 16, 0, 5, tzinfo=UTC)


def test_a_cut_off_that_is_not_iso_is_an_error() -> None:
    with pytest.raises(ValueError, match="Invalid isoformat"):
        parse_cut_off("20 Nov")


def test_out_is_a_file_or_a_directory(tmp_path: Path) -> None:
    assert lycred_path(tmp_path, "LY1") == tmp_path / "LY1.lycred"
    assert lycred_path(f"{tmp_path}/new/", "LY1") == tmp_path / "new" / "LY1.lycred"
    assert lycred_path(tmp_path / "LYCRED.dat", "LY1") == tmp_path / "LYCRED.dat"
