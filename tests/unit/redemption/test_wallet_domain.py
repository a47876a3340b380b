"""First-expiring-first allocation and clawbacks, as pure functions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.redemption.domain import (
    DECLINE_REASONS,
    InsufficientPointsError,
    Lot,
    LotBook,
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


def unexpired(lot: Lot) -> bool:
    return lot.expires_at is None or lot.expires_at >= TODAY


def usable(lots: list[Lot]) -> int:
    return sum(x.remaining for x in lots if unexpired(x))


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
    assert all(unexpired(by_id[i]) for i, _ in taken)
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
        "Onvoldoende punte vir hierdie inwisseling", "af",
    )  # fmt: skip
    assert reason_text("insufficient_points", "af-ZA")[1] == "af"
    assert reason_text("insufficient_points", "zu") == (
        "Not enough points for this redemption", "en",
    )  # fmt: skip


def test_every_decline_reason_has_an_english_and_an_afrikaans_text() -> None:
    for code in DECLINE_REASONS:
        english, afrikaans = reason_text(code, "en"), reason_text(code, "af")
        assert english[1] == "en"
        assert afrikaans[1] == "af"
        assert english[0].strip()
        assert afrikaans[0].strip()
        assert afrikaans[0] != english[0]


def test_a_book_allocates_in_memory_and_writes_each_lot_once() -> None:
    owner = ("C1", "points")
    book = LotBook()
    book.track(owner)
    book.add(owner, Lot(7, 50, date(2026, 12, 31)), "earn:a")
    book.add(owner, Lot(9, 100, date(2027, 3, 31)), "earn:b")
    book.add(("C2", "points"), Lot(11, 5, None), "earn:c")  # not followed: ignored
    for points in (30, 40):
        book.take(owner, allocate_fifo(book.lots(owner), points, TODAY))
    assert {lot.lot_id: lot.remaining for lot in book.lots(owner)} == {7: 0, 9: 80}
    with pytest.raises(InsufficientPointsError):
        allocate_fifo(book.lots(owner), 81, TODAY)
    book.returned(owner, Lot(7, 10, date(2026, 12, 31)))  # a cancellation, written already
    assert book.drain() == [(7, 50), (9, 20)]
    assert book.drain() == []
    assert book.by_posting == {"earn:a": 7, "earn:b": 9}
    assert {lot.lot_id: lot.remaining for lot in book.lots(owner)} == {7: 10, 9: 80}


@given(lots=lots_strategy, requests=st.lists(st.integers(min_value=1, max_value=700), max_size=8))
def test_a_batch_of_redemptions_never_spends_more_than_the_unexpired_lots_hold(
    lots: list[Lot], requests: list[int]
) -> None:
    owner = ("C1", "points")
    book = LotBook()
    book.track(owner)
    for lot in lots:
        book.add(owner, lot, f"earn:{lot.lot_id}")
    spent = 0
    for points in requests:
        try:
            book.take(owner, allocate_fifo(book.lots(owner), points, TODAY))
        except InsufficientPointsError:
            continue
        spent += points
    moves = dict(book.drain())
    assert sum(moves.values()) == spent <= usable(lots)
    by_id = {lot.lot_id: lot for lot in lots}
    assert all(0 < n <= by_id[i].remaining for i, n in moves.items())
    assert all(unexpired(by_id[i]) for i in moves)
