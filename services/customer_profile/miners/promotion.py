"""Promotion response: who took part in a promotion, the points it awarded, and the spend at
the promoted vendors during the promotion against an equal period just before it.

Accrual names the promotion behind a posting in the posting's reason
("..., promotion black-friday-2026 (+120)"): the bonus and the posting's points are recorded
per posting. Spend is kept per day, vendor and customer from the enriched transactions
(posted purchases and payments add, posted refunds subtract). Spendable points only;
a reversal of a promotion's posting takes back its share of the bonus (rounded down).
The promotion's dates and vendors come from the programme (accrual's rules file) or the
command line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import BigInteger, Column, Date, DateTime, Index, Integer, Table, Text, text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.loyalty import PointsPosted, TransactionEnriched
from services.customer_profile.miners.base import Miner, local_day
from services.customer_profile.tables import SCHEMA, metadata
from shared.messaging.uow import Inbound, Subscription, UnitOfWork

POSTED_TOPIC = "loyalty.points.posted.v1"
ENRICHED_TOPIC = "loyalty.transaction.enriched.v1"
PROMOTION = re.compile(r"promotion (?P<id>[A-Za-z0-9_.:-]+) \(\+(?P<bonus>\d+)\)")

postings = Table(
    "report_promotion_postings",
    metadata,
    Column("posting_id", Text, primary_key=True),
    Column("promotion_id", Text, nullable=False),
    Column("customer_no", Text, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("bonus_points", BigInteger, nullable=False),
    Column("earned_at", DateTime(timezone=True), nullable=False),
)
Index("ix_report_promotion_postings_promotion", postings.c.promotion_id, postings.c.customer_no)
spend = Table(
    "report_vendor_spend",
    metadata,
    Column("vendor_id", Text, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("customer_no", Text, primary_key=True),
    Column("spend_cents", BigInteger, nullable=False),
    Column("transactions", Integer, nullable=False),
)


def promotion_of(reason: str | None) -> tuple[str, int] | None:
    """(promotion_id, bonus points) named in an earning's reason, if any."""
    found = PROMOTION.search(reason or "")
    return (found["id"], int(found["bonus"])) if found else None


def signed_spend(t: TransactionEnriched) -> int:
    """What a transaction adds to the spend at its vendor: 0 for what is not spend."""
    if t.vendor_id is None or t.status != "posted":
        return 0
    if t.kind in {"purchase", "payment"} and t.direction == "debit":
        return t.amount_cents
    if t.kind == "refund":
        return -t.amount_cents
    return 0


async def record_postings(uow: UnitOfWork, batch: Sequence[Inbound[PointsPosted]]) -> None:
    rows, reversals = [], []
    for item in batch:
        p = item.message
        if p.currency != "points":
            continue
        found = promotion_of(p.reason) if p.kind in {"earn", "confirmation"} else None
        if found is not None and p.points > 0:
            rows.append((p.posting_id, found[0], p.customer_no, p.points, found[1], p.earned_at))
        elif p.kind == "reversal" and p.reverses_posting_id is not None:
            reversals.append((p.posting_id, p.reverses_posting_id, p.points, p.earned_at))
    if rows:
        await uow.conn.execute(
            text(
                f'INSERT INTO "{SCHEMA}".report_promotion_postings '
                "(posting_id, promotion_id, customer_no, points, bonus_points, earned_at) "
                "SELECT * FROM unnest(CAST(:i AS text[]), CAST(:p AS text[]), "
                "CAST(:c AS text[]), CAST(:n AS bigint[]), CAST(:b AS bigint[]), "
                "CAST(:t AS timestamptz[])) ON CONFLICT (posting_id) DO NOTHING"
            ),
            {k: [r[i] for r in rows] for i, k in enumerate("ipcnbt")},
        )
    if reversals:
        # A reversal of a promotion's posting takes back its share of the bonus too.
        await uow.conn.execute(
            text(
                f'INSERT INTO "{SCHEMA}".report_promotion_postings '
                "(posting_id, promotion_id, customer_no, points, bonus_points, earned_at) "
                "SELECT r.i, o.promotion_id, o.customer_no, r.n, "
                "-((o.bonus_points * -r.n) / o.points), r.t "
                "FROM unnest(CAST(:i AS text[]), CAST(:o AS text[]), CAST(:n AS bigint[]), "
                "CAST(:t AS timestamptz[])) AS r(i, o, n, t) "
                f'JOIN "{SCHEMA}".report_promotion_postings o ON o.posting_id = r.o '
                "AND o.points > 0 ON CONFLICT (posting_id) DO NOTHING"
            ),
            {k: [r[i] for r in reversals] for i, k in enumerate("iont")},
        )


