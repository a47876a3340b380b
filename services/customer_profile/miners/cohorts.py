"""Issue cohorts: for the points issued in each month, how much was redeemed, expired, taken
back and is still outstanding, month by month (the input for a breakage estimate, IFRS 15).

It reads the wallet's ledger, loyalty.wallet.balance-changed.v1, which is keyed by customer and
so, per customer, in the order the wallet applied the movements. Spendable points only.
A credit (earn, positive adjustment) issues a lot in the month the wallet credited it; debits
take from the customer's lots oldest first (the wallet's soonest-to-expire-first order when
expiry follows issue): redemptions and captures as redeemed, expiries as expired, reversals and
negative adjustments as reversed. A cancelled redemption gives points back to the lots it
most recently took them from. A debit beyond every lot is a debt that the next credits repay
first (as the wallet does), counted as reversed from the repaying lot.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, Column, Date, Integer, Table, Text, text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.loyalty import BalanceChanged
from services.customer_profile.miners.base import Miner, month_of
from services.customer_profile.tables import SCHEMA, metadata
from shared.messaging.uow import Inbound, Subscription, UnitOfWork

BALANCE_TOPIC = "loyalty.wallet.balance-changed.v1"
CURRENCY = "points"
REDEEMED = frozenset({"redemption", "capture"})
EXPIRED = frozenset({"expiry"})
KINDS = ("issued", "redeemed", "expired", "reversed")

customers = Table(
    "report_cohort_customers",
    metadata,
    Column("customer_no", Text, primary_key=True),
    Column("next_seq", Integer, nullable=False),
    Column("debt", BigInteger, nullable=False),
)
lots = Table(
    "report_cohort_lots",
    metadata,
    Column("customer_no", Text, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("cohort", Date, nullable=False),
    Column("issued", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    Column("redeemed", BigInteger, nullable=False),
)
flows = Table(
    "report_cohort_flows",
    metadata,
    Column("cohort", Date, primary_key=True),  # the month the points were issued
    Column("period", Date, primary_key=True),  # the month they moved
    *(Column(kind, BigInteger, nullable=False) for kind in KINDS),
)


# --- the pure part: one customer's lots -------------------------------------------------


@dataclass
class Lot:
    seq: int
    cohort: date
    issued: int
    remaining: int
    redeemed: int = 0


@dataclass
class Book:
    """One customer's lots, in issue order, and what the cohorts gained and lost."""

    next_seq: int = 1
    debt: int = 0
    lots: list[Lot] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)

    def apply(self, cause: str, change: int, period: date, flows: Flows) -> None:
        if change > 0:
            if cause == "cancel":
                left = self._unredeem(change, period, flows)
                if left:  # more back than we saw redeemed: a fresh issue
                    self._issue(left, period, flows)
            else:
                self._issue(change, period, flows)
            repaid = min(self.debt, change)
            if repaid:
                self.debt -= repaid
                self._take(repaid, "reversed", period, flows)
        elif change < 0:
            kind = (
                "redeemed" if cause in REDEEMED else "expired" if cause in EXPIRED else "reversed"
            )
            self.debt += self._take(-change, kind, period, flows)

    def _issue(self, points: int, period: date, flows: Flows) -> None:
        lot = Lot(self.next_seq, period, points, points)
        self.next_seq += 1
        self.lots.append(lot)
        self.touched.add(lot.seq)
        flows.add(period, period, "issued", points)

    def _take(self, points: int, kind: str, period: date, flows: Flows) -> int:
        """Take from the oldest lots; returns what no lot could give."""
        for lot in self.lots:
            if points == 0:
                break
            taken = min(lot.remaining, points)
            if taken:
                lot.remaining -= taken
                if kind == "redeemed":
                    lot.redeemed += taken
                points -= taken
                self.touched.add(lot.seq)
                flows.add(lot.cohort, period, kind, taken)
        return points

    def _unredeem(self, points: int, period: date, flows: Flows) -> int:
        for lot in reversed(self.lots):
            if points == 0:
                break
            back = min(lot.redeemed, points)
            if back:
                lot.redeemed -= back
                lot.remaining += back
                points -= back
                self.touched.add(lot.seq)
                flows.add(lot.cohort, period, "redeemed", -back)
        return points


