"""The open lots the call centre sees: the wallet's last statement, less lots past their day."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.customer_profile.views import usable_lots

TODAY = date(2027, 3, 15)


def test_the_call_centre_leaves_out_lots_past_their_day_and_counts_them_out() -> None:
    stored: list[dict[str, Any]] = [
        {"lot_id": 7, "starting": 50, "current": 5, "expires_at": "2027-03-14", "source": "a"},
        {"lot_id": 8, "starting": 90, "current": 90, "expires_at": "2027-03-15", "source": "b"},
        {"lot_id": 9, "starting": 10, "current": 10, "expires_at": None, "source": "c"},
    ]
    shown = usable_lots(stored, 30, TODAY)
    assert [(lot["lot_id"], lot["expires_at"]) for lot in shown["open_lots"]] == [
        (8, date(2027, 3, 15)),
        (9, None),
    ]
    assert shown["open_lots_total"] == 29
    assert usable_lots(None, None, TODAY) == {"open_lots": [], "open_lots_total": None}
