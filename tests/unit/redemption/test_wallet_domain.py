"""First-expiring-first allocation and clawbacks, as pure functions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.redemption.domain import (
    InsufficientPointsError,
    Lot,
    allocate_fifo,
    reason_text,
    take_back,
)

TODAY = date(2026, 11, 20)

lots_strategy = st.lists(
    st.builds(
        Lot,
        lot_id=st.integers(min_value=1, max_value=10**6),
        remaining=st.integers(min_value=0, max_value=1000),
        expires_at=st.one_of(
            st.none(), st.integers(min_value=-30, max_value=400).map(lambda d: TODAY + timedelta(d))
        ),
    ),
    max_size=12,
    unique_by=lambda lot: lot.lot_id,
)


def usable(lots: list[Lot]) -> int:
    return sum(x.remaining for x in lots if x.expires_at is None or x.expires_at >= TODAY)


def test_the_lot_expiring_first_pays_first_and_expired_lots_never() -> None:
    lots = [
        Lot(1, 100, date(2027, 3, 31)),
        Lot(2, 50, date(2026, 12, 31)),
        Lot(3, 500, date(2026, 10, 31)),  # expired
        Lot(4, 70, None),  # never expires: last
    ]
    assert allocate_fifo(lots, 120, TODAY) == [(2, 50), (1, 70)]
    assert allocate_fifo(lots, 220, TODAY) == [(2, 50), (1, 100), (4, 70)]
    with pytest.raises(InsufficientPointsError):
        allocate_fifo(lots, 221, TODAY)


@given(lots=lots_strategy, points=st.integers(min_value=1, max_value=5000))
def test_allocations_cover_the_request_exactly_from_unexpired_lots(
    lots: list[Lot], points: int
) -> None:
    if points > usable(lots):
        with pytest.raises(InsufficientPointsError):
            allocate_fifo(lots, points, TODAY)
        return
    taken = allocate_fifo(lots, points, TODAY)
    by_id = {lot.lot_id: lot for lot in lots}
    assert sum(p for _, p in taken) == points
    assert all(0 < p <= by_id[i].remaining for i, p in taken)
    assert all(by_id[i].expires_at is None or by_id[i].expires_at >= TODAY for i, _ in taken)
    order = [(by_id[i].expires_at is None, by_id[i].expires_at or date.max, i) for i, _ in taken]
    assert order == sorted(order)
    # Only the last lot used may be left with points: the ones before it are emptied.
    assert all(p == by_id[i].remaining for i, p in taken[:-1])


@given(lots=lots_strategy, points=st.integers(min_value=1, max_value=5000), data=st.data())
def test_a_clawback_takes_its_own_lot_first_and_never_more_than_there_is(
    lots: list[Lot], points: int, data: st.DataObject
) -> None:
    first = data.draw(st.sampled_from([lot.lot_id for lot in lots])) if lots else None
    taken = take_back(lots, points, first)
    by_id = {lot.lot_id: lot for lot in lots}
    assert sum(p for _, p in taken) == min(points, sum(lot.remaining for lot in lots))
    assert all(0 < p <= by_id[i].remaining for i, p in taken)
    if first is not None and by_id[first].remaining:
        assert taken[0][0] == first


def test_reasons_are_in_the_customers_language_with_english_fallback() -> None:
    assert reason_text("insufficient_points", "af") == (
        "Nie genoeg punte vir hierdie inwisseling nie", "af",
    )  # fmt: skip
    assert reason_text("insufficient_points", "zu") == (
        "Not enough points for this redemption", "en",
    )  # fmt: skip