@dataclass
class Flows:
    totals: dict[tuple[date, date], dict[str, int]] = field(default_factory=dict)

    def add(self, cohort: date, period: date, kind: str, points: int) -> None:
        row = self.totals.setdefault((cohort, period), dict.fromkeys(KINDS, 0))
        row[kind] += points


def replay(
    movements: Iterable[tuple[str, str, int, date]], books: dict[str, Book] | None = None
) -> tuple[dict[str, Book], Flows]:
    """Apply (customer_no, cause, change, period) movements in order."""
    books = {} if books is None else books
    result = Flows()
    for customer_no, cause, change, period in movements:
        books.setdefault(customer_no, Book()).apply(cause, change, period, result)
    return books, result


# --- the miner ---------------------------------------------------------------------------


async def apply(uow: UnitOfWork, batch: Sequence[Inbound[BalanceChanged]]) -> None:
    moves = [
        (m.customer_no, m.cause, m.change, month_of(m.occurred_at))
        for m in (item.message for item in batch)
        if m.currency == CURRENCY and m.change != 0
    ]
    if not moves:
        return
    conn = uow.conn
    books = await _load(conn, sorted({customer for customer, *_ in moves}))
    books, result = replay(moves, books)
    await _save(conn, books, result)


async def _load(conn: AsyncConnection, customer_nos: list[str]) -> dict[str, Book]:
    books: dict[str, Book] = {}
    rows = await conn.execute(
        text(
            f'SELECT customer_no, next_seq, debt FROM "{SCHEMA}".report_cohort_customers '
            "WHERE customer_no = ANY(CAST(:c AS text[])) ORDER BY customer_no FOR UPDATE"
        ),
        {"c": customer_nos},
    )
    for r in rows:
        books[r.customer_no] = Book(r.next_seq, r.debt)
    # Open lots, and spent ones a cancellation may give points back to.
    rows = await conn.execute(
        text(
            "SELECT customer_no, seq, cohort, issued, remaining, redeemed "
            f'FROM "{SCHEMA}".report_cohort_lots WHERE customer_no = ANY(CAST(:c AS text[])) '
            "AND (remaining > 0 OR redeemed > 0) ORDER BY customer_no, seq"
        ),
        {"c": list(books)},
    )
    for r in rows:
        books[r.customer_no].lots.append(Lot(r.seq, r.cohort, r.issued, r.remaining, r.redeemed))
    return books


