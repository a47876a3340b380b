"""SQL of the wallet ledger: set-based where the batch allows, row locks in sorted order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.redemption.domain import Lot, LotBook, Owner, UsableLots, expiry_order
from services.redemption.tables import SCHEMA


@dataclass(frozen=True, slots=True)
class Customer:
    customer_no: str
    preferred_language: str
    loyalty_member: bool
    status: str
    cashback_account_no: str | None


@dataclass
class Account:
    balance: int
    held: int

    @property
    def spendable(self) -> int:
        return self.balance - self.held


async def lock_accounts(
    conn: AsyncConnection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Account]:
    """Create missing accounts and lock them all, in sorted order (no deadlocks)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    params = {"c": [k[0] for k in wanted], "cur": [k[1] for k in wanted]}
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".accounts (customer_no, currency) '
            "SELECT * FROM unnest(CAST(:c AS text[]), CAST(:cur AS text[])) ON CONFLICT DO NOTHING"
        ),
        params,
    )
    rows = await conn.execute(
        text(
            f'SELECT customer_no, currency, balance, held FROM "{SCHEMA}".accounts '
            "WHERE (customer_no, currency) IN "
            "(SELECT * FROM unnest(CAST(:c AS text[]), CAST(:cur AS text[]))) "
            "ORDER BY customer_no, currency FOR UPDATE"
        ),
        params,
    )
    return {(r.customer_no, r.currency): Account(r.balance, r.held) for r in rows}


async def save_balances(conn: AsyncConnection, accounts: dict[tuple[str, str], Account]) -> None:
    if not accounts:
        return
    keys = sorted(accounts)
    await conn.execute(
        text(
            f'UPDATE "{SCHEMA}".accounts a SET balance = d.balance, held = d.held '
            "FROM unnest(CAST(:c AS text[]), CAST(:cur AS text[]), CAST(:b AS bigint[]), "
            "CAST(:h AS bigint[])) AS d(customer_no, currency, balance, held) "
            "WHERE a.customer_no = d.customer_no AND a.currency = d.currency "
            "AND (a.balance, a.held) IS DISTINCT FROM (d.balance, d.held)"
        ),
        {
            "c": [k[0] for k in keys],
            "cur": [k[1] for k in keys],
            "b": [accounts[k].balance for k in keys],
            "h": [accounts[k].held for k in keys],
        },
    )


async def claim_journal(
    conn: AsyncConnection, kind: str, entries: Sequence[tuple[str, str, str]]
) -> dict[str, int]:
    """Open journal transactions (reference, customer, currency) not seen before: ref -> id."""
    if not entries:
        return {}
    rows = await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".journal_transactions (kind, reference, customer_no, currency) '
            "SELECT :k, * FROM unnest(CAST(:r AS text[]), CAST(:c AS text[]), "
            "CAST(:cur AS text[])) ON CONFLICT DO NOTHING RETURNING reference, txn_id"
        ),
        {
            "k": kind,
            "r": [e[0] for e in entries],
            "c": [e[1] for e in entries],
            "cur": [e[2] for e in entries],
        },
    )
    return {r.reference: r.txn_id for r in rows}


async def write_entries(conn: AsyncConnection, entries: Sequence[tuple[int, str, int]]) -> None:
    """(transaction id, account, amount); each transaction's entries sum to zero."""
    if not entries:
        return
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".journal_entries (txn_id, account, amount) '
            "SELECT * FROM unnest(CAST(:t AS bigint[]), CAST(:a AS text[]), CAST(:m AS bigint[]))"
        ),
        {"t": [e[0] for e in entries], "a": [e[1] for e in entries], "m": [e[2] for e in entries]},
    )


@dataclass(frozen=True, slots=True)
class NewLot:
    customer_no: str
    currency: str
    posting_id: str
    points: int
    remaining: int  # less than points when the credit repaid a debt first
    expires_at: date | None

    def unwritten(self) -> Lot:
        """The lot as the domain sees it before it is written (its id is not known yet)."""
        return Lot(0, self.remaining, self.expires_at, self.points, self.posting_id)


