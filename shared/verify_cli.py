"""`loyalty verify` and `loyalty chaos`: read the platform's state and check its invariants.

verify reads every schema as the database's admin in one REPEATABLE READ, READ ONLY
transaction (one consistent picture across services), every dead-letter topic from its
beginning, and each consumer group's lag; `shared.verify` holds the checks themselves.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import time
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.registry import TOPICS, topics_consumed_by
from shared.db.engine import create_engine
from shared.infra.embedded import InfraError
from shared.messaging.kafka import client_kwargs
from shared.settings import SERVICES, KafkaSecurity
from shared.verify import (
    OUTBOX_MAX_AGE_S,
    AccrualPosting,
    DeadLetterRow,
    JournalTxn,
    LotRow,
    OutboxState,
    RedemptionRow,
    Report,
    Snapshot,
    ViewBalance,
    WalletAccount,
    check,
)

VERIFY_DESCRIPTION = """\
Check the cross-service invariants of a running or stopped platform (infrastructure up):

  posting_in_wallet        every accrual posting is in the wallet exactly once, for the same
                           customer, currency and points (a capped clawback: the customer's
                           part and the shortfall together); nothing in the wallet without one
  journal_balanced         every wallet journal transaction's entries sum to zero
  balance_is_journal       every customer account's balance is the sum of its entries
  held_is_open_holds       every account's held points are the sum of its open holds
  lots                     0 <= remaining <= initial; standing allocations within what a
                           lot gave; one lot per credit, of the credited points
  reversal_from_original_lot  a reversal takes from the lot it reverses first
  lots_cover_balance       lots hold exactly the balance when it is positive, nothing when
                           it is negative (a debt, repaid first by later credits)
  redemption_allocations   an approved redeem or capture took its points from lots and the
                           journal, once; other decisions took nothing; a cancel gave back
                           at most what was taken, once
  earnings_equal_credits   accrual's net earnings per customer and currency equal the
                           wallet's posting credits less reversals
  customer_view            customer_profile's balances equal the wallet's
  outbox_drained           no outbox row unsent for more than --outbox-age seconds
  dead_letters_explained   every dead letter carries its reason and source (all are listed)

Cross-service checks assume the messages between services have arrived: stop the traffic
first, or give --wait SECONDS to wait for zero consumer lag and empty outboxes.
Exit status: 0 when every invariant holds, 1 when any is violated, 2 without infrastructure.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check the cross-service invariants (ledger, exactly-once, views, outboxes, DLQs)",
        description=VERIFY_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to this long for zero consumer lag and empty outboxes (0)",
    )
    parser.add_argument(
        "--outbox-age",
        type=float,
        default=OUTBOX_MAX_AGE_S,
        metavar="SECONDS",
        help=f"unsent outbox rows older than this are a violation ({OUTBOX_MAX_AGE_S:g})",
    )
    parser.set_defaults(func=_verify_command)
    from shared.chaos.cli import register as register_chaos  # noqa: PLC0415

    register_chaos(subparsers)


def _verify_command(args: argparse.Namespace) -> int:
    from shared.infra.resolve import resolve_endpoints  # noqa: PLC0415

    try:
        endpoints = resolve_endpoints()
    except InfraError as exc:
        print(f"loyalty verify: {exc}", file=sys.stderr)
        return 2
    security = KafkaSecurity()
    if args.wait > 0:
        quiet = asyncio.run(
            wait_quiet(endpoints.database_url, endpoints.kafka_bootstrap, args.wait, security)
        )
        if not quiet:
            print(f"not quiet after {args.wait:g}s: checking anyway", file=sys.stderr)
    report = asyncio.run(
        run_verify(
            endpoints.database_url,
            endpoints.kafka_bootstrap,
            security,
            outbox_max_age_s=args.outbox_age,
        )
    )
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print("\n".join(report.lines()))
    return 0 if report.ok else 1


async def run_verify(
    database_url: str,
    bootstrap: str,
    security: KafkaSecurity | None = None,
    *,
    outbox_max_age_s: float = OUTBOX_MAX_AGE_S,
) -> Report:
    """Read everything, check everything."""
    snapshot = await read_database(database_url)
    letters = await read_dead_letters(bootstrap, security)
    lag = await consumer_lag(bootstrap, security)
    snapshot = dataclasses.replace(snapshot, dead_letters=letters)
    counts = {
        "accrual postings": len(snapshot.accrual),
        "journal transactions": len(snapshot.journal),
        "accounts": len(snapshot.accounts),
        "lots": len(snapshot.lots),
        "redemptions": len(snapshot.redemptions),
        "customer view balances": len(snapshot.view_balances),
    }
    violations = check(snapshot, outbox_max_age_s=outbox_max_age_s)
    return Report(violations, counts, list(snapshot.outboxes), letters, lag)


