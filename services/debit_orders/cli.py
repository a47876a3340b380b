"""`loyalty debit-orders import|export`: the bank's DOEXEC files in, LYCRED files out."""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.ext.asyncio import AsyncEngine

from services.debit_orders.copybook import DOEXEC_LRECL
from services.debit_orders.doexec import FileRejectedError
from services.debit_orders.files import AlreadyReceivedError, export_lycred, import_doexec
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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser(
        "debit-orders", help="the mainframe batch gateway (DOEXEC in, LYCRED out)"
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    imp = actions.add_parser(
        "import", help="apply DOEXEC files", description=IMPORT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    imp.add_argument("files", nargs="*", type=Path, metavar="FILE", help="DOEXEC files")
    imp.add_argument("--directory", type=Path, help="import every file in this directory")
    imp.add_argument("--report", type=Path, help="write rejected records to this CSV file")
    imp.set_defaults(func=_import)
    exp = actions.add_parser(
        "export",
        help="write the LYCRED file of cash-back payouts up to a cut-off",
        description="Every payout requested up to the cut-off and not yet in a file is written "
        "to this cut-off's file, exactly once; running it again for the same cut-off writes "
        "the same bytes.",
    )
    exp.add_argument("--cutoff", help="ISO timestamp (default: now, to the second, UTC)")
    exp.add_argument("--directory", type=Path, default=Path(), help="where to write the file")
    exp.set_defaults(func=_export)


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
    return asyncio.run(_import_all(_files(args), args.report))


async def _import_all(files: list[Path], report: Path | None) -> int:
    engine = _engine()
    worst = 0
    rows: list[tuple[str, int, str, str, str]] = []
    try:
        for path in files:
            try:
                with _progress(path) as progress:
                    result = await import_doexec(engine, path, progress)
            except FileRejectedError as exc:
                print(f"{path}: REJECTED, nothing applied: {exc}")
                worst = max(worst, 2)
                continue
            except AlreadyReceivedError as exc:
                print(f"{path}: {exc}; nothing done")
                worst = max(worst, 3)
                continue
            scan = result.scan
            print(
                f"{path}: file {scan.file_id} run {scan.run_date}: {scan.details} details, "
                f"{result.published} published, {len(scan.rejects)} rejected"
            )
            for r in scan.rejects:
                print(f"  record {r.record_no}: {r.field}: {r.reason} (bytes {r.raw_hex})")
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
    return worst


def _export(args: argparse.Namespace) -> int:
    cutoff = (
        datetime.fromisoformat(args.cutoff)
        if args.cutoff
        else datetime.now(UTC).replace(microsecond=0)
    )
    if cutoff.tzinfo is None:
        cutoff = cutoff.replace(tzinfo=UTC)
    cutoff = cutoff.astimezone(UTC)

    async def run() -> tuple[Path, int]:
        engine = _engine()
        try:
            return await export_lycred(engine, cutoff, args.directory)
        finally:
            await engine.dispose()

    path, count = asyncio.run(run())
    print(f"{path}: {count} instruction(s)")
    return 0
