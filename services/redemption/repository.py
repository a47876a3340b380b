"""SQL of the wallet ledger: set-based where the batch allows, row locks in sorted order.

Keyed access. asyncpg prepares every statement, and PostgreSQL may keep a generic plan of
one made while its tables were empty (a fresh schema, a replay) until their first ANALYZE,
a minute or more later. Such a plan joins a batch's unnest(...) of keys to a sequential
scan of the whole table, for every batch. So each statement here that reaches rows by key
says so in a form every plan takes as an index condition: a LATERAL probe per key, or a
redundant `key = ANY(array)` beside the join ("keyed" below). The generic plans are checked
by tests/integration/test_plan_cache.py.
"""

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


# One primary-key probe a wanted key, taken in key order (the keys arrive sorted), so that
# no plan, generic or custom, reads accounts nobody asked for or locks in another order.
LOCK_ACCOUNTS = (
    "SELECT a.customer_no, a.currency, a.balance, a.held "
    "FROM unnest(CAST(:c AS text[]), CAST(:cur AS text[])) WITH ORDINALITY AS k(c, cur, n) "
    "CROSS JOIN LATERAL (SELECT customer_no, currency, balance, held "
    f'FROM "{SCHEMA}".accounts WHERE customer_no = k.c AND currency = k.cur FOR UPDATE) a '
    "ORDER BY k.n"
)


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
            f'INSERT INTO "{SCHEMA}".accounts (customer_no, currency) SELECT * FROM '
            "unnest(CAST(:c AS text[]), CAST(:cur AS text[])) ON CONFLICT DO NOTHING"
        ),
        params,
    )
    rows = await conn.execute(text(LOCK_ACCOUNTS), params)
    return {(r.customer_no, r.currency): Account(r.balance, r.held) for r in rows}


SAVE_BALANCES = (
    f'UPDATE "{SCHEMA}".accounts a SET balance = d.balance, held = d.held '
    "FROM unnest(CAST(:c AS text[]), CAST(:cur AS text[]), CAST(:b AS bigint[]), "
    "CAST(:h AS bigint[])) AS d(customer_no, currency, balance, held) "
    "WHERE a.customer_no = d.customer_no AND a.currency = d.currency "
    "AND a.customer_no = ANY(CAST(:c AS text[])) "  # keyed
    "AND (a.balance, a.held) IS DISTINCT FROM (d.balance, d.held)"
)


