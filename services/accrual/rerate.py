"""`loyalty rules rerate`: re-rate stored earnings of a date window under the current rules and
post the differences as adjustments (never edits). A second run finds nothing to change.

Customers are re-rated in chunks, each in its own transaction holding the re-rating lock
(earning takes it shared), so a long window never blocks earning for long and an interrupted
run is finished by running it again.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.loyalty import PointsPosted
from services.accrual import programmes, repository
from services.accrual.facts import activity_from_facts
from services.accrual.handlers import POSTED_TOPIC, RERATE_LOCK
from services.accrual.ledger import Member, Original, TxKey
from services.accrual.repository import WANTED, pairs
from services.accrual.rerating import RerateItem, RerateLine, Standing, rerate
from services.accrual.rules.calendar import zone
from services.accrual.rules.evaluate import needed_cap_keys
from services.accrual.rules.model import CustomerClass, Programme
from services.accrual.tables import SCHEMA
from shared.messaging.uow import UnitOfWork

CHUNK_CUSTOMERS = 200


@dataclass
class RerateReport:
    run_id: str
    date_from: date
    date_to: date
    programme_version: int = 0
    transactions: int = 0
    lines: list[RerateLine] = field(default_factory=list)
    dry_run: bool = False

    @property
    def points(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for line in self.lines:
            totals[line.currency] += line.points
        return dict(totals)

    @property
    def adjustments(self) -> int:
        return sum(1 for line in self.lines if line.points)


def posting_id(run_id: str, line: RerateLine) -> str:
    return f"rerate:{run_id}:{line.source}:{line.source_transaction_id}:{line.currency}"


def window(programme: Programme, date_from: date, date_to: date) -> tuple[datetime, datetime]:
    tz = zone(programme.timezone)
    return datetime.combine(date_from, time(), tz), datetime.combine(
        date_to + timedelta(days=1), time(), tz
    )


async def rerate_window(
    engine: AsyncEngine,
    *,
    date_from: date,
    date_to: date,
    actor: str,
    dry_run: bool = False,
    chunk_customers: int = CHUNK_CUSTOMERS,
) -> RerateReport:
    """Re-rate every earning transaction that happened in [date_from, date_to] (local days)."""
    report = RerateReport(f"rr{uuid.uuid4().hex[:8]}", date_from, date_to, dry_run=dry_run)
    async with engine.connect() as conn:
        programme = await programmes.current(conn, seed=False)
        start, end = window(programme, date_from, date_to)
        customers = [
            r.customer_no
            for r in await conn.execute(
                text(
                    f'SELECT DISTINCT customer_no FROM "{SCHEMA}".transactions '
                    "WHERE transaction_at >= :a AND transaction_at < :b ORDER BY customer_no"
                ),
                {"a": start, "b": end},
            )
        ]
    for i in range(0, len(customers), chunk_customers):
        async with engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": RERATE_LOCK})
            programme = await programmes.current(conn)
            report.programme_version = programme.version
            chunk = customers[i : i + chunk_customers]
            items = await _items(conn, chunk, start, end)
            report.transactions += len(items)
            wanted = [
                k
                for it in items
                for k in needed_cap_keys(programme, it.member.customer, it.activity)
            ]
            usage = await repository.cap_usage(conn, wanted, programme.timezone, before=start)
            lines = rerate(programme, items, usage)
            report.lines += lines
            if not dry_run:
                uow = UnitOfWork(conn, SCHEMA)
                await _post(uow, report, lines, actor, programme)
                await uow.flush_outbox()
    if not dry_run:
        async with engine.begin() as conn:
            await _record_run(conn, report, actor)
    return report


async def _items(
    conn: AsyncConnection, customers: Sequence[str], start: datetime, end: datetime
) -> list[RerateItem]:
    rows = list(
        await conn.execute(
            text(
                f'SELECT facts, segment, tier, earns FROM "{SCHEMA}".transactions '
                "WHERE customer_no = ANY(CAST(:c AS text[])) AND status = 'posted' "
                "AND kind IN ('purchase', 'payment') AND transaction_at >= :a AND "
                "transaction_at < :b"
            ),
            {"c": list(customers), "a": start, "b": end},
        )
    )
    activities = [activity_from_facts(r.facts) for r in rows]
    keys = {(a.source, a.transaction_id) for a in activities}
    originals = await repository.originals(conn, keys)
    refunds = await _refunds(conn, keys)
    items = []
    for a, r in zip(activities, rows, strict=True):
        standing = {
            currency: _standing(originals[(a.source, a.transaction_id, currency)])
            for currency in ("points", "tier_points")
            if (a.source, a.transaction_id, currency) in originals
        }
        amounts = [
            a.amount_cents if whole else amount
            for whole, amount in refunds.get((a.source, a.transaction_id), [])
        ]
        items.append(
            RerateItem(a, Member(CustomerClass(r.segment, r.tier), r.earns), standing, amounts)
        )
    return items


def _standing(original: Original) -> Standing:
    return Standing(original.posting_id, original.earned, original.reversed, original.rule_points,
                    original.bonus_points)  # fmt: skip


async def _refunds(conn: AsyncConnection, keys: set[TxKey]) -> dict[TxKey, list[tuple[bool, int]]]:
    """Refunds (partial) and reversals (whole) of the given originals, in the order received."""
    rows = await conn.execute(
        text(
            "SELECT t.source, w.transaction_id AS original, t.kind <> 'refund' AS whole, "
            f't.amount_cents FROM "{SCHEMA}".transactions t JOIN {WANTED} ON t.source = w.source '
            "AND ((t.kind IN ('refund', 'reversal') AND t.original_transaction_id = "
            "w.transaction_id) OR (t.kind IN ('purchase', 'payment') AND t.status = 'reversed' "
            "AND t.transaction_id = w.transaction_id)) "
            "WHERE NOT (t.kind = 'refund' AND t.status = 'reversed') "
            "ORDER BY t.received_at, t.transaction_id"
        ),
        pairs(keys),
    )
    found: dict[TxKey, list[tuple[bool, int]]] = {}
    for r in rows:
        found.setdefault((r.source, r.original), []).append((r.whole, r.amount_cents))
    return found


async def _post(
    uow: UnitOfWork,
    report: RerateReport,
    lines: Sequence[RerateLine],
    actor: str,
    programme: Programme,
) -> None:
    if not lines:
        return
    run = report.run_id
    posted = [line for line in lines if line.points]
    await uow.conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".rerate_lines (source, source_transaction_id, currency, '
            "run_id, customer_no, earned_delta, reversed_delta, rule_points_delta, "
            "bonus_points_delta, rule_id, rule_version, promotion_id, posting_id, transaction_at) "
            "SELECT s, t, c, :run, cu, e, r, rp, bp, ri, rv, pr, p, at FROM unnest("
            "CAST(:s AS text[]), CAST(:t AS text[]), CAST(:c AS text[]), CAST(:cu AS text[]), "
            "CAST(:e AS bigint[]), CAST(:r AS bigint[]), CAST(:rp AS bigint[]), "
            "CAST(:bp AS bigint[]), CAST(:ri AS text[]), CAST(:rv AS int[]), CAST(:pr AS text[]), "
            "CAST(:p AS text[]), CAST(:at AS timestamptz[])) "
            "AS x(s, t, c, cu, e, r, rp, bp, ri, rv, pr, p, at)"
        ),
        {
            "run": run,
            "s": [x.source for x in lines],
            "t": [x.source_transaction_id for x in lines],
            "c": [x.currency for x in lines],
            "cu": [x.customer_no for x in lines],
            "e": [x.earned_delta for x in lines],
            "r": [x.reversed_delta for x in lines],
            "rp": [x.rule_points_delta for x in lines],
            "bp": [x.bonus_points_delta for x in lines],
            "ri": [x.rule_id for x in lines],
            "rv": [x.rule_version for x in lines],
            "pr": [x.promotion_id for x in lines],
            "p": [posting_id(run, x) if x.points else None for x in lines],
            "at": [x.transaction_at for x in lines],
        },
    )
    if not posted:
        return
    now = datetime.now(UTC)
    reasons = [_reason(report, x, programme) for x in posted]
    await uow.conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".adjustments (adjustment_id, posting_id, customer_no, '
            "currency, points, actor, reason_code, reason_text, requested_at) "
            "SELECT p, p, c, cur, pts, :actor, 'rerate', r, :now FROM unnest(CAST(:p AS text[]), "
            "CAST(:c AS text[]), CAST(:cur AS text[]), CAST(:pts AS bigint[]), "
            "CAST(:r AS text[])) AS x(p, c, cur, pts, r)"
        ),
        {
            "p": [posting_id(run, x) for x in posted],
            "c": [x.customer_no for x in posted],
            "cur": [x.currency for x in posted],
            "pts": [x.points for x in posted],
            "r": reasons,
            "actor": actor,
            "now": now,
        },
    )
    for line, reason in zip(posted, reasons, strict=True):
        pid = posting_id(run, line)
        uow.publish(
            POSTED_TOPIC,
            line.customer_no,
            PointsPosted(
                message_id=f"posted:{pid}",
                sent_at=now,
                posting_id=pid,
                customer_no=line.customer_no,
                currency=line.currency,  # type: ignore[arg-type]
                points=line.points,
                kind="adjustment",
                source_transaction_id=line.source_transaction_id,
                reverses_posting_id=line.reverses_posting_id,
                expires_at=line.expires_at,
                rule_id=line.rule_id,
                rule_version=line.rule_version,
                earned_at=line.transaction_at,
                actor=actor,
                reason=f"rerate: {reason}",
            ),
        )


def _reason(report: RerateReport, line: RerateLine, programme: Programme) -> str:
    rule = f"rule {line.rule_id} v{line.rule_version}" if line.rule_id else "no rule"
    return (
        f"re-rated {report.date_from}..{report.date_to} under programme v{programme.version} "
        f"({rule}): earned {line.earned_delta:+}, refunds {-line.reversed_delta:+}"
    )


async def _record_run(conn: AsyncConnection, report: RerateReport, actor: str) -> None:
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".rerate_runs (run_id, date_from, date_to, programme_version, '
            "actor, transactions, adjustments, points) VALUES (:r, :f, :t, :v, :a, :n, :adj, "
            "CAST(:p AS jsonb))"
        ),
        {
            "r": report.run_id,
            "f": report.date_from,
            "t": report.date_to,
            "v": report.programme_version,
            "a": actor,
            "n": report.transactions,
            "adj": report.adjustments,
            "p": orjson.dumps(report.points).decode(),
        },
    )
