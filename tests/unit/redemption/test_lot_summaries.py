"""A credited account's lots as a balance change states them, from a summary of the lots it
had and the lots the batch opened: the same as from all of its lots."""

from __future__ import annotations

import random
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.redemption.domain import (
    Lot,
    UsableLots,
    next_expiries,
    open_lots,
    usable_lots,
    with_opened,
)

TODAY = date(2027, 3, 15)
JUNE, JULY, AUGUST = date(2027, 6, 30), date(2027, 7, 31), date(2027, 8, 31)


def test_a_summary_lists_what_open_lots_and_next_expiries_list() -> None:
    lots = [
        Lot(1, 40, JUNE, 40, "a"),
        Lot(2, 0, JUNE, 10, "spent"),
        Lot(3, 30, TODAY - timedelta(days=1), 30, "expired, not zeroed yet"),
        Lot(4, 25, None, 25, "never"),
        Lot(5, 10, JULY, 10, "b"),
    ]

    summary = usable_lots(lots, TODAY, limit=2, days=3)

    assert summary == UsableLots(
        first=(Lot(1, 40, JUNE, 40, "a"), Lot(5, 10, JULY, 10, "b")),
        count=3,
        days=((JUNE, 40), (JULY, 10)),
    )


def test_new_lots_join_the_first_lots_and_days_and_the_count() -> None:
    had = [Lot(n, 10, JULY, 10, f"old{n}") for n in range(1, 6)] + [Lot(6, 5, AUGUST, 5, "o6")]
    opened = [
        Lot(7, 20, JUNE, 20, "sooner"),  # ahead of all of them
        Lot(8, 7, JULY, 7, "same day"),  # after the old July lots (by lot id)
        Lot(9, 0, JUNE, 50, "repaid a debt"),  # nothing left: not open
        Lot(10, 3, TODAY - timedelta(days=2), 3, "already expired"),  # not usable
        Lot(11, 9, None, 9, "never"),  # last, and no expiry day
    ]

    stated = with_opened(usable_lots(had, TODAY, limit=4, days=2), opened, TODAY, 4, 2)

    assert [lot.source for lot in stated.first] == ["sooner", "old1", "old2", "old3"]
    assert stated.count == 6 + 3
    assert stated.days == ((JUNE, 20), (JULY, 57))


def test_a_day_beyond_the_summary_stays_beyond_the_days_listed() -> None:
    had = [Lot(1, 1, JUNE), Lot(2, 2, JULY), Lot(3, 3, AUGUST), Lot(4, 100, date(2027, 9, 30))]
    summary = usable_lots(had, TODAY, limit=20, days=3)

    stated = with_opened(summary, [Lot(5, 4, date(2027, 9, 30))], TODAY, 20, 3)

    assert stated.days == ((JUNE, 1), (JULY, 2), (AUGUST, 3))
    assert stated == usable_lots([*had, Lot(5, 4, date(2027, 9, 30))], TODAY, 20, 3)


days = st.one_of(
    st.none(), st.integers(-3, 12).map(lambda n: TODAY + timedelta(days=n))
)  # few days: many ties, expired lots, days beyond the summary's
lot_values = st.tuples(st.integers(0, 50), days, st.booleans())


@given(
    st.lists(lot_values, max_size=40),
    st.lists(lot_values, max_size=12),
    st.integers(1, 25),
    st.integers(1, 4),
    st.randoms(use_true_random=False),
)
def test_a_summary_with_new_lots_is_the_summary_of_all_the_lots(
    had_values: list[tuple[int, date | None, bool]],
    new_values: list[tuple[int, date | None, bool]],
    limit: int,
    day_limit: int,
    rnd: random.Random,
) -> None:
    values = [*had_values, *new_values]
    ids = list(range(1, len(values) + 1))
    rnd.shuffle(ids)  # lot ids need not follow the split: the merge is exact either way
    lots = [
        Lot(i, left, expires, left + spent, f"p{i}")
        for i, (left, expires, spent) in zip(ids, values, strict=True)
    ]
    had, opened = lots[: len(had_values)], lots[len(had_values) :]

    stated = with_opened(usable_lots(had, TODAY, limit, day_limit), opened, TODAY, limit, day_limit)

    listed, count = open_lots(lots, TODAY, limit)
    assert stated == UsableLots(tuple(listed), count, tuple(next_expiries(lots, TODAY, day_limit)))
