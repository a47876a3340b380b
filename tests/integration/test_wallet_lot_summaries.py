"""Credits state the account's lots from a summary read in one statement, not from every lot.

An account a batch only credits has its first usable lots, their count and its first expiry
days read for the whole batch at once; the batch's new lots are merged in. What each balance
change states must be what the full computation (domain.next_expiries and domain.open_lots
over all the account's open lots) gives, whatever the account's lots look like.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.loyalty import OPEN_LOTS, BalanceChanged
from services.redemption import handlers, repository
from services.redemption.domain import Lot, LotBook, next_expiries, open_lots, usable_lots
from services.redemption.repository import NewLot
from tests.integration.test_redemption_ledger import apply, balance_changes, new_customer, posting

pytestmark = pytest.mark.integration

TODAY = datetime.now(UTC).date()
YESTERDAY = TODAY - timedelta(days=1)


def day(n: int) -> date:
    return TODAY + timedelta(days=n)


async def lots_by_posting(
    engine: AsyncEngine, customers: Iterable[str]
) -> dict[str, tuple[str, Lot]]:
    """Every lot of these customers, emptied ones too: posting id -> (customer, lot)."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT customer_no, lot_id, remaining_points, expires_at, initial_points, "
                "posting_id FROM redemption.lots WHERE customer_no = ANY(:c)"
            ),
            {"c": list(customers)},
        )
        return {r.posting_id: (r.customer_no, Lot(*r[1:])) for r in rows}


def open_lots_of(lots: dict[str, tuple[str, Lot]], customer: str) -> list[Lot]:
    return [lot for owner, lot in lots.values() if owner == customer and lot.remaining]


Stated = tuple[list[tuple[date, int]], list[tuple[int, int, int, date | None, str]], int | None]


def stated(change: BalanceChanged) -> Stated:
    """What a balance change says about the lots: expiry days, open lots, their count."""
    return (
        [(b.expires_at, b.points) for b in change.next_expiries or []],
        [(x.lot_id, x.starting, x.current, x.expires_at, x.source) for x in change.open_lots or []],
        change.open_lots_total,
    )


def computed(lots: Sequence[Lot]) -> Stated:
    """The same, by the full computation over all the account's lots."""
    listed, total = open_lots(lots, TODAY, OPEN_LOTS)
    return (
        next_expiries(lots, TODAY),
        [(x.lot_id, x.starting, x.remaining, x.expires_at, x.source) for x in listed],
        total,
    )