ACCRUAL_SQL = """
SELECT posting_id, customer_no, currency, points, reverses_posting_id FROM accrual.earnings
UNION ALL
SELECT posting_id, customer_no, currency, points, NULL FROM accrual.adjustments
"""
JOURNAL_SQL = """
SELECT t.txn_id, t.kind, t.reference, t.customer_no, t.currency,
       COALESCE(SUM(e.amount), 0)::bigint AS total,
       COALESCE(SUM(e.amount) FILTER (
           WHERE e.account = 'customer:' || t.customer_no || ':' || t.currency), 0)::bigint,
       COUNT(e.entry_id) AS entries,
       COALESCE(SUM(e.amount) FILTER (
           WHERE e.account = 'programme:shortfall:' || t.currency), 0)::bigint AS shortfall
FROM redemption.journal_transactions t
LEFT JOIN redemption.journal_entries e ON e.txn_id = t.txn_id
GROUP BY t.txn_id
"""
ENTRIES_SQL = "SELECT account, SUM(amount)::bigint FROM redemption.journal_entries GROUP BY 1"
ACCOUNTS_SQL = "SELECT customer_no, currency, balance, held FROM redemption.accounts"
LOTS_SQL = """
SELECT l.lot_id, l.customer_no, l.currency, l.posting_id, l.initial_points, l.remaining_points,
       COALESCE(a.standing, 0)::bigint, COALESCE(a.cancelled, 0)::bigint
FROM redemption.lots l
LEFT JOIN (
    SELECT a.lot_id, SUM(a.points) FILTER (WHERE c.redemption_id IS NULL) AS standing,
           SUM(a.points) FILTER (WHERE c.redemption_id IS NOT NULL) AS cancelled
    FROM redemption.allocations a
    LEFT JOIN redemption.cancellations c ON c.redemption_id = a.redemption_id
    GROUP BY a.lot_id
) a ON a.lot_id = l.lot_id
"""
REDEMPTIONS_SQL = """
SELECT r.redemption_id, r.customer_no, r.action, r.outcome, r.points,
       COALESCE(a.points, 0)::bigint, c.returned_points
FROM redemption.redemptions r
LEFT JOIN (SELECT redemption_id, SUM(points) AS points FROM redemption.allocations
           GROUP BY 1) a ON a.redemption_id = r.redemption_id
LEFT JOIN redemption.cancellations c ON c.redemption_id = r.redemption_id
"""
# Holds reserve spendable points (the wallet's SPENDABLE currency).
HOLDS_SQL = """
SELECT customer_no, 'points', SUM(points)::bigint FROM redemption.holds
WHERE state = 'open' GROUP BY 1
"""
VIEW_SQL = "SELECT customer_no, currency, balance, held FROM customer_profile.balances"
OUTBOX_SQL = """
SELECT count(*), EXTRACT(EPOCH FROM now() - min(created_at))
FROM "{schema}".outbox
"""


