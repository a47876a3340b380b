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

    def __init__(self, file_id: str, status: str) -> None:
        self.file_id = file_id
        super().__init__(f"file {file_id} was already received ({status})")


@dataclass(frozen=True)
class ImportResult:
    scan: DoexecScan
    published: int
    published_cents: int = 0  # the amounts of the published details


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
    published = cents = 0
    async with engine.begin() as conn:
        status = await conn.scalar(
            text(f'SELECT status FROM "{SCHEMA}".received_files WHERE file_id = :f FOR UPDATE'),
            {"f": scan.file_id},
        )
        if status is not None:
            raise AlreadyReceivedError(scan.file_id, status)
        uow = UnitOfWork(conn, SCHEMA)
        chunk: list[DebitOrderDetail] = []
        for detail in iter_doexec_details(path, [r.record_no for r in scan.rejects]):
            chunk.append(detail)
            if len(chunk) >= FLUSH_EVERY:
                count, amount = await _publish(uow, scan, chunk, now)
                published, cents, chunk = published + count, cents + amount, []
        count, amount = await _publish(uow, scan, chunk, now)
        published, cents = published + count, cents + amount
        await conn.execute(
            text(
                f'INSERT INTO "{SCHEMA}".received_files (file_id, run_date, records, rejected, '
                "status) VALUES (:f, :d, :n, :r, 'applied')"
            ),
            {"f": scan.file_id, "d": scan.run_date, "n": scan.details, "r": len(scan.rejects)},
        )
        await _record_rejects(conn, scan.file_id, scan.rejects)
    return ImportResult(scan, published, cents)


async def _publish(
    uow: UnitOfWork, scan: DoexecScan, chunk: list[DebitOrderDetail], now: datetime
) -> tuple[int, int]:
    """Publish a chunk through the outbox; a repeated sequence number is a rejected record
    (the outbox's unique message id finds it, so no pass keeps the whole file in memory)."""
    for detail in chunk:
        message = executed(scan, detail, now)
        uow.publish(EXECUTED_TOPIC, message.customer_no, message)
    fresh = set(await uow.flush_outbox(skip_existing=True))
    published = cents = 0
    for detail in chunk:
        mid = message_id(scan.file_id, detail.sequence_no)
        if mid in fresh:
            fresh.discard(mid)  # a second record with this number is a repeat
            published += 1
            cents += detail.amount_cents
        else:
            reason = f"sequence {detail.sequence_no} repeated"
            scan.rejects.append(DetailReject(detail.record_no, "DOD-SEQUENCE-NO", reason, ""))
    return published, cents


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


@dataclass(frozen=True)
class LycredFile:
    """A cut-off's LYCRED file: its id, its bytes and what is in it."""

    file_id: str
    cutoff: datetime
    data: bytes
    instructions: tuple[LycredInstruction, ...]

    @property
    def credits(self) -> int:
        return sum(1 for i in self.instructions if i.direction == "C")

    @property
    def debits(self) -> int:
        return sum(1 for i in self.instructions if i.direction == "D")

    @property
    def credit_cents(self) -> int:
        return sum(i.amount_cents for i in self.instructions if i.direction == "C")

    @property
    def debit_cents(self) -> int:
        return sum(i.amount_cents for i in self.instructions if i.direction == "D")


async def build_lycred(engine: AsyncEngine, cutoff: datetime) -> LycredFile:
    """The LYCRED file of a cut-off: every payout (a credit) requested and every fee (a
    debit) charged up to it and not yet in a file goes into this one, once: the first build
    of a file id records it in exported_files and claims them, a later build reads back
    what it claimed. So building the same cut-off again gives the same bytes, even when new
    payouts arrived since (they wait for the next cut-off). Credits come first, then debits,
    each by id."""
    file_id = lycred_file_id(cutoff)
    async with engine.begin() as conn:
        first = await conn.scalar(
            text(
                f'INSERT INTO "{SCHEMA}".exported_files (file_id, cut_off) VALUES (:f, :c) '
                "ON CONFLICT (file_id) DO NOTHING RETURNING file_id"
            ),
            {"f": file_id, "c": cutoff},
        )
        if first is not None:
            for table, at in (("payouts", "requested_at"), ("fees", "charged_at")):
                await conn.execute(
                    text(
                        f'UPDATE "{SCHEMA}".{table} SET exported_file_id = :f '
                        f"WHERE exported_file_id IS NULL AND {at} <= :c"
                    ),
                    {"f": file_id, "c": cutoff},
                )
        rows = (
            await conn.execute(
                text(
                    "SELECT 'C' AS direction, payout_id COLLATE \"C\" AS id, customer_no, "
                    "account_no, amount_cents, currency, reference, narrative "
                    f'FROM "{SCHEMA}".payouts WHERE exported_file_id = :f '
                    "UNION ALL "
                    "SELECT 'D', fee_id COLLATE \"C\", customer_no, account_no, amount_cents, "
                    f'currency, fee_id, narrative FROM "{SCHEMA}".fees WHERE exported_file_id = :f '
                    "ORDER BY direction, id"
                ),
                {"f": file_id},
            )
        ).all()
    value_date: date = (cutoff + timedelta(days=1)).date()
    instructions = tuple(
        LycredInstruction(r.customer_no, int(r.account_no), r.direction, r.amount_cents,
                          r.currency, r.reference, r.narrative, value_date)
        for r in rows
    )  # fmt: skip
    data = render_lycred(file_id, cutoff, SOURCE_SYSTEM, instructions)
    return LycredFile(file_id, cutoff, data, instructions)


def lycred_path(out: str | Path, file_id: str) -> Path:
    """Where a file goes: OUT itself, or, when OUT is a directory (an existing one, or a path
    ending in a separator), `<file id>.lycred` in it. The interface names no file names, so
    the header's file id (unique per cut-off) names the file."""
    if Path(out).is_dir() or str(out).endswith(("/", "\\")):
        return Path(out) / f"{file_id}.lycred"
    return Path(out)


async def export_lycred(engine: AsyncEngine, cutoff: datetime, out: Path) -> tuple[Path, int]:
    """Build the cut-off's file and write it to OUT (see `lycred_path`)."""
    built = await build_lycred(engine, cutoff)
    path = lycred_path(out, built.file_id)
    await asyncio.to_thread(_write, path, built.data)
    return path, len(built.instructions)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
