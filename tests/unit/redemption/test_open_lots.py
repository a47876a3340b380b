"""The open lots a balance change lists: usable ones, soonest expiry first, capped."""

from __future__ import annotations

from datetime import date

from services.redemption.domain import Lot, open_lots

TODAY = date(2027, 3, 15)


def test_open_lots_are_the_usable_ones_soonest_expiry_first_never_expiring_last() -> None:
    lots = [
        Lot(1, 0, date(2027, 4, 30), 100, "spent"),
        Lot(2, 30, date(2027, 3, 14), 30, "expired-yesterday"),
        Lot(3, 500, None, 500, "never"),
        Lot(4, 15, TODAY, 20, "last-day-today"),
        Lot(6, 40, date(2027, 6, 30), 40, "june-b"),
        Lot(5, 25, date(2027, 6, 30), 60, "june-a"),
    ]
    listed, total = open_lots(lots, TODAY)
    assert [lot.source for lot in listed] == ["last-day-today", "june-a", "june-b", "never"]
    assert total == 4


def test_open_lots_are_capped_but_all_counted() -> None:
    lots = [Lot(n, n, date(2027, 12, 31 - n), n, f"p{n}") for n in range(1, 26)]
    listed, total = open_lots(lots, TODAY, limit=20)
    assert [lot.lot_id for lot in listed] == list(range(25, 5, -1))
    assert total == 25