async def read_database(database_url: str) -> Snapshot:
    """Every schema's rows the checks need, from one consistent snapshot, as the admin."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as plain:
            conn = await plain.execution_options(isolation_level="REPEATABLE READ")
            await conn.execute(text("SET TRANSACTION READ ONLY"))

            async def rows(sql: str) -> list[Any]:
                return list((await conn.execute(text(sql))).all())

            outboxes = await _outboxes(conn)
            snapshot = Snapshot(
                accrual=[AccrualPosting(*r) for r in await rows(ACCRUAL_SQL)],
                journal=[JournalTxn(*r) for r in await rows(JOURNAL_SQL)],
                account_entries=dict(await rows(ENTRIES_SQL)),
                accounts=[WalletAccount(*r) for r in await rows(ACCOUNTS_SQL)],
                lots=[LotRow(*r) for r in await rows(LOTS_SQL)],
                redemptions=[RedemptionRow(*r) for r in await rows(REDEMPTIONS_SQL)],
                open_holds={(c, cur): n for c, cur, n in await rows(HOLDS_SQL)},
                view_balances=[ViewBalance(*r) for r in await rows(VIEW_SQL)],
                outboxes=outboxes,
            )
            await conn.rollback()
    finally:
        await engine.dispose()
    return snapshot


def _header(headers: Iterable[tuple[str, bytes]] | None, name: str) -> str | None:
    for key, value in headers or ():
        if key == name:
            return value.decode("utf-8", "replace")
    return None


async def read_dead_letters(
    bootstrap: str, security: KafkaSecurity | None = None, *, timeout_s: float = 120.0
) -> list[DeadLetterRow]:
    """Every record of every `<topic>.dlq`, from the beginning to the current end."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, **client_kwargs(security)
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(t.dlq, p) for t in TOPICS.values() for p in range(t.partitions)
        ]
        ends = await consumer.end_offsets(partitions)
        pending = {tp for tp in partitions if ends[tp] > 0}
        if not pending:
            return []
        consumer.assign(sorted(pending))
        await consumer.seek_to_beginning(*pending)
        found: list[DeadLetterRow] = []
        deadline = time.monotonic() + timeout_s
        while pending and time.monotonic() < deadline:
            batches = await consumer.getmany(*pending, timeout_ms=500, max_records=5000)
            for tp, records in batches.items():
                found.extend(
                    DeadLetterRow(
                        tp.topic, tp.partition, r.offset,
                        source_topic=_header(r.headers, "dlq.source_topic"),
                        source_partition=_header(r.headers, "dlq.source_partition"),
                        source_offset=_header(r.headers, "dlq.source_offset"),
                        service=_header(r.headers, "dlq.service"),
                        reason=_header(r.headers, "dlq.reason"),
                    )
                    for r in records
                )  # fmt: skip
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        if pending:
            raise TimeoutError(f"dead-letter topics not read to their end: {sorted(pending)}")
        return sorted(found, key=lambda d: (d.topic, d.partition, d.offset))
    finally:
        await consumer.stop()


async def consumer_lag(
    bootstrap: str, security: KafkaSecurity | None = None
) -> dict[str, int | None]:
    """Per service: records of its topics its consumer group has not committed yet."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_kwargs(security))
    offsets = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, **client_kwargs(security)
    )
    await admin.start()
    try:
        await offsets.start()
        try:
            lags: dict[str, int | None] = {}
            for service in SERVICES:
                partitions = [
                    TopicPartition(topic, p)
                    for topic in topics_consumed_by(service)
                    for p in range(TOPICS[topic].partitions)
                ]
                committed = await admin.list_consumer_group_offsets(
                    f"loyalty.{service}", partitions=partitions
                )
                ends = await offsets.end_offsets(partitions)
                starts = await offsets.beginning_offsets(partitions)
                lags[service] = sum(
                    max(0, ends[tp] - _position(committed.get(tp), starts[tp])) for tp in partitions
                )
            return lags
        finally:
            await offsets.stop()
    finally:
        await admin.close()


def _position(committed: Any, start: int) -> int:
    offset = getattr(committed, "offset", -1)
    return int(offset) if offset is not None and offset >= 0 else start


async def wait_quiet(
    database_url: str,
    bootstrap: str,
    timeout_s: float,
    security: KafkaSecurity | None = None,
    *,
    interval_s: float = 1.0,
) -> bool:
    """Wait until every consumer group has caught up and every outbox is empty, twice in a row."""
    deadline = time.monotonic() + timeout_s
    quiet_in_a_row = 0
    while True:
        try:
            lags = await consumer_lag(bootstrap, security)
            outboxes = await outbox_states(database_url)
            quiet = all(v == 0 for v in lags.values()) and not any(o.unsent for o in outboxes)
        except Exception:  # a restarting broker or database: ask again
            quiet = False
        quiet_in_a_row = quiet_in_a_row + 1 if quiet else 0
        if quiet_in_a_row >= 2:
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(interval_s)


async def outbox_states(database_url: str) -> list[OutboxState]:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return await _outboxes(conn)
    finally:
        await engine.dispose()


async def _outboxes(conn: AsyncConnection) -> list[OutboxState]:
    found = []
    for schema in SERVICES:
        unsent, age = (await conn.execute(text(OUTBOX_SQL.format(schema=schema)))).one()
        found.append(OutboxState(schema, unsent, None if age is None else float(age)))
    return found
