"""Use cases of the batch gateway: apply a DOEXEC file once, write LYCRED files."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.esb import DebitOrderExecuted
from services.debit_orders.doexec import (
    DebitOrderDetail,
    DetailReject,
    DoexecScan,
    iter_doexec_details,
    scan_doexec,
)
from services.debit_orders.lycred import LycredInstruction, render_lycred
from services.debit_orders.tables import SCHEMA
from shared.messaging.uow import UnitOfWork

EXECUTED_TOPIC = "esb.debit-order.executed.v1"
FLUSH_EVERY = 5000
SOURCE_SYSTEM = "LOYALTY"


class AlreadyReceivedError(Exception):
    """This file id was applied before; applying it again would apply it twice."""


@dataclass(frozen=True)
class ImportResult:
    scan: DoexecScan
    published: int


def message_id(file_id: str, sequence_no: int) -> str:
    return f"DOEXEC:{file_id}:{sequence_no}"


def executed(scan: DoexecScan, detail: DebitOrderDetail, now: datetime) -> DebitOrderExecuted:
    run_date = scan.run_date or detail.action_date
    return DebitOrderExecuted(
        message_id=message_id(scan.file_id, detail.sequence_no),
        sent_at=now,
        file_id=scan.file_id,
        run_date=run_date,
        sequence_no=detail.sequence_no,
        transaction_id=f"DO-{run_date:%Y%m%d}-{detail.sequence_no}",
        customer_no=detail.customer_no,
        account_no=str(detail.account_no),
        user_code=detail.user_code,
        user_short_name=detail.user_short_name,
        user_reference=detail.user_reference,
        action_date=detail.action_date,
        amount_cents=detail.amount_cents,
        currency=detail.currency,
        status=detail.status,  # type: ignore[arg-type]
        entry_class=detail.entry_class,
        original_sequence_no=detail.orig_sequence_no,
        original_run_date=detail.orig_run_date,
    )


async def import_doexec(
    engine: AsyncEngine, path: Path, progress: Callable[[int], None] | None = None
) -> ImportResult:
    """Check the whole file first; then, in one transaction, record it and publish its good
    details through the outbox. Raises FileRejectedError or AlreadyReceivedError."""
    scan = scan_doexec(path, progress)
    now = datetime.now(UTC)
    published = 0
    async with engine.begin() as conn:
        status = await conn.scalar(
            text(f'SELECT status FROM "{SCHEMA}".received_files WHERE file_id = :f FOR UPDATE'),
            {"f": scan.file_id},
        )
        if status is not None:
            raise AlreadyReceivedError(f"file {scan.file_id} was already received ({status})")
        uow = UnitOfWork(conn, SCHEMA)
        chunk: list[DebitOrderDetail] = []
        for detail in iter_doexec_details(path, [r.record_no for r in scan.rejects]):
            chunk.append(detail)
            if len(chunk) >= FLUSH_EVERY:
                published += await _publish(uow, scan, chunk, now)
                chunk = []
        published += await _publish(uow, scan, chunk, now)
        await conn.execute(
            text(
                f'INSERT INTO "{SCHEMA}".received_files (file_id, run_date, records, rejected, '
                "status) VALUES (:f, :d, :n, :r, 'applied')"
            ),
            {"f": scan.file_id, "d": scan.run_date, "n": scan.details, "r": len(scan.rejects)},
        )
        await _record_rejects(conn, scan.file_id, scan.rejects)
    return ImportResult(scan, published)


async def _publish(
    uow: UnitOfWork, scan: DoexecScan, chunk: list[DebitOrderDetail], now: datetime
) -> int:
    """Publish a chunk through the outbox; a repeated sequence number is a rejected record
    (the outbox's unique message id finds it, so no pass keeps the whole file in memory)."""
    for detail in chunk:
        message = executed(scan, detail, now)
        uow.publish(EXECUTED_TOPIC, message.customer_no, message)
    fresh = set(await uow.flush_outbox(skip_existing=True))
    published = 0
    for detail in chunk:
        mid = message_id(scan.file_id, detail.sequence_no)
        if mid in fresh:
            fresh.discard(mid)  # a second record with this number is a repeat
            published += 1
        else:
            reason = f"sequence {detail.sequence_no} repeated"
            scan.rejects.append(DetailReject(detail.record_no, "DOD-SEQUENCE-NO", reason, ""))
    return published


async def _record_rejects(conn: AsyncConnection, file_id: str, rejects: list[DetailReject]) -> None:
    if not rejects:
        return
    await conn.execute(
        text(
            f'INSERT INTO "{SCHEMA}".rejects (file_id, record_no, field, reason) '
            "SELECT :f, * FROM unnest(CAST(:n AS int[]), CAST(:fl AS text[]), CAST(:r AS text[]))"
        ),
        {
            "f": file_id,
            "n": [r.record_no for r in rejects],
            "fl": [r.field for r in rejects],
            "r": [r.reason for r in rejects],
        },
    )


def lycred_file_id(cutoff: datetime) -> str:
    return f"LY{cutoff:%Y%m%d%H%M%S}"


async def export_lycred(engine: AsyncEngine, cutoff: datetime, directory: Path) -> tuple[Path, int]:
    """Write the LYCRED file of a cut-off: every payout requested up to it and not yet in a
    file goes into this one, once. Writing the same cut-off again gives the same bytes."""
    file_id = lycred_file_id(cutoff)
    async with engine.begin() as conn:
        already = await conn.scalar(
            text(f'SELECT count(*) FROM "{SCHEMA}".payouts WHERE exported_file_id = :f'),
            {"f": file_id},
        )
        if not already:
            await conn.execute(
                text(
                    f'UPDATE "{SCHEMA}".payouts SET exported_file_id = :f '
                    "WHERE exported_file_id IS NULL AND requested_at <= :c"
                ),
                {"f": file_id, "c": cutoff},
            )
        rows = (
            await conn.execute(
                text(
                    "SELECT customer_no, account_no, amount_cents, currency, reference, narrative "
                    f'FROM "{SCHEMA}".payouts WHERE exported_file_id = :f ORDER BY payout_id'
                ),
                {"f": file_id},
            )
        ).all()
    value_date: date = (cutoff + timedelta(days=1)).date()
    instructions = [
        LycredInstruction(r.customer_no, int(r.account_no), "C", r.amount_cents, r.currency,
                          r.reference, r.narrative, value_date)
        for r in rows
    ]  # fmt: skip
    path = directory / f"{file_id}.lycred"
    await asyncio.to_thread(
        _write, path, render_lycred(file_id, cutoff, SOURCE_SYSTEM, instructions)
    )
    return path, len(instructions)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