async def record_spend(uow: UnitOfWork, batch: Sequence[Inbound[TransactionEnriched]]) -> None:
    totals: dict[tuple[str, date, str], list[int]] = {}
    for item in batch:
        t = item.message
        amount = signed_spend(t)
        if amount and t.vendor_id is not None:
            row = totals.setdefault(
                (t.vendor_id, local_day(t.transaction_at), t.customer_no), [0, 0]
            )
            row[0] += amount
            row[1] += 1 if amount > 0 else 0  # purchases; a refund lowers the spend only
    if not totals:
        return
    keys = sorted(totals)
    await uow.conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".report_vendor_spend '
            "(vendor_id, day, customer_no, spend_cents, transactions) "
            "SELECT * FROM unnest(CAST(:v AS text[]), CAST(:d AS date[]), CAST(:c AS text[]), "
            "CAST(:s AS bigint[]), CAST(:n AS int[])) "
            "ON CONFLICT (vendor_id, day, customer_no) DO UPDATE SET "
            "spend_cents = report_vendor_spend.spend_cents + excluded.spend_cents, "
            "transactions = report_vendor_spend.transactions + excluded.transactions"
        ),
        {
            "v": [k[0] for k in keys],
            "d": [k[1] for k in keys],
            "c": [k[2] for k in keys],
            "s": [totals[k][0] for k in keys],
            "n": [totals[k][1] for k in keys],
        },
    )


# --- the report --------------------------------------------------------------------------


@dataclass(frozen=True)
class PromotionWindow:
    promotion_id: str
    starts: date  # inclusive, local
    ends: date  # inclusive, local
    vendors: tuple[str, ...]

    @property
    def before(self) -> tuple[date, date]:
        """The equal period just before the promotion."""
        days = (self.ends - self.starts).days + 1
        return self.starts - timedelta(days=days), self.starts - timedelta(days=1)


def lift(during: int, before: int) -> float | None:
    return round((during - before) / before, 4) if before else None


async def promotion_report(conn: AsyncConnection, window: PromotionWindow) -> dict[str, Any]:
    awarded = (
        await conn.execute(
            text(
                "SELECT count(DISTINCT customer_no) AS participants, "
                "count(*) FILTER (WHERE points > 0) AS postings, "
                "coalesce(sum(points), 0) AS points, coalesce(sum(bonus_points), 0) AS bonus "
                f'FROM "{SCHEMA}".report_promotion_postings WHERE promotion_id = :p'
            ),
            {"p": window.promotion_id},
        )
    ).one()
    before_from, before_to = window.before
    rows = await conn.execute(
        text(
            f"""
WITH participants AS (
    SELECT DISTINCT customer_no FROM "{SCHEMA}".report_promotion_postings WHERE promotion_id = :p
), spent AS (
    SELECT CASE WHEN s.day >= :f THEN 'during' ELSE 'before' END AS period,
           s.customer_no, s.spend_cents, s.transactions,
           s.customer_no IN (SELECT customer_no FROM participants) AS participant
    FROM "{SCHEMA}".report_vendor_spend s
    WHERE s.vendor_id = ANY(CAST(:v AS text[])) AND s.day BETWEEN :bf AND :t
)
SELECT period, participant, sum(spend_cents) AS spend_cents, sum(transactions) AS transactions,
       count(DISTINCT customer_no) AS customers
FROM spent GROUP BY period, participant
"""
        ),
        {
            "p": window.promotion_id,
            "v": list(window.vendors),
            "f": window.starts,
            "t": window.ends,
            "bf": before_from,
        },
    )
    cells = {(r.period, r.participant): r for r in rows}

    def spend_of(period: str, who: tuple[bool, ...]) -> dict[str, int]:
        found = [cells[(period, w)] for w in who if (period, w) in cells]
        return {
            "spend_cents": sum(int(r.spend_cents) for r in found),
            "transactions": sum(int(r.transactions) for r in found),
            "customers": sum(int(r.customers) for r in found),
        }

    spend: dict[str, Any] = {}
    for label, who in (("participants", (True,)), ("all_customers", (True, False))):
        during, before = spend_of("during", who), spend_of("before", who)
        spend[label] = {
            "during": during,
            "before": before,
            "lift": lift(during["spend_cents"], before["spend_cents"]),
        }
    return {
        "promotion_id": window.promotion_id,
        "starts": window.starts,
        "ends": window.ends,
        "before": {"starts": before_from, "ends": before_to},
        "vendors": list(window.vendors),
        "participants": int(awarded.participants),
        "postings": int(awarded.postings),
        "points_awarded": int(awarded.bonus),
        "points_of_postings": int(awarded.points),
        "spend": spend,
    }


MINER = Miner(
    name="promotion",
    subscriptions=(
        Subscription(POSTED_TOPIC, record_postings),
        Subscription(ENRICHED_TOPIC, record_spend),
    ),
    tables=(postings, spend),
    description="promotion response: participants, points awarded, spend before and during",
    rides_lane=True,
)
