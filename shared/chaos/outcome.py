"""What the platform did with the chaos traffic, against what the traffic alone says it should."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from contracts.registry import TOPICS
from shared.chaos.traffic import Expectation
from shared.db.engine import create_engine
from shared.settings import SERVICES
from shared.verify import DeadLetterRow

# One row per source transaction, currency and direction: how many wallet postings it became.
EFFECTS_SQL = """
SELECT e.source_transaction_id, e.currency, e.points > 0 AS credit,
       count(t.txn_id), COALESCE(sum(e.points) FILTER (WHERE t.txn_id IS NOT NULL), 0)::bigint
FROM accrual.earnings e
LEFT JOIN redemption.journal_transactions t ON t.kind = 'posting' AND t.reference = e.posting_id
GROUP BY 1, 2, 3
"""
# The wallet's own account of postings per customer, without asking accrual.
WALLET_NET_SQL = """
SELECT t.customer_no, t.currency, COALESCE(sum(e.amount), 0)::bigint
FROM redemption.journal_transactions t
JOIN redemption.journal_entries e
  ON e.txn_id = t.txn_id AND e.account = 'customer:' || t.customer_no || ':' || t.currency
WHERE t.kind = 'posting'
GROUP BY 1, 2
"""
DECISIONS_SQL = """
SELECT vendor_id, request_id, action, count(*), bool_or(outcome = 'approved'),
       min(redemption_id)
FROM redemption.redemptions GROUP BY 1, 2, 3
"""
PAYOUTS_SQL = "SELECT payout_id FROM debit_orders.payouts"
CUSTOMERS_SQL = "SELECT customer_no FROM customer_profile.customers"


@dataclass(frozen=True, slots=True)
class PoisonSent:
    topic: str
    partition: int
    offset: int


@dataclass
class Outcome:
    lost: Counter[str] = field(default_factory=Counter)
    duplicated: Counter[str] = field(default_factory=Counter)
    wrong_points: int = 0
    points_lost: int = 0
    points_duplicated: int = 0
    poison_expected: int = 0
    poison_dead_lettered: int = 0
    unexpected_dead_letters: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "lost_by_kind": dict(self.lost),
            "duplicated_by_kind": dict(self.duplicated),
            "wrong_points": self.wrong_points,
            "points_lost": self.points_lost,
            "points_duplicated": self.points_duplicated,
            "poison_dead_letters_expected": self.poison_expected,
            "poison_dead_lettered": self.poison_dead_lettered,
            "unexpected_dead_letters": self.unexpected_dead_letters[:50],
        }


def compare_effects(
    expected: Mapping[tuple[str, str, bool], int],
    found: Mapping[tuple[str, str, bool], tuple[int, int]],
    outcome: Outcome,
) -> None:
    """Each expected (transaction, currency, direction) is one wallet posting of its points."""
    for key, points in expected.items():
        count, applied = found.get(key, (0, 0))
        if count == 0:
            outcome.lost["transaction postings"] += 1
        elif count > 1:
            outcome.duplicated["transaction postings"] += count - 1
        elif applied != points:
            outcome.wrong_points += 1
    for key, (count, _) in found.items():
        if key not in expected and count > 0:
            outcome.duplicated["unexpected postings"] += count


def compare_net(
    expected: Mapping[tuple[str, str], int],
    found: Mapping[tuple[str, str], int],
    outcome: Outcome,
) -> None:
    for key in set(expected) | set(found):
        difference = found.get(key, 0) - expected.get(key, 0)
        if difference < 0:
            outcome.points_lost += -difference
        else:
            outcome.points_duplicated += difference


def compare_dead_letters(
    poison: Iterable[PoisonSent], letters: Iterable[DeadLetterRow], outcome: Outcome
) -> None:
    """Every poison message is dead-lettered by each service consuming its topic; nothing else.

    A crash between publishing a dead letter and committing the offset publishes it again:
    letters count once per (source record, service).
    """
    wanted = {
        (p.topic, str(p.partition), str(p.offset), service)
        for p in poison
        for service in TOPICS[p.topic].consumers
        if service in SERVICES
    }
    got = {(d.source_topic, d.source_partition, d.source_offset, d.service): d for d in letters}
    outcome.poison_expected = len(wanted)
    outcome.poison_dead_lettered = len(wanted & set(got))
    outcome.lost["poison not dead-lettered"] += len(wanted - set(got))
    # A service's own extra consumers (customer_profile's miners: `customer_profile.miner.x`)
    # may read a poisoned topic too; their dead letters of poison are expected, not required.
    poisoned = {(p.topic, str(p.partition), str(p.offset)) for p in poison}
    outcome.unexpected_dead_letters = [
        {"topic": d.source_topic, "partition": d.source_partition, "offset": d.source_offset,
         "service": d.service, "reason": d.reason}
        for key, d in sorted(got.items(), key=lambda item: str(item[0]))
        if key not in wanted and not (key[:3] in poisoned and _sub_consumer(d.service or ""))
    ]  # fmt: skip


def _sub_consumer(service: str) -> bool:
    owner, _, rest = service.partition(".")
    return owner in SERVICES and bool(rest)


async def measure(
    database_url: str,
    expect: Expectation,
    poison: Iterable[PoisonSent],
    letters: Iterable[DeadLetterRow],
) -> Outcome:
    """Read the wallet, accrual, redemptions, payouts and profiles; compare."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:

            async def rows(sql: str) -> list[Any]:
                return list((await conn.execute(text(sql))).all())

            effects = {(tx, cur, credit): (n, pts) for tx, cur, credit, n, pts in await rows(
                EFFECTS_SQL)}  # fmt: skip
            net = {(c, cur): total for c, cur, total in await rows(WALLET_NET_SQL)}
            decisions = await rows(DECISIONS_SQL)
            payouts = {r[0] for r in await rows(PAYOUTS_SQL)}
            customers = {r[0] for r in await rows(CUSTOMERS_SQL)}
    finally:
        await engine.dispose()
    outcome = Outcome()
    compare_effects(expect.effects, effects, outcome)
    compare_net(expect.net, net, outcome)
    decided = {(v, r, a): (n, approved, rid) for v, r, a, n, approved, rid in decisions}
    for key in expect.requests:
        count, approved, redemption_id = decided.get(key, (0, False, 0))
        if count == 0:
            outcome.lost["redemption decisions"] += 1
            continue
        outcome.duplicated["redemption decisions"] += count - 1
        # the wallet names a payout after its redemption (services/redemption/handlers.py)
        paid = f"PO-{redemption_id:012d}" in payouts
        if approved and key in expect.cashback_requests and not paid:
            outcome.lost["cash-back payouts"] += 1
    outcome.duplicated["unexpected decisions"] += len(set(decided) - expect.requests)
    outcome.lost["customers"] += len(expect.customers - customers)
    compare_dead_letters(poison, letters, outcome)
    outcome.lost = +outcome.lost  # drop the zero counts
    outcome.duplicated = +outcome.duplicated
    return outcome
