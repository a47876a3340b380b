"""`loyalty debit-orders import|export`: the bank's DOEXEC files in, LYCRED files out."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.ext.asyncio import AsyncEngine

from services.debit_orders.copybook import DOEXEC_LRECL
from services.debit_orders.doexec import FileRejectedError
from services.debit_orders.fees import Fee, FeeError, Recorded, new_fee_id, record_fee
from services.debit_orders.files import (
    AlreadyReceivedError,
    ImportResult,
    LycredFile,
    build_lycred,
    import_doexec,
    lycred_path,
)
from services.debit_orders.tables import SCHEMA
from shared.db.engine import create_engine, runtime_url
from shared.infra.resolve import resolve_endpoints
from shared.settings import PlatformSettings, service_settings

IMPORT_HELP = """\
Read DOEXEC files (the bank's executed debit orders: EBCDIC cp037, fixed 150-byte records,
header/detail/trailer) and publish every good detail on esb.debit-order.executed.v1.

The whole file is checked first, in constant memory: a missing header or trailer, a size
that is not a multiple of 150, or control totals (count, amount, hash total) that disagree
reject the whole file and nothing is published. Single bad details (bad packed nibble,
impossible date, unknown status) are rejected with a reason and the rest is published.
A file id already received is never applied again.

exit status: 0 applied; 1 applied with rejected records; 2 a file rejected as a whole;
3 a file already received (nothing done).
"""


EXPORT_HELP = """\
Write the LYCRED file (EBCDIC cp037, fixed 120-byte records, header/detail/trailer) of a
cut-off for the bank to post: cash-back payouts as credits (C) and programme fees as debits
(D), every one requested up to the cut-off and not yet in a file. Each instruction goes into
exactly one file; running the same cut-off again writes the very same bytes; a cut-off with
nothing to send writes a valid file with a zero trailer. Narratives are in each customer's
language.

The file id is LY followed by the cut-off (YYYYMMDDhhmmss, UTC), which also names the file
when OUT is a directory.

examples:
  loyalty debit-orders export --cut-off 2026-11-20 outbound/
  loyalty debit-orders export --cut-off 2026-11-20T16:00:00+02:00 LYCRED.dat
"""


FEE_HELP = """\
Record a programme fee to debit from a customer's account: it goes, once, into the first
LYCRED export whose cut-off is at or after the time it is charged, as a debit (D) with a
statement narrative in the customer's preferred language (English when unknown). Give
--reference to make a re-run safe: the same fee id with the same details is recorded once;
with other details it is refused.

exit status: 0 recorded; 3 recorded before (nothing done); 2 refused.