async def create_lots(
    conn: AsyncConnection, lots: Sequence[NewLot], book: LotBook
) -> dict[str, int]:
    """Open the lots; those of accounts the book follows join it. Returns posting id -> lot id."""
    if not lots:
        return {}
    rows = await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".lots (customer_no, currency, posting_id, initial_points, '
            "remaining_points, expires_at) SELECT * FROM unnest("
            "CAST(:c AS text[]), CAST(:cur AS text[]), CAST(:p AS text[]), CAST(:n AS bigint[]), "
            "CAST(:r AS bigint[]), CAST(:e AS date[])) "
            "RETURNING lot_id, customer_no, currency, posting_id, initial_points, "
            "remaining_points, expires_at"
        ),
        {
            "c": [lot.customer_no for lot in lots],
            "cur": [lot.currency for lot in lots],
            "p": [lot.posting_id for lot in lots],
            "n": [lot.points for lot in lots],
            "r": [lot.remaining for lot in lots],
            "e": [lot.expires_at for lot in lots],
        },
    )
    ids = {}
    for r in rows:
        book.add(
            (r.customer_no, r.currency),
            Lot(r.lot_id, r.remaining_points, r.expires_at, r.initial_points, r.posting_id),
            r.posting_id,
        )  # fmt: skip
        ids[r.posting_id] = r.lot_id
    return ids


async def lock_open_lots(
    conn: AsyncConnection, owners: Iterable[Owner], usable_on: date | None = None
) -> LotBook:
    """The lots with points left of these accounts, locked in lot order (the caller holds
    the accounts' rows); with usable_on, only the lots not expired on that day."""
    wanted = sorted(set(owners))
    book = LotBook()
    for owner in wanted:
        book.track(owner)
    if not wanted:
        return book
    unexpired = "AND (expires_at IS NULL OR expires_at >= :d) " if usable_on else ""
    rows = await conn.execute(
        text(
            "SELECT lot_id, customer_no, currency, posting_id, initial_points, remaining_points, "
            "expires_at "
            f'FROM "{SCHEMA}".lots WHERE (customer_no, currency) IN '
            "(SELECT * FROM unnest(CAST(:c AS text[]), CAST(:cur AS text[]))) "
            f"AND remaining_points > 0 {unexpired}"
            "ORDER BY customer_no, currency, lot_id FOR UPDATE"
        ),
        {"c": [o[0] for o in wanted], "cur": [o[1] for o in wanted], "d": usable_on},
    )
    # Unpacked, not read by name: a row's attributes cost several times more (lot_summaries).
    for lot_id, customer_no, currency, posting_id, starting, remaining, expires_at in rows:
        book.add((customer_no, currency), Lot(lot_id, remaining, expires_at, starting, posting_id),
                 posting_id)  # fmt: skip
    return book


# Each account's first usable lots and first expiry days are read along ix_lots_usable, which
# has them in that order: a few index entries per account, however many lots it has. The
# count reads all of the account's open lots' index entries (and no more).
USABLE_LOTS = f"""
WITH owners AS (
    SELECT * FROM unnest(CAST(:c AS text[]), CAST(:cur AS text[])) AS o(customer_no, currency)
)
SELECT o.customer_no, o.currency, 'lot' AS kind, l.lot_id, l.initial_points,
       l.remaining_points AS points, l.expires_at, l.posting_id
FROM owners o CROSS JOIN LATERAL (
    SELECT lot_id, initial_points, remaining_points, expires_at, posting_id
    FROM "{SCHEMA}".lots
    WHERE customer_no = o.customer_no AND currency = o.currency AND remaining_points > 0
      AND (expires_at >= :d OR expires_at IS NULL)
    ORDER BY expires_at, lot_id
    LIMIT :n
) l
UNION ALL
SELECT o.customer_no, o.currency, 'day', NULL, NULL, d.points, d.expires_at, NULL
FROM owners o CROSS JOIN LATERAL (
    SELECT expires_at, CAST(sum(remaining_points) AS bigint) AS points
    FROM "{SCHEMA}".lots
    WHERE customer_no = o.customer_no AND currency = o.currency AND remaining_points > 0
      AND expires_at >= :d
    GROUP BY expires_at
    ORDER BY expires_at
    LIMIT :days
) d
UNION ALL
SELECT o.customer_no, o.currency, 'count', NULL, NULL, (
    SELECT count(*) FROM "{SCHEMA}".lots
    WHERE customer_no = o.customer_no AND currency = o.currency AND remaining_points > 0
      AND (expires_at >= :d OR expires_at IS NULL)
), NULL, NULL
FROM owners o
"""


