"""The next expiries as the call centre sees them: days to come only, soonest first."""

from __future__ import annotations

from datetime import date

from services.customer_profile.cli import format_expiries
from services.customer_profile.views import upcoming_expiries

TODAY = date(2027, 3, 15)


def test_a_day_already_past_is_not_shown_before_the_expiry_run_reports_it() -> None:
    stored = [
        {"expires_at": "2027-03-14", "points": 20},
        {"expires_at": "2027-06-30", "points": 40},
        {"expires_at": "2027-03-15", "points": 15},
    ]

    assert upcoming_expiries(stored, TODAY) == [
        {"expires_at": date(2027, 3, 15), "points": 15},
        {"expires_at": date(2027, 6, 30), "points": 40},
    ]


def test_none_stated_is_none_shown() -> None:
    assert upcoming_expiries(None, TODAY) == []
    assert upcoming_expiries([], TODAY) == []


def test_the_terminal_line_names_points_and_days() -> None:
    shown = upcoming_expiries([{"expires_at": "2027-06-30", "points": 40}], TODAY)

    assert format_expiries(shown) == "40 on 2027-06-30"