async def test_credits_state_what_the_full_computation_over_all_open_lots_states(
    wallet: AsyncEngine,
) -> None:
    rich, indebted, fresh, clawed, bystander = (new_customer() for _ in range(5))
    # rich: 25 open lots over six days, with ties on each day; two that never expire; one past
    # its expiry that the expiry run has not zeroed yet.
    history = [posting(rich, 10 + n, expires=day(10 * (n % 6 + 1))) for n in range(25)]
    history += [posting(rich, 7, expires=None), posting(rich, 8, expires=None)]
    history += [posting(rich, 9, expires=YESTERDAY)]
    owed = posting(indebted, 50)
    history += [owed, posting(clawed, 40, expires=day(5)), posting(clawed, 60, expires=day(50))]
    history += [posting(clawed, 5, expires=None)]
    await apply(wallet, handlers.apply_postings, *history)
    # indebted: its 50 points clawed back 120: a debt of 70, which credits repay first.
    await apply(wallet, handlers.apply_postings, posting(indebted, -120, reverses=owed.posting_id))
    customers = (rich, indebted, fresh, clawed, bystander)
    before = await lots_by_posting(wallet, customers)

    clawed_credit = posting(clawed, 30, expires=day(5))
    batch = [
        posting(rich, 11, expires=day(1)),  # ahead of every lot it had
        clawed_credit,
        posting(indebted, 30, expires=day(3)),  # repays 30 of 70: a lot with nothing left
        posting(fresh, 20, expires=day(5)),
        posting(rich, 12, expires=day(20)),  # a day it has lots on already: after them
        # a clawback in the same batch: its account's lots are loaded, locked, taken from;
        # the credits before it are written first
        posting(clawed, -50, reverses=clawed_credit.posting_id),
        posting(indebted, 100, expires=day(3)),  # repays the other 40: 60 left
        posting(bystander, 15, expires=None),
        posting(rich, 13, expires=None),  # never expires: last, and no expiry day
        posting(indebted, 10, expires=None),
        posting(fresh, 25, expires=day(5)),  # a second lot on its only day
        posting(rich, 14, expires=YESTERDAY),  # expired when it came: never open
    ]
    published = balance_changes(await apply(wallet, handlers.apply_postings, *batch))
    after = await lots_by_posting(wallet, customers)

    assert [c.reference for c in published] == [p.posting_id for p in batch]
    for n, (change, credit) in enumerate(zip(published, batch, strict=True)):
        owner = credit.customer_no
        if credit.points < 0:  # after the clawback: the account's lots as they are now
            assert stated(change) == computed(open_lots_of(after, owner))
            continue
        opened = [after[p.posting_id][1] for p in batch[: n + 1]
                  if p.customer_no == owner and p.points > 0]  # fmt: skip
        if owner == clawed:  # as the credit left them: the clawback took from them later
            opened = [replace(lot, remaining=lot.starting) for lot in opened]
        assert stated(change) == computed([*open_lots_of(before, owner), *opened]), n
    # The cases the batch was made of, as the messages state them.
    last = {c.customer_no: stated(c) for c in published}
    assert (len(last[rich][1]), last[rich][2]) == (20, 25 + 2 + 3)
    assert last[rich][0][:2] == [(day(1), 11), (day(10), sum(10 + n for n in range(0, 25, 6)))]
    assert last[indebted][1] == [
        (after[batch[6].posting_id][1].lot_id, 100, 60, day(3), batch[6].posting_id),
        (after[batch[9].posting_id][1].lot_id, 10, 10, None, batch[9].posting_id),
    ]
    assert last[fresh][0] == [(day(5), 45)]


# --- the summary statement against the pure functions, over random lot sets ---------------

lot_values = st.tuples(
    st.integers(1, 60),  # the points it was opened with
    st.integers(0, 60),  # of which spent (at most all of them)
    st.one_of(st.none(), st.integers(-3, 12)),  # days to expiry: many ties, some past
)


def random_lot_sets(count: int) -> list[list[tuple[int, int, int | None]]]:
    found: list[list[tuple[int, int, int | None]]] = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.lists(lot_values, max_size=45))
    def collect(values: list[tuple[int, int, int | None]]) -> None:
        found.append(values)

    collect()
    return found


async def test_the_summaries_read_in_one_statement_are_those_of_all_the_lots(
    wallet: AsyncEngine,
) -> None:
    sets = random_lot_sets(60)
    customers = [new_customer() for _ in sets]
    new = [
        NewLot(customer, currency, f"lot:{uuid.uuid4().hex}", points, points - min(spent, points),
               None if days is None else day(days))
        for customer, values in zip(customers, sets, strict=True)
        for points, spent, days in values
        for currency in ("points", "tier_points")  # the other currency's lots are not counted
    ]  # fmt: skip
    async with wallet.begin() as conn:
        ids = await repository.create_lots(conn, new, LotBook())
        summaries = await repository.lot_summaries(
            conn, [(c, "points") for c in customers], TODAY, OPEN_LOTS
        )

    for customer in customers:
        lots = [
            Lot(ids[n.posting_id], n.remaining, n.expires_at, n.points, n.posting_id)
            for n in new
            if (n.customer_no, n.currency) == (customer, "points")
        ]
        assert summaries[(customer, "points")] == usable_lots(lots, TODAY, OPEN_LOTS), lots


async def test_the_summaries_are_read_along_the_usable_lots_index(wallet: AsyncEngine) -> None:
    customer = new_customer()
    await apply(wallet, handlers.apply_postings, posting(customer, 10, expires=day(1)))
    async with wallet.connect() as conn:
        defined = await conn.scalar(
            text(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = 'redemption' "
                "AND indexname = 'ix_lots_usable'"
            )
        )
    assert defined is not None
    assert "(customer_no, currency, expires_at, lot_id) WHERE (remaining_points > 0)" in defined