async def lot_summaries(
    conn: AsyncConnection, owners: Iterable[Owner], today: date, limit: int, days: int = 3
) -> dict[Owner, UsableLots]:
    """These accounts' usable lots summarised (domain.usable_lots): the first `limit`, the
    count, the first `days` expiry days; one statement, no row locks (the caller holds the
    accounts' rows, which every writer of lots locks first)."""
    wanted = sorted(set(owners))
    if not wanted:
        return {}
    rows = await conn.execute(
        text(USABLE_LOTS),
        {"c": [o[0] for o in wanted], "cur": [o[1] for o in wanted], "d": today, "n": limit,
         "days": days},
    )  # fmt: skip
    first: dict[Owner, list[Lot]] = {owner: [] for owner in wanted}
    due: dict[Owner, list[tuple[date, int]]] = {owner: [] for owner in wanted}
    count: dict[Owner, int] = {}
    # Unpacked, not read by name: a row's attributes cost several times more (12,000 rows).
    for customer_no, currency, kind, lot_id, starting, points, expires_at, posting_id in rows:
        owner = (customer_no, currency)
        if kind == "lot":
            first[owner].append(Lot(lot_id, points, expires_at, starting, posting_id))
        elif kind == "day":
            due[owner].append((expires_at, points))
        else:
            count[owner] = points
    return {
        o: UsableLots(tuple(sorted(first[o], key=expiry_order)), count[o], tuple(sorted(due[o])))
        for o in wanted
    }


async def consume_lots(conn: AsyncConnection, taken: Sequence[tuple[int, int]]) -> None:
    """(lot id, points taken); negative points give points back."""
    if not taken:
        return
    await conn.execute(
        text(
            f'UPDATE "{SCHEMA}".lots l SET remaining_points = l.remaining_points - d.n '
            "FROM unnest(CAST(:i AS bigint[]), CAST(:n AS bigint[])) AS d(lot_id, n) "
            "WHERE l.lot_id = d.lot_id"
        ),
        {"i": [t[0] for t in taken], "n": [t[1] for t in taken]},
    )


async def customers(conn: AsyncConnection, numbers: Iterable[str]) -> dict[str, Customer]:
    rows = await conn.execute(
        text(
            "SELECT customer_no, preferred_language, loyalty_member, status, cashback_account_no "
            f'FROM "{SCHEMA}".customers WHERE customer_no = ANY(CAST(:c AS text[]))'
        ),
        {"c": sorted(set(numbers))},
    )
    return {r.customer_no: Customer(*r) for r in rows}


async def vendors_accepting(conn: AsyncConnection, vendor_ids: Iterable[str]) -> dict[str, bool]:
    rows = await conn.execute(
        text(
            f'SELECT vendor_id, accepts_redemptions AND active AS ok FROM "{SCHEMA}".vendors '
            "WHERE vendor_id = ANY(CAST(:v AS text[]))"
        ),
        {"v": sorted(set(vendor_ids))},
    )
    return {r.vendor_id: r.ok for r in rows}


async def decisions_by_request(
    conn: AsyncConnection, keys: Iterable[tuple[str, str, str]]
) -> dict[tuple[str, str, str], dict[str, Any]]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = await conn.execute(
        text(
            f'SELECT vendor_id, request_id, action, decision FROM "{SCHEMA}".redemptions '
            "WHERE (vendor_id, request_id, action) IN (SELECT * FROM unnest("
            "CAST(:v AS text[]), CAST(:r AS text[]), CAST(:a AS text[])))"
        ),
        {"v": [k[0] for k in wanted], "r": [k[1] for k in wanted], "a": [k[2] for k in wanted]},
    )
    return {(r.vendor_id, r.request_id, r.action): r.decision for r in rows}


async def record_redemptions(
    conn: AsyncConnection, decided: Sequence[dict[str, Any]]
) -> dict[tuple[str, str, str], int]:
    """Every decision of the batch, approved or declined: (vendor, request, action) -> id."""
    if not decided:
        return {}
    columns = ("vendor_id", "request_id", "action", "message_id", "customer_no", "points",
               "outcome", "reason_code", "decision", "decided_at")  # fmt: skip
    types = ("text", "text", "text", "text", "text", "bigint", "text", "text", "jsonb",
             "timestamptz")  # fmt: skip
    rows = await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".redemptions ({", ".join(columns)}) SELECT * FROM unnest('
            + ", ".join(f"CAST(:{c} AS {t}[])" for c, t in zip(columns, types, strict=True))
            + ") RETURNING vendor_id, request_id, action, redemption_id"
        ),
        {c: [row[c] for row in decided] for c in columns},
    )
    return {(r.vendor_id, r.request_id, r.action): r.redemption_id for r in rows}