example:
  loyalty debit-orders fee 100234567890 4071234567 9900 --reason "annual fee 2026" \\
      --reference FEE-2026-0001
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser(
        "debit-orders", help="the mainframe batch gateway (DOEXEC in, LYCRED out)",
        description="The batch gateway to the bank's debit-order system: DOEXEC files of "
        "executed debit orders in, LYCRED files of credits and debits out.",
    )  # fmt: skip
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    imp = actions.add_parser(
        "import", help="apply DOEXEC files", description=IMPORT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    imp.add_argument("files", nargs="*", type=Path, metavar="FILE", help="DOEXEC files")
    imp.add_argument("--directory", type=Path, help="import every file in this directory")
    imp.add_argument(
        "--report", type=Path, metavar="CSV",
        help="write the rejected records (file, record, field, reason, bytes) to this CSV file",
    )  # fmt: skip
    imp.add_argument(
        "--json", action="store_true",
        help="print one JSON document: per file its id, status, records read, published, "
        "rejected, amounts in cents, and the rejects (or the --report path)",
    )  # fmt: skip
    imp.set_defaults(func=_import)
    exp = actions.add_parser(
        "export", help="write the LYCRED file of payouts and fees up to a cut-off",
        description=EXPORT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    exp.add_argument(
        "--cut-off", dest="cut_off", metavar="DATE",
        help="ISO date (up to the end of that day, UTC) or ISO timestamp (UTC unless it "
        "has an offset); default: now, to the second",
    )  # fmt: skip
    exp.add_argument(
        "out", nargs="?", metavar="OUT",
        help="the file to write, or a directory to write LY<cut-off>.lycred in",
    )  # fmt: skip
    # Deprecated spellings, still accepted: --cutoff TIMESTAMP and --directory DIR.
    exp.add_argument("--cutoff", dest="cut_off", help=argparse.SUPPRESS)
    exp.add_argument("--directory", type=Path, help=argparse.SUPPRESS)
    exp.add_argument("--json", action="store_true", help="print what was written as JSON")
    exp.set_defaults(func=_export)
    fee = actions.add_parser(
        "fee", help="charge a programme fee: a debit in the next LYCRED file",
        description=FEE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    fee.add_argument("customer", metavar="CUSTOMER", help="bank customer number (CIF)")
    fee.add_argument("account", metavar="ACCOUNT", help="account to debit (up to 13 digits)")
    fee.add_argument("cents", type=int, metavar="CENTS", help="amount in cents, positive")
    fee.add_argument("--reason", required=True, help="why (kept with the fee, not in the file)")
    fee.add_argument(
        "--reference", metavar="REF",
        help="fee id, up to 20 characters, echoed back by the bank; recording the same id "
        "again does nothing (default: LYFE and 16 random hex digits)",
    )  # fmt: skip
    fee.add_argument("--currency", default="ZAR", help="ISO 4217 code (ZAR)")
    fee.add_argument(
        "--at", metavar="TIMESTAMP",
        help="when the fee is charged (ISO, UTC unless it has an offset; default now): the "
        "first export whose cut-off is at or after it carries it",
    )  # fmt: skip
    fee.add_argument("--json", action="store_true", help="print the recorded fee as JSON")
    fee.set_defaults(func=_fee)


def parse_cut_off(value: str | None, now: datetime | None = None) -> datetime:
    """The cut-off as an aware UTC time: a date means up to the end of that day (UTC); a
    timestamp without an offset is UTC; none means now, to the second."""
    if not value:
        return (now or datetime.now(UTC)).replace(microsecond=0).astimezone(UTC)
    if len(value) == 10:  # YYYY-MM-DD
        return datetime.combine(date.fromisoformat(value), time.max, tzinfo=UTC)
    cutoff = datetime.fromisoformat(value)
    if cutoff.tzinfo is None:
        cutoff = cutoff.replace(tzinfo=UTC)
    return cutoff.astimezone(UTC)


def _engine() -> AsyncEngine:
    platform = PlatformSettings()
    endpoints = resolve_endpoints(platform)
    url = runtime_url(SCHEMA, endpoints.database_url, platform, service_settings(SCHEMA))
    return create_engine(url, pool_size=1)


@contextmanager
def _progress(path: Path) -> Iterator[Callable[[int], None] | None]:
    if not sys.stderr.isatty():
        yield None
        return
    total = path.stat().st_size // DOEXEC_LRECL
    with Progress(
        TextColumn(f"[bold]{path.name}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("records", total=total)
        yield lambda done: bar.update(task, completed=done)


def _files(args: argparse.Namespace) -> list[Path]:
    files: list[Path] = list(args.files)
    if args.directory is not None:
        files += sorted(p for p in args.directory.iterdir() if p.is_file())
    if not files:
        raise SystemExit("loyalty debit-orders import: give FILE(s) or --directory")
    return files


def _import(args: argparse.Namespace) -> int:
    return asyncio.run(_import_all(_files(args), args.report, as_json=args.json))


def _summary(path: Path, result: ImportResult) -> dict[str, Any]:
    scan = result.scan
    return {
        "path": str(path), "file_id": scan.file_id,
        "status": "applied_with_rejects" if scan.rejects else "applied",
        "run_date": scan.run_date.isoformat(), "records_read": scan.records,
        "details": scan.details, "published": result.published, "rejected": len(scan.rejects),
        "total_amount_cents": scan.total_amount, "published_amount_cents": result.published_cents,
        "hash_total": scan.hash_total,
    }  # fmt: skip


async def _import_all(files: list[Path], report: Path | None, *, as_json: bool = False) -> int:
    engine = _engine()
    worst = 0
    rows: list[tuple[str, int, str, str, str]] = []
    summaries: list[dict[str, Any]] = []
    say = (lambda _text: None) if as_json else print
    try:
        for path in files:
            try:
                with _progress(path) as progress:
                    result = await import_doexec(engine, path, progress)
            except FileRejectedError as exc:
                say(f"{path}: REJECTED, nothing applied: {exc}")
                summaries.append({
                    "path": str(path), "file_id": None, "status": "rejected",
                    "reason": exc.reason, "published": 0, "exit_status": 2,
                })  # fmt: skip
                worst = max(worst, 2)
                continue
            except AlreadyReceivedError as exc:
                say(f"{path}: {exc}; nothing done")
                summaries.append({"path": str(path), "file_id": exc.file_id,
                                  "status": "already_received", "reason": str(exc),
                                  "published": 0, "exit_status": 3})  # fmt: skip
                worst = max(worst, 3)
                continue
            scan = result.scan
            say(
                f"{path}: file {scan.file_id} run {scan.run_date}: {scan.details} details, "
                f"{result.published} published ({_rand(result.published_cents)}), "
                f"{len(scan.rejects)} rejected"
            )
            summary = _summary(path, result)
            summary["exit_status"] = 1 if scan.rejects else 0
            if report is None:
                summary["rejects"] = [
                    {"record_no": r.record_no, "field": r.field, "reason": r.reason,
                     "bytes": r.raw_hex}
                    for r in scan.rejects
                ]  # fmt: skip
            else:
                summary["report"] = str(report)
            summaries.append(summary)
            for r in scan.rejects:
                say(f"  record {r.record_no}: {r.field}: {r.reason} (bytes {r.raw_hex})")
                rows.append((scan.file_id, r.record_no, r.field, r.reason, r.raw_hex))
            if scan.rejects:
                worst = max(worst, 1)
    finally:
        await engine.dispose()
    if report is not None:
        with report.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file_id", "record_no", "field", "reason", "bytes"])
            writer.writerows(rows)
    if as_json:
        print(json.dumps({"exit_status": worst, "files": summaries}, indent=2))
    return worst


def _rand(cents: int) -> str:
    return f"R{cents / 100:,.2f}"


def _export(args: argparse.Namespace) -> int:
    if args.out is None and args.directory is None:
        print("loyalty debit-orders export: give OUT (a file or a directory)", file=sys.stderr)
        return 2
    try:
        cutoff = parse_cut_off(args.cut_off)
    except ValueError as exc:
        print(f"loyalty debit-orders export: bad --cut-off {args.cut_off!r}: {exc}",
              file=sys.stderr)  # fmt: skip
        return 2

    async def run() -> LycredFile:
        engine = _engine()
        try:
            return await build_lycred(engine, cutoff)
        finally:
            await engine.dispose()

    built = asyncio.run(run())
    if args.out is not None:
        path = lycred_path(args.out, built.file_id)
    else:
        path = args.directory / f"{built.file_id}.lycred"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(built.data)
    if args.json:
        print(json.dumps({
            "path": str(path), "file_id": built.file_id, "cut_off": cutoff.isoformat(),
            "instructions": len(built.instructions), "credits": built.credits,
            "credit_cents": built.credit_cents, "debits": built.debits,
            "debit_cents": built.debit_cents, "bytes": len(built.data),
        }, indent=2))  # fmt: skip
    else:
        print(
            f"{path}: file {built.file_id}, cut-off {cutoff.isoformat()}: "
            f"{built.credits} credit(s) {_rand(built.credit_cents)}, "
            f"{built.debits} debit(s) {_rand(built.debit_cents)}"
        )
    return 0


def _fee(args: argparse.Namespace) -> int:
    try:
        fee = Fee(
            fee_id=args.reference or new_fee_id(), customer_no=args.customer,
            account_no=args.account, amount_cents=args.cents, currency=args.currency,
            reason=args.reason,
            charged_at=parse_cut_off(args.at) if args.at else datetime.now(UTC),
        )  # fmt: skip
    except ValueError as exc:
        print(f"loyalty debit-orders fee: bad --at {args.at!r}: {exc}", file=sys.stderr)
        return 2

    async def run() -> Recorded:
        engine = _engine()
        try:
            async with engine.begin() as conn:
                return await record_fee(conn, fee)
        finally:
            await engine.dispose()

    try:
        done = asyncio.run(run())
    except FeeError as exc:
        print(f"loyalty debit-orders fee: refused: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({
            "fee_id": fee.fee_id, "customer_no": fee.customer_no, "account_no": fee.account_no,
            "amount_cents": fee.amount_cents, "currency": fee.currency,
            "charged_at": fee.charged_at.isoformat(), "narrative": done.narrative,
            "language": done.language, "created": done.created,
        }, indent=2))  # fmt: skip
    elif done.created:
        print(
            f"fee {fee.fee_id}: {_rand(fee.amount_cents)} from account {fee.account_no} of "
            f"customer {fee.customer_no}, narrative {done.narrative!r} ({done.language})"
        )
    else:
        print(f"fee {fee.fee_id} was recorded before; nothing done")
    return 0 if done.created else 3
