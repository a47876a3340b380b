"""jsonb parameters are written by orjson as the standard library wrote them: same values."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.customer_profile.repository import jsonb

CASES: list[Any] = [
    {"points": 120, "unit": "points", "transaction_id": "CT20261120000123"},
    {"held_after": 0, "unit": "tier_points", "reason": None, "ok": True},
    {"expires_on": date(2027, 3, 31), "at": datetime(2026, 12, 7, 12, 0, 5, 123, tzinfo=UTC)},
    {"rate": Decimal("0.015"), "naam": "Caf\u00e9 Tygervallei, vul aan", 7: "a key by int"},
    [{"account_no": "4071234567", "type": "cheque"}, {"account_no": "9000000001"}],
    [["2027-01-31", 150], ["2027-02-28", 2_000_000_000_000]],
    {"nested": {"list": [1, 2.5, -3], "empty": {}, "none": []}},
]


@pytest.mark.parametrize("value", CASES)
def test_the_value_is_what_json_dumps_with_str_for_the_rest_gave(value: Any) -> None:
    assert json.loads(jsonb(value)) == json.loads(json.dumps(value, default=str))


def test_a_datetime_is_written_as_str_writes_it_not_as_iso() -> None:
    at = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert json.loads(jsonb({"at": at})) == {"at": "2026-12-07 12:00:00+00:00"}