async def record_allocations(
    conn: AsyncConnection, allocated: Sequence[tuple[int, int, int]]
) -> None:
    """(redemption id, lot id, points): which lot paid how many points of a redemption."""
    if not allocated:
        return
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".allocations (redemption_id, lot_id, points) '
            "SELECT * FROM unnest(CAST(:r AS bigint[]), CAST(:i AS bigint[]), "
            "CAST(:n AS bigint[]))"
        ),
        {
            "r": [a[0] for a in allocated],
            "i": [a[1] for a in allocated],
            "n": [a[2] for a in allocated],
        },
    )


async def upsert_customers(conn: AsyncConnection, rows: Sequence[tuple[Any, ...]]) -> None:
    """(customer_no, language, member, status, cashback account, version); newer wins."""
    if not rows:
        return
    cols = list(zip(*rows, strict=True))
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".customers AS c (customer_no, preferred_language, '
            "loyalty_member, status, cashback_account_no, profile_version) "
            "SELECT * FROM unnest(CAST(:a AS text[]), CAST(:b AS text[]), CAST(:c AS boolean[]), "
            "CAST(:d AS text[]), CAST(:e AS text[]), CAST(:f AS int[])) "
            "ON CONFLICT (customer_no) DO UPDATE SET "
            "preferred_language = excluded.preferred_language, "
            "loyalty_member = excluded.loyalty_member, status = excluded.status, "
            "cashback_account_no = excluded.cashback_account_no, "
            "profile_version = excluded.profile_version "
            "WHERE c.profile_version < excluded.profile_version"
        ),
        dict(zip("abcdef", (list(c) for c in cols), strict=True)),
    )


async def upsert_vendors(conn: AsyncConnection, rows: Sequence[tuple[Any, ...]]) -> None:
    """(vendor_id, accepts_redemptions, active, changed_at); newer wins."""
    if not rows:
        return
    cols = list(zip(*rows, strict=True))
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".vendors AS v (vendor_id, accepts_redemptions, active, '
            "changed_at) SELECT * FROM unnest(CAST(:a AS text[]), CAST(:b AS boolean[]), "
            "CAST(:c AS boolean[]), CAST(:d AS timestamptz[])) "
            "ON CONFLICT (vendor_id) DO UPDATE SET accepts_redemptions = "
            "excluded.accepts_redemptions, active = excluded.active, "
            "changed_at = excluded.changed_at "
            "WHERE v.changed_at < excluded.changed_at"
        ),
        dict(zip("abcd", (list(c) for c in cols), strict=True)),
    )


@dataclass(frozen=True, slots=True)
class Hold:
    hold_id: int
    customer_no: str
    points: int


async def open_hold(
    conn: AsyncConnection, vendor_id: str, request_id: str, customer_no: str, points: int,
    lapses_at: datetime,
) -> bool:  # fmt: skip
    row = await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".holds (vendor_id, request_id, customer_no, points, lapses_at) '
            "VALUES (:v, :r, :c, :p, :l) ON CONFLICT DO NOTHING RETURNING hold_id"
        ),
        {"v": vendor_id, "r": request_id, "c": customer_no, "p": points, "l": lapses_at},
    )
    return row.first() is not None


async def lock_open_hold(conn: AsyncConnection, vendor_id: str, request_id: str) -> Hold | None:
    row = (
        await conn.execute(
            text(
                f'SELECT hold_id, customer_no, points FROM "{SCHEMA}".holds '
                "WHERE vendor_id = :v AND request_id = :r AND state = 'open' FOR UPDATE"
            ),
            {"v": vendor_id, "r": request_id},
        )
    ).first()
    return Hold(row.hold_id, row.customer_no, row.points) if row else None


async def resolve_hold(conn: AsyncConnection, hold_id: int, state: str, now: datetime) -> None:
    """Close an open hold, exactly once (the condition makes a second resolution a no-op)."""
    result = await conn.execute(
        text(
            f'UPDATE "{SCHEMA}".holds SET state = :s, resolved_at = :t '
            "WHERE hold_id = :h AND state = 'open'"
        ),
        {"s": state, "t": now, "h": hold_id},
    )
    if result.rowcount != 1:
        raise RuntimeError(f"hold {hold_id} was resolved concurrently")