async def _save(conn: AsyncConnection, books: dict[str, Book], result: Flows) -> None:
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".report_cohort_customers (customer_no, next_seq, debt) '
            "SELECT * FROM unnest(CAST(:c AS text[]), CAST(:s AS int[]), CAST(:d AS bigint[])) "
            "ON CONFLICT (customer_no) DO UPDATE "
            "SET next_seq = excluded.next_seq, debt = excluded.debt"
        ),
        {
            "c": list(books),
            "s": [b.next_seq for b in books.values()],
            "d": [b.debt for b in books.values()],
        },
    )
    changed = [(c, lot) for c, b in books.items() for lot in b.lots if lot.seq in b.touched]
    if changed:
        await conn.execute(
            text(
                f'INSERT INTO "{SCHEMA}".report_cohort_lots '
                "(customer_no, seq, cohort, issued, remaining, redeemed) "
                "SELECT * FROM unnest(CAST(:c AS text[]), CAST(:s AS int[]), "
                "CAST(:k AS date[]), CAST(:i AS bigint[]), CAST(:r AS bigint[]), "
                "CAST(:d AS bigint[])) ON CONFLICT (customer_no, seq) DO UPDATE "
                "SET remaining = excluded.remaining, redeemed = excluded.redeemed"
            ),
            {
                "c": [c for c, _ in changed],
                "s": [lot.seq for _, lot in changed],
                "k": [lot.cohort for _, lot in changed],
                "i": [lot.issued for _, lot in changed],
                "r": [lot.remaining for _, lot in changed],
                "d": [lot.redeemed for _, lot in changed],
            },
        )
    keys = sorted(result.totals)
    if keys:
        await conn.execute(
            text(
                f'INSERT INTO "{SCHEMA}".report_cohort_flows '
                "(cohort, period, issued, redeemed, expired, reversed) "
                "SELECT * FROM unnest(CAST(:c AS date[]), CAST(:p AS date[]), "
                "CAST(:i AS bigint[]), CAST(:r AS bigint[]), CAST(:e AS bigint[]), "
                "CAST(:v AS bigint[])) ON CONFLICT (cohort, period) DO UPDATE SET "
                "issued = report_cohort_flows.issued + excluded.issued, "
                "redeemed = report_cohort_flows.redeemed + excluded.redeemed, "
                "expired = report_cohort_flows.expired + excluded.expired, "
                "reversed = report_cohort_flows.reversed + excluded.reversed"
            ),
            {
                "c": [c for c, _ in keys],
                "p": [p for _, p in keys],
                "i": [result.totals[k]["issued"] for k in keys],
                "r": [result.totals[k]["redeemed"] for k in keys],
                "e": [result.totals[k]["expired"] for k in keys],
                "v": [result.totals[k]["reversed"] for k in keys],
            },
        )


# --- the report --------------------------------------------------------------------------


def cohort_table(rows: Iterable[dict[str, Any]], as_of: date) -> list[dict[str, Any]]:
    """Per cohort, per month from its issue to `as_of`: cumulative points and shares."""
    by_cohort: dict[date, dict[date, dict[str, int]]] = {}
    for r in rows:
        by_cohort.setdefault(r["cohort"], {})[r["period"]] = {k: int(r[k]) for k in KINDS}
    last = as_of.replace(day=1)
    report: list[dict[str, Any]] = []
    for cohort in sorted(c for c in by_cohort if c <= last):
        running = dict.fromkeys(KINDS, 0)
        months: list[dict[str, Any]] = []
        for period in _months(cohort, last):
            for kind, points in by_cohort[cohort].get(period, {}).items():
                running[kind] += points
            months.append({"period": period, **_shares(running)})
        report.append({"cohort": cohort, **_shares(running), "months": months})
    return report


def _shares(running: dict[str, int]) -> dict[str, Any]:
    issued = running["issued"]
    outstanding = issued - running["redeemed"] - running["expired"] - running["reversed"]
    row: dict[str, Any] = {**running, "outstanding": outstanding}
    for kind in ("redeemed", "expired", "reversed", "outstanding"):
        row[f"{kind}_share"] = round(row[kind] / issued, 4) if issued else 0.0
    return row


def _months(first: date, last: date) -> list[date]:
    months, month = [], first
    while month <= last:
        months.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return months


async def cohort_report(conn: AsyncConnection, as_of: date) -> list[dict[str, Any]]:
    rows = await conn.execute(
        text(
            "SELECT cohort, period, issued, redeemed, expired, reversed "
            f'FROM "{SCHEMA}".report_cohort_flows WHERE period <= :p ORDER BY cohort, period'
        ),
        {"p": as_of},
    )
    return cohort_table([dict(r) for r in rows.mappings()], as_of)


MINER = Miner(
    name="cohorts",
    subscriptions=(Subscription(BALANCE_TOPIC, apply),),
    tables=(flows, lots, customers),
    description="issue cohorts: redeemed, expired and outstanding shares by month of issue",
    rides_lane=True,
)
