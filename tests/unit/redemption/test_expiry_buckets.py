"""The next expiries a balance change carries: the open lots' points by expiry day."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.redemption.domain import Lot, allocate_fifo, next_expiries

TODAY = date(2027, 3, 15)


def test_lots_of_one_day_add_up_and_the_soonest_three_days_are_listed() -> None:
    lots = [
        Lot(1, 40, date(2027, 6, 30)),
        Lot(2, 25, date(2027, 3, 31)),
        Lot(3, 10, date(2027, 6, 30)),
        Lot(4, 5, date(2027, 12, 31)),
        Lot(5, 70, date(2028, 1, 31)),  # a fourth day: not listed
    ]

    assert next_expiries(lots, TODAY) == [
        (date(2027, 3, 31), 25),
        (date(2027, 6, 30), 50),
        (date(2027, 12, 31), 5),
    ]


def test_empty_expired_and_never_expiring_lots_are_not_listed() -> None:
    lots = [
        Lot(1, 0, date(2027, 4, 30)),  # spent
        Lot(2, 30, date(2027, 3, 14)),  # expired yesterday, not yet zeroed by the run
        Lot(3, 500, None),  # never expires
        Lot(4, 15, TODAY),  # still usable today
    ]

    assert next_expiries(lots, TODAY) == [(TODAY, 15)]
    assert next_expiries([], TODAY) == []


def test_after_a_redemption_the_earliest_day_shows_what_is_left_of_it() -> None:
    lots = [Lot(1, 100, date(2027, 4, 30)), Lot(2, 60, date(2027, 9, 30))]
    taken = dict(allocate_fifo(lots, 30, TODAY))
    left = [Lot(lot.lot_id, lot.remaining - taken.get(lot.lot_id, 0), lot.expires_at)
            for lot in lots]  # fmt: skip

    assert next_expiries(left, TODAY) == [(date(2027, 4, 30), 70), (date(2027, 9, 30), 60)]


lot_lists = st.lists(
    st.builds(
        Lot,
        lot_id=st.integers(1, 10_000),
        remaining=st.integers(0, 1_000),
        expires_at=st.none() | st.dates(TODAY - timedelta(days=30), TODAY + timedelta(days=90)),
    ),
    max_size=30,
)


@given(lot_lists, st.integers(1, 5))
def test_buckets_are_distinct_soonest_first_positive_and_exact(lots: list[Lot], limit: int) -> None:
    buckets = next_expiries(lots, TODAY, limit)

    days = [day for day, _ in buckets]
    assert days == sorted(set(days))
    assert len(buckets) <= limit
    assert all(points > 0 and day >= TODAY for day, points in buckets)
    usable = {
        lot.expires_at
        for lot in lots
        if lot.remaining > 0 and lot.expires_at is not None and lot.expires_at >= TODAY
    }
    assert days == sorted(usable)[:limit]
    for day, points in buckets:
        assert points == sum(lot.remaining for lot in lots if lot.expires_at == day)