async def save_balances(conn: AsyncConnection, accounts: dict[tuple[str, str], Account]) -> None:
    if not accounts:
        return
    keys = sorted(accounts)
    await conn.execute(
        text(SAVE_BALANCES),
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


OPEN_LOTS = (
    "SELECT lot_id, customer_no, currency, posting_id, initial_points, remaining_points, "
    "expires_at "
    f'FROM "{SCHEMA}".lots WHERE customer_no = ANY(CAST(:c AS text[])) '  # keyed
    "AND (customer_no, currency) IN "
    "(SELECT * FROM unnest(CAST(:c AS text[]), CAST(:cur AS text[]))) "
    "AND remaining_points > 0 {unexpired}"
    "ORDER BY customer_no, currency, lot_id FOR UPDATE"
)
LOCK_OPEN_LOTS = OPEN_LOTS.format(unexpired="")
LOCK_USABLE_LOTS = OPEN_LOTS.format(unexpired="AND (expires_at IS NULL OR expires_at >= :d) ")


async def lock_open_lots(
    conn: AsyncConnection, owners: Iterable[Owner], usable_on: date | None = None
) -> LotBook:
    """The lots with points left of these accounts, locked in lot order (the caller holds
    the accounts' rows); with usable_on, only the lots not expired on that day."""
    wanted, book = _tracked(owners)
    if not wanted:
        return book
    rows = await conn.execute(
        text(LOCK_USABLE_LOTS if usable_on else LOCK_OPEN_LOTS),
        {"c": [o[0] for o in wanted], "cur": [o[1] for o in wanted], "d": usable_on},
    )
    # Unpacked, not read by name: a row's attributes cost several times more (lot_summaries).
    for lot_id, customer_no, currency, posting_id, starting, remaining, expires_at in rows:
        _add_lot(book, lot_id, customer_no, currency, posting_id, starting, remaining, expires_at)
    return book


def _tracked(owners: Iterable[Owner]) -> tuple[list[Owner], LotBook]:
    """The owners, sorted and distinct, and a book that follows each of them."""
    wanted = sorted(set(owners))
    book = LotBook()
    for owner in wanted:
        book.track(owner)
    return wanted, book


def _add_lot(
    book: LotBook, lot_id: int, customer_no: str, currency: str, posting_id: str,
    starting: int, remaining: int, expires_at: date | None,
) -> None:  # fmt: skip
    book.add((customer_no, currency), Lot(lot_id, remaining, expires_at, starting, posting_id),
             posting_id)  # fmt: skip


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


CONSUME_LOTS = (
    f'UPDATE "{SCHEMA}".lots l SET remaining_points = l.remaining_points - d.n '
    "FROM unnest(CAST(:i AS bigint[]), CAST(:n AS bigint[])) AS d(lot_id, n) "
    "WHERE l.lot_id = d.lot_id AND l.lot_id = ANY(CAST(:i AS bigint[]))"  # keyed
)


async def consume_lots(conn: AsyncConnection, taken: Sequence[tuple[int, int]]) -> None:
    """(lot id, points taken); negative points give points back."""
    if not taken:
        return
    await conn.execute(
        text(CONSUME_LOTS),
        {"i": [t[0] for t in taken], "n": [t[1] for t in taken]},
    )


@dataclass(frozen=True, slots=True)
class Lookups:
    """What a decisions batch reads first, having locked its known customers' accounts."""

    earlier: dict[tuple[str, str, str], dict[str, Any]]  # (vendor, request, action) -> decision
    customers: dict[str, Customer]
    vendors: dict[str, bool]  # vendor -> accepts redemptions now


# The decisions given before to (vendor, request, action): one probe of the unique key
# each. The former `IN (SELECT * FROM unnest(...))`, planned generically on a fresh schema,
# read all of redemptions for every batch (tests/integration/test_plan_cache.py).
EARLIER_DECISIONS = f"""
SELECT d.vendor_id, d.request_id, d.action, d.decision
FROM unnest(CAST(:v AS text[]), CAST(:r AS text[]), CAST(:a AS text[])) AS k(v, r, a)
CROSS JOIN LATERAL (
    SELECT vendor_id, request_id, action, decision FROM "{SCHEMA}".redemptions
    WHERE vendor_id = k.v AND request_id = k.r AND action = k.a OFFSET 0
) d
"""

# One round trip for the reads of a decisions batch and its accounts' locks (each a round
# trip before, and a round trip waits for a core on a busy machine). The known customers'
# accounts are opened or locked by one upsert, in customer order like every other lock of
# accounts: ON CONFLICT DO UPDATE ... WHERE false locks an existing row without writing it
# (no new row version, nothing audited). Their balances are read by the next statement
# (DECISION_ACCOUNTS_AND_LOTS): one here would see this statement's snapshot, older than
# the writer whose lock it may have waited for.
DECISION_LOOKUPS = f"""
WITH locked AS (
    INSERT INTO "{SCHEMA}".accounts AS a (customer_no, currency)
    SELECT customer_no, :cur FROM "{SCHEMA}".customers
    WHERE customer_no = ANY(CAST(:c AS text[])) ORDER BY customer_no
    ON CONFLICT (customer_no, currency) DO UPDATE SET balance = a.balance WHERE false
)
SELECT
    (SELECT json_agg(json_build_array(vendor_id, request_id, action, decision))
     FROM ({EARLIER_DECISIONS}) e) AS earlier,
    (SELECT json_agg(json_build_array(customer_no, preferred_language, loyalty_member, status,
                                      cashback_account_no))
     FROM "{SCHEMA}".customers WHERE customer_no = ANY(CAST(:c AS text[]))) AS customers,
    (SELECT json_agg(json_build_array(vendor_id, accepts_redemptions AND active))
     FROM "{SCHEMA}".vendors WHERE vendor_id = ANY(CAST(:vs AS text[]))) AS vendors
"""

# The accounts a decisions batch locked (DECISION_LOOKUPS), as their last writers left
# them, and their usable lots, locked in lot order: this statement's snapshot is taken
# once the accounts' locks are held, so it sees every lot their writers committed.
DECISION_ACCOUNTS_AND_LOTS = f"""
WITH lots AS ({LOCK_USABLE_LOTS})
SELECT customer_no, currency, NULL AS lot_id, NULL AS posting_id, balance, held, NULL AS expires_at
FROM "{SCHEMA}".accounts WHERE customer_no = ANY(CAST(:c AS text[]))  -- keyed
AND (customer_no, currency) IN (SELECT * FROM unnest(CAST(:c AS text[]), CAST(:cur AS text[])))
UNION ALL
SELECT customer_no, currency, lot_id, posting_id, initial_points, remaining_points, expires_at
FROM lots
"""


async def decision_accounts_and_lots(
    conn: AsyncConnection, owners: Iterable[Owner], usable_on: date
) -> tuple[dict[Owner, Account], LotBook]:
    """The accounts of these owners (the caller holds their locks) and their lots not
    expired on `usable_on`, locked."""
    wanted, book = _tracked(owners)
    if not wanted:
        return {}, book
    rows = await conn.execute(
        text(DECISION_ACCOUNTS_AND_LOTS),
        {"c": [o[0] for o in wanted], "cur": [o[1] for o in wanted], "d": usable_on},
    )
    accounts: dict[Owner, Account] = {}
    lots = []
    for customer_no, currency, lot_id, posting_id, first, second, expires_at in rows:
        if lot_id is None:  # an account: balance, held
            accounts[(customer_no, currency)] = Account(first, second)
        else:  # a lot: starting, remaining
            lots.append((lot_id, customer_no, currency, posting_id, first, second, expires_at))
    for lot in sorted(lots):  # lot order, as lock_open_lots reads them
        _add_lot(book, *lot)
    return accounts, book


async def decision_lookups(
    conn: AsyncConnection,
    requests: Iterable[tuple[str, str, str, str]],
    currency: str,
) -> Lookups:
    """For (vendor, request, action, customer) of a batch: the decisions these requests got
    before, the customers and the vendors; the known customers' `currency` accounts are
    opened where missing and locked (decision_accounts_and_lots reads them)."""
    wanted = sorted(set(requests))
    if not wanted:
        return Lookups({}, {}, {})
    row = (
        await conn.execute(
            text(DECISION_LOOKUPS),
            {
                "v": [w[0] for w in wanted],
                "r": [w[1] for w in wanted],
                "a": [w[2] for w in wanted],
                "c": sorted({w[3] for w in wanted}),
                "vs": sorted({w[0] for w in wanted}),
                "cur": currency,
            },
        )
    ).one()
    earlier, customers, vendors = row
    return Lookups(
        {(v, r, a): decision for v, r, a, decision in earlier or ()},
        {c[0]: Customer(*c) for c in customers or ()},
        {v: bool(ok) for v, ok in vendors or ()},
    )


async def decisions_by_request(
    conn: AsyncConnection, keys: Iterable[tuple[str, str, str]]
) -> dict[tuple[str, str, str], dict[str, Any]]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = await conn.execute(
        text(EARLIER_DECISIONS),
        {"v": [k[0] for k in wanted], "r": [k[1] for k in wanted], "a": [k[2] for k in wanted]},
    )
    return {(r.vendor_id, r.request_id, r.action): r.decision for r in rows}


# A decisions batch's writes in one round trip (six before): the decisions, the lots they
# took from, which lot paid how much of which redemption, a journal transaction of two
# entries for each spend, and the accounts' new balances. Keys (vendor, request, action)
# tie the spends to the redemption ids the INSERT assigns.
WRITE_DECISIONS = f"""
WITH red AS (
    INSERT INTO "{SCHEMA}".redemptions (vendor_id, request_id, action, message_id, customer_no,
                                        points, outcome, reason_code, decision, decided_at)
    SELECT * FROM unnest(CAST(:dv AS text[]), CAST(:dr AS text[]), CAST(:da AS text[]),
                         CAST(:dm AS text[]), CAST(:dc AS text[]), CAST(:dp AS bigint[]),
                         CAST(:do AS text[]), CAST(:dx AS text[]), CAST(:dd AS jsonb[]),
                         CAST(:dt AS timestamptz[]))
    RETURNING vendor_id, request_id, action, redemption_id
), used AS (
    UPDATE "{SCHEMA}".lots l SET remaining_points = l.remaining_points - d.n
    FROM unnest(CAST(:li AS bigint[]), CAST(:ln AS bigint[])) AS d(lot_id, n)
    WHERE l.lot_id = d.lot_id AND l.lot_id = ANY(CAST(:li AS bigint[]))  -- keyed
), alloc AS (
    INSERT INTO "{SCHEMA}".allocations (redemption_id, lot_id, points)
    SELECT red.redemption_id, a.lot_id, a.points
    FROM unnest(CAST(:av AS text[]), CAST(:ar AS text[]), CAST(:aa AS text[]),
                CAST(:al AS bigint[]), CAST(:ap AS bigint[]))
         WITH ORDINALITY AS a(vendor_id, request_id, action, lot_id, points, n)
    JOIN red USING (vendor_id, request_id, action)
    ORDER BY a.n
), spent AS (
    SELECT red.redemption_id, s.customer_no, s.account, s.points, s.n
    FROM unnest(CAST(:sv AS text[]), CAST(:sr AS text[]), CAST(:sa AS text[]),
                CAST(:sc AS text[]), CAST(:sk AS text[]), CAST(:sp AS bigint[]))
         WITH ORDINALITY AS s(vendor_id, request_id, action, customer_no, account, points, n)
    JOIN red USING (vendor_id, request_id, action)
), txn AS (
    INSERT INTO "{SCHEMA}".journal_transactions (kind, reference, customer_no, currency)
    SELECT 'redemption', CAST(redemption_id AS text), customer_no, :cur FROM spent ORDER BY n
    ON CONFLICT DO NOTHING
    RETURNING reference, txn_id
), entries AS (
    INSERT INTO "{SCHEMA}".journal_entries (txn_id, account, amount)
    SELECT txn.txn_id, e.account, e.amount
    FROM spent JOIN txn ON txn.reference = CAST(spent.redemption_id AS text)
    CROSS JOIN LATERAL (VALUES (1, spent.account, -spent.points),
                               (2, CAST(:redeemed AS text), spent.points)) AS e(k, account, amount)
    ORDER BY spent.n, e.k
), balances AS (
    UPDATE "{SCHEMA}".accounts a SET balance = d.balance, held = d.held
    FROM unnest(CAST(:bc AS text[]), CAST(:bcur AS text[]), CAST(:bb AS bigint[]),
                CAST(:bh AS bigint[])) AS d(customer_no, currency, balance, held)
    WHERE a.customer_no = d.customer_no AND a.currency = d.currency
      AND a.customer_no = ANY(CAST(:bc AS text[]))  -- keyed
      AND (a.balance, a.held) IS DISTINCT FROM (d.balance, d.held)
)
SELECT vendor_id, request_id, action, redemption_id FROM red
"""

RequestKey = tuple[str, str, str]  # (vendor, request, action)


@dataclass(frozen=True, slots=True)
class Spent:
    """Points an approved redeem or capture took: journalled customer -> redeemed."""

    key: RequestKey
    customer_no: str
    account: str  # the customer's ledger account
    points: int
    taken: Sequence[tuple[int, int]]  # (lot id, points)


async def write_decisions(
    conn: AsyncConnection,
    decided: Sequence[dict[str, Any]],
    moves: Sequence[tuple[int, int]],
    spends: Sequence[Spent],
    *,
    currency: str,
    redeemed_account: str,
    accounts: dict[tuple[str, str], Account] | None = None,
) -> dict[RequestKey, int]:
    """Write a batch's decisions (as record_redemptions takes them), lot moves (as
    consume_lots), spends and, when given, the accounts' balances; returns each decision's
    redemption id."""
    balances = sorted((accounts or {}).items())
    if not (decided or moves or balances):
        return {}
    allocated = [(s.key, lot_id, points) for s in spends for lot_id, points in s.taken]
    params: dict[str, Any] = {
        "dv": [d["vendor_id"] for d in decided],
        "dr": [d["request_id"] for d in decided],
        "da": [d["action"] for d in decided],
        "dm": [d["message_id"] for d in decided],
        "dc": [d["customer_no"] for d in decided],
        "dp": [d["points"] for d in decided],
        "do": [d["outcome"] for d in decided],
        "dx": [d["reason_code"] for d in decided],
        "dd": [d["decision"] for d in decided],
        "dt": [d["decided_at"] for d in decided],
        "li": [m[0] for m in moves],
        "ln": [m[1] for m in moves],
        "av": [a[0][0] for a in allocated],
        "ar": [a[0][1] for a in allocated],
        "aa": [a[0][2] for a in allocated],
        "al": [a[1] for a in allocated],
        "ap": [a[2] for a in allocated],
        "sv": [s.key[0] for s in spends],
        "sr": [s.key[1] for s in spends],
        "sa": [s.key[2] for s in spends],
        "sc": [s.customer_no for s in spends],
        "sk": [s.account for s in spends],
        "sp": [s.points for s in spends],
        "cur": currency,
        "redeemed": redeemed_account,
        "bc": [k[0] for k, _ in balances],
        "bcur": [k[1] for k, _ in balances],
        "bb": [a.balance for _, a in balances],
        "bh": [a.held for _, a in balances],
    }
    rows = await conn.execute(text(WRITE_DECISIONS), params)
    return {(r.vendor_id, r.request_id, r.action): r.redemption_id for r in rows}


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
