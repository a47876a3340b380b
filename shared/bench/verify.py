"""Exactly once, checked where it counts: the wallet's journal and lots, against accrual.

Read as the database's admin after the run: every transaction of the run earned exactly once
(as many distinct posting references as transactions, and no more), the wallet credited
exactly what accrual earned, one lot per posting, and every journal transaction balances.
With an exact expectation (shared.bench.expect: the programme in force, rated by accrual's
own engine), accrual must also have earned exactly the expected postings and points.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from shared.bench.workload import Workload

SPENDABLE = "points"  # the wallet's spendable currency; the others (tier points) only count

WALLET_POSTINGS = """
SELECT currency,
       count(*) AS postings,
       count(DISTINCT reference) AS references,
       count(DISTINCT split_part(reference, ':', 3)) AS transactions
FROM redemption.journal_transactions
WHERE kind = 'posting' AND reference LIKE $1
GROUP BY currency
"""
WALLET_ENTRIES = """
SELECT t.currency,
       count(*) AS entries,
       coalesce(sum(e.amount), 0) AS net,
       coalesce(sum(e.amount) FILTER (WHERE e.account LIKE 'customer:%'), 0) AS credited
FROM redemption.journal_transactions t
JOIN redemption.journal_entries e USING (txn_id)
WHERE t.kind = 'posting' AND t.reference LIKE $1
GROUP BY t.currency
"""
WALLET_LOTS = """
SELECT currency, count(*) AS lots, coalesce(sum(initial_points), 0) AS points
FROM redemption.lots
WHERE posting_id LIKE $1
GROUP BY currency
"""
ACCRUAL_EARNINGS = """
SELECT currency, count(*) AS earnings, count(DISTINCT posting_id) AS postings,
       coalesce(sum(points), 0) AS points
FROM accrual.earnings
WHERE source_transaction_id LIKE $1 AND points > 0
GROUP BY currency
"""


# Where a transaction that never earned stopped: each hop's own record of it, if any.
TRACE = (
    ("enriched", "vendor_matching.match_results", "transaction_id", ""),
    ("received_by_accrual", "accrual.transactions", "transaction_id", ""),
    ("earned", "accrual.earnings", "source_transaction_id", " AND currency = 'points'"),
)


async def trace_missing(conn: asyncpg.Connection, transaction_ids: list[str]) -> dict[str, Any]:
    """For transactions whose points never landed: which hops recorded them."""
    found: dict[str, Any] = {"transactions": transaction_ids}
    for hop, table, column, condition in TRACE:
        sql = f"SELECT {column} FROM {table} WHERE {column} = ANY($1::text[]){condition}"
        try:
            rows = await conn.fetch(sql, transaction_ids)
        except asyncpg.PostgresError as exc:  # another version of a service's schema
            found[hop] = f"unknown ({type(exc).__name__})"
            continue
        found[hop] = sorted({r[0] for r in rows})
    return found


def _by_currency(rows: list[asyncpg.Record]) -> dict[str, dict[str, int]]:
    return {r["currency"]: {k: int(v) for k, v in r.items() if k != "currency"} for r in rows}


async def verify_exactly_once(
    conn: asyncpg.Connection, workload: Workload, *, expected: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The run's accounting, per currency, and whether it is exactly once."""
    pattern = workload.posting_pattern()
    postings = _by_currency(await conn.fetch(WALLET_POSTINGS, pattern))
    entries = _by_currency(await conn.fetch(WALLET_ENTRIES, pattern))
    lots = _by_currency(await conn.fetch(WALLET_LOTS, pattern))
    earned = _by_currency(await conn.fetch(ACCRUAL_EARNINGS, workload.transaction_prefix + "%"))
    return judge(
        workload.transactions,
        postings=postings,
        entries=entries,
        lots=lots,
        earned=earned,
        expected=expected,
    )


def judge(
    transactions: int,
    *,
    postings: dict[str, dict[str, int]],
    entries: dict[str, dict[str, int]],
    lots: dict[str, dict[str, int]],
    earned: dict[str, dict[str, int]],
    expected: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Pure: the verdict from the counts (see the module docstring).

    `expected` is an Expectation.as_dict(); only an exact one is checked.
    """
    exact: dict[str, dict[str, int]] | None = (
        expected["currencies"] if expected is not None and expected["exact"] else None
    )
    spendable = postings.get(SPENDABLE, {})
    wanted = transactions if exact is None else exact.get(SPENDABLE, {}).get("postings", 0)
    problems = [
        f"{SPENDABLE}: {spendable.get(field, 0)} {field} in the wallet, expected {wanted}"
        for field in ("postings", "references", "transactions")
        if spendable.get(field, 0) != wanted
    ]
    currencies: dict[str, dict[str, int]] = {}
    for currency in sorted(set(postings) | set(lots) | set(earned) | set(exact or {})):
        wallet = postings.get(currency, {})
        row = {
            "postings": wallet.get("postings", 0),
            "distinct_references": wallet.get("references", 0),
            "distinct_transactions": wallet.get("transactions", 0),
            "lots": lots.get(currency, {}).get("lots", 0),
            "points_in_lots": lots.get(currency, {}).get("points", 0),
            "points_credited": entries.get(currency, {}).get("credited", 0),
            "journal_net": entries.get(currency, {}).get("net", 0),
            "accrual_postings": earned.get(currency, {}).get("postings", 0),
            "accrual_points": earned.get(currency, {}).get("points", 0),
        }
        currencies[currency] = row
        if row["postings"] != row["distinct_references"]:
            problems.append(f"{currency}: a posting reference occurs twice in the journal")
        if row["postings"] != row["accrual_postings"] or row["lots"] != row["accrual_postings"]:
            problems.append(
                f"{currency}: accrual posted {row['accrual_postings']}, the wallet journaled "
                f"{row['postings']} and holds {row['lots']} lots"
            )
        if not row["points_in_lots"] == row["points_credited"] == row["accrual_points"]:
            problems.append(
                f"{currency}: accrual earned {row['accrual_points']} points, the wallet "
                f"credited {row['points_credited']} with {row['points_in_lots']} in lots"
            )
        if row["journal_net"] != 0:
            problems.append(f"{currency}: the journal is off balance by {row['journal_net']}")
        if exact is not None:
            want = exact.get(currency, {"postings": 0, "points": 0})
            row["expected_postings"], row["expected_points"] = want["postings"], want["points"]
            if (row["accrual_postings"], row["accrual_points"]) != (
                want["postings"],
                want["points"],
            ):
                problems.append(
                    f"{currency}: the programme gives {want['postings']} postings of "
                    f"{want['points']} points in all, accrual earned {row['accrual_postings']} "
                    f"of {row['accrual_points']}"
                )
    return {
        "ok": not problems,
        "transactions": transactions,
        "problems": problems,
        "currencies": currencies,
        "expected": expected,
    }