async def lapse_due_holds(
    conn: AsyncConnection, customers: Sequence[str], now: datetime
) -> list[Hold]:
    """Lapse the open holds past their time of these customers (accounts locked by caller)."""
    rows = await conn.execute(
        text(
            f"UPDATE \"{SCHEMA}\".holds SET state = 'lapsed', resolved_at = :t "
            "WHERE customer_no = ANY(CAST(:c AS text[])) AND state = 'open' AND lapses_at < :t "
            "RETURNING hold_id, customer_no, points"
        ),
        {"t": now, "c": list(customers)},
    )
    return [Hold(r.hold_id, r.customer_no, r.points) for r in rows]


async def customers_with_due_holds(conn: AsyncConnection, now: datetime, limit: int) -> list[str]:
    rows = await conn.execute(
        text(
            f'SELECT DISTINCT customer_no FROM "{SCHEMA}".holds '
            "WHERE state = 'open' AND lapses_at < :t ORDER BY customer_no LIMIT :n"
        ),
        {"t": now, "n": limit},
    )
    return [r.customer_no for r in rows]


@dataclass(frozen=True, slots=True)
class Spend:
    redemption_id: int
    customer_no: str
    points: int


async def approved_spend(conn: AsyncConnection, vendor_id: str, request_id: str) -> Spend | None:
    row = (
        await conn.execute(
            text(
                f'SELECT redemption_id, customer_no, points FROM "{SCHEMA}".redemptions '
                "WHERE vendor_id = :v AND request_id = :r AND action IN ('redeem', 'capture') "
                "AND outcome = 'approved' AND points > 0 ORDER BY redemption_id LIMIT 1"
            ),
            {"v": vendor_id, "r": request_id},
        )
    ).first()
    return Spend(row.redemption_id, row.customer_no, row.points) if row else None


@dataclass(frozen=True, slots=True)
class Allocation:
    lot_id: int
    points: int
    expires_at: date | None
    starting: int = 0  # the lot's initial points
    source: str = ""  # the lot's posting id

    def expired(self, today: date) -> bool:
        return self.expires_at is not None and self.expires_at < today


async def lock_allocations(conn: AsyncConnection, redemption_id: int) -> list[Allocation]:
    rows = await conn.execute(
        text(
            "SELECT a.lot_id, a.points, l.expires_at, l.initial_points, l.posting_id "
            f'FROM "{SCHEMA}".allocations a '
            f'JOIN "{SCHEMA}".lots l USING (lot_id) WHERE a.redemption_id = :r '
            "ORDER BY a.lot_id FOR UPDATE OF l"
        ),
        {"r": redemption_id},
    )
    return [
        Allocation(r.lot_id, r.points, r.expires_at, r.initial_points, r.posting_id) for r in rows
    ]


async def record_cancellation(
    conn: AsyncConnection, redemption_id: int, message_id: str, returned: int, lost: int
) -> bool:
    row = await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".cancellations (redemption_id, message_id, returned_points, '
            "breakage_points) VALUES (:r, :m, :p, :b) ON CONFLICT DO NOTHING RETURNING 1"
        ),
        {"r": redemption_id, "m": message_id, "p": returned, "b": lost},
    )
    return row.first() is not None


@dataclass(frozen=True, slots=True)
class ExpiredLot:
    lot_id: int
    customer_no: str
    currency: str
    points: int


async def customers_with_expired_lots(conn: AsyncConnection, as_of: date, limit: int) -> list[str]:
    rows = await conn.execute(
        text(
            f'SELECT DISTINCT customer_no FROM "{SCHEMA}".lots '
            "WHERE expires_at < :d AND remaining_points > 0 ORDER BY customer_no LIMIT :n"
        ),
        {"d": as_of, "n": limit},
    )
    return [r.customer_no for r in rows]


async def zero_expired_lots(
    conn: AsyncConnection, customers: Sequence[str], as_of: date
) -> list[ExpiredLot]:
    """Zero the lots past expiry of these customers (whose accounts the caller locked)."""
    rows = await conn.execute(
        text(
            f"""
WITH due AS (
    SELECT lot_id, remaining_points AS points FROM "{SCHEMA}".lots
    WHERE customer_no = ANY(CAST(:c AS text[])) AND expires_at < :d AND remaining_points > 0
    ORDER BY lot_id FOR UPDATE
)
UPDATE "{SCHEMA}".lots l SET remaining_points = 0 FROM due WHERE l.lot_id = due.lot_id
RETURNING l.lot_id, l.customer_no, l.currency, due.points
"""
        ),
        {"c": list(customers), "d": as_of},
    )
    return [ExpiredLot(r.lot_id, r.customer_no, r.currency, r.points) for r in rows]
