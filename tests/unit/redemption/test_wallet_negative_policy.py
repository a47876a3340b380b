"""The programme's negative-balance policy, per currency: a debt, or a cap with a shortfall."""

from __future__ import annotations

from datetime import date

import pytest

from services.redemption.domain import Clawback, Lot, claw_back, parse_negative_policy

LOTS = [Lot(1, 30, date(2027, 3, 31)), Lot(2, 20, date(2027, 1, 31))]


def test_the_policy_is_read_per_currency_and_a_debt_by_default() -> None:
    assert parse_negative_policy("points=debt, tier_points=cap") == {
        "points": "debt",
        "tier_points": "cap",
    }
    assert parse_negative_policy("") == {}


@pytest.mark.parametrize("text", ["points", "points=forgive", "=cap", "points=cap,tier=debts"])
def test_a_policy_the_programme_does_not_know_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="negative-balance policy"):
        parse_negative_policy(text)


def test_beyond_the_lots_a_debt_takes_it_all_and_a_cap_records_the_rest() -> None:
    # the original lot first, then the soonest-expiring
    assert claw_back(LOTS, 80, 1, "debt") == Clawback([(1, 30), (2, 20)], 80, 0)
    assert claw_back(LOTS, 80, 1, "cap") == Clawback([(1, 30), (2, 20)], 50, 30)
    assert claw_back(LOTS, 40, None, "cap") == Clawback([(2, 20), (1, 20)], 40, 0)
    assert claw_back([], 10, None, "cap") == Clawback([], 0, 10)
