"""`loyalty bench debit-orders`: the batch gateway's decode speed and a large import's memory.

Registers a `debit-orders` benchmark in the shared `bench` command group (see
`shared/cli_groups.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.bench.probes import cpu_model
from shared.cli_groups import SubParsers, bench_actions

DESCRIPTION = """\
Measures the DOEXEC gateway on a generated file of N debit orders (10,000 customers, one in
ten unpaid):

1. decode: every detail through the codec's compiled decoder, and the whole pass-1 check
   (read, decode, validate, control totals), in records per CPU second, best of --repeats
   (target: at least 200,000 records/s);
2. end to end: `loyalty debit-orders import FILE --json` as its own process (parse,
   validate, publish through the gateway's outbox in one transaction), its wall time and
   its peak resident memory (target: under 200 MB for 1,000,000 records).

Part 2 needs the platform's infrastructure (`loyalty infra up`, or LOYALTY_KAFKA_BOOTSTRAP
and LOYALTY_DATABASE_URL) with the debit_orders schema migrated; --decode-only skips it.
Afterwards the bench's rows still in the outbox are counted and deleted, so that a relay
started later does not deliver a million made-up debit orders (--keep keeps them); a relay
running meanwhile publishes them (and deletes what it published) as they commit.
"""


def register(subparsers: SubParsers[argparse.ArgumentParser]) -> None:
    bench = bench_actions(subparsers).add_parser(
        "debit-orders",
        help="DOEXEC decode records/s and a 1,000,000-record import's time and peak memory",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bench.add_argument(
        "--records", type=int, default=1_000_000, metavar="N",
        help="debit orders in the generated file (1000000)",
    )  # fmt: skip
    bench.add_argument("--repeats", type=int, default=3, help="decode runs; the best counts (3)")
    bench.add_argument("--decode-only", action="store_true", help="skip the import (no infra)")
    bench.add_argument("--keep", action="store_true", help="keep the bench's outbox rows")
    bench.add_argument("--directory", type=Path, help="where to write the file (a temp dir)")
    bench.add_argument("--json", action="store_true", help="print the report as JSON")
    bench.set_defaults(func=_bench)


def _bench(args: argparse.Namespace) -> int:
    from services.debit_orders.bench import (  # noqa: PLC0415 (only when benchmarking)
        generate_doexec,
        import_in_subprocess,
        measure_decode,
    )

    if args.records < 1 or args.repeats < 1:
        print("loyalty bench debit-orders: --records and --repeats must be positive")
        return 2
    env: dict[str, str] | None = None
    if not args.decode_only:
        env = _infra_env()
        if env is None:
            return 2
    report: dict[str, Any] = {"date": datetime.now(UTC).isoformat(timespec="seconds")}
    with tempfile.TemporaryDirectory(dir=args.directory) as tmp:
        path = Path(tmp) / "DOEXEC.bench"
        file_id = f"BENCH{datetime.now(UTC):%m%d%H%M%S}"
        _say(f"generating {args.records:,} debit orders in {path}")
        started = datetime.now(UTC)
        generate_doexec(path, args.records, file_id)
        report["generate_s"] = round((datetime.now(UTC) - started).total_seconds(), 1)
        report["file_mib"] = round(path.stat().st_size / 2**20, 1)
        _say("decoding")
        report["decode"] = measure_decode(path, args.records, args.repeats)
        _say(f"decode: {json.dumps(report['decode'])}")
        if env is not None:
            _say("importing end to end (a subprocess)")
            report["import"] = import_in_subprocess(path, env)
            report["import"]["outbox_rows"] = asyncio.run(_outbox(file_id, delete=not args.keep))
            report["import"]["outbox_rows_deleted"] = not args.keep
    report["machine"] = {
        "cpu": _cpu_model(),
        "nproc": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "python": platform.python_version(),
    }
    print(json.dumps(report, indent=2) if args.json else summary(report))
    return 0


def _infra_env() -> dict[str, str] | None:
    """The environment for the import: this one, once the infrastructure is known to be
    there (the subprocess resolves it the same way: external settings or LOYALTY_HOME)."""
    from shared.infra.embedded import InfraError  # noqa: PLC0415
    from shared.infra.resolve import resolve_endpoints  # noqa: PLC0415

    try:
        resolve_endpoints()
    except InfraError as exc:
        print(f"loyalty bench debit-orders: {exc} (or give --decode-only)", file=sys.stderr)
        return None
    return dict(os.environ)


async def _outbox(file_id: str, *, delete: bool) -> int:
    """The bench file's rows still in the outbox, unpublished (deleted when asked)."""
    from sqlalchemy import text  # noqa: PLC0415

    from services.debit_orders.cli import _engine  # noqa: PLC0415
    from services.debit_orders.tables import SCHEMA  # noqa: PLC0415

    engine = _engine()
    pattern = {"m": f"DOEXEC:{file_id}:%"}
    try:
        async with engine.begin() as conn:
            rows = await conn.scalar(
                text(f'SELECT count(*) FROM "{SCHEMA}".outbox WHERE message_id LIKE :m'), pattern
            )
            if delete:
                await conn.execute(
                    text(f'DELETE FROM "{SCHEMA}".outbox WHERE message_id LIKE :m'), pattern
                )
    finally:
        await engine.dispose()
    return int(rows or 0)


def _say(text: str) -> None:
    print(f"bench debit-orders: {text}", file=sys.stderr, flush=True)


def summary(report: dict[str, Any]) -> str:
    """The report as a few lines for a person."""
    d = report["decode"]
    lines = [
        (
            f"file: {d['records']:,} records, {report['file_mib']} MiB, generated in "
            f"{report['generate_s']} s"
        ),
        (
            f"decode (codec): {d['decode_per_cpu_s_best']:,} records/s per CPU second "
            f"(median {d['decode_per_cpu_s_median']:,})"
        ),
        (
            f"check (pass 1: read, decode, validate, totals): {d['scan_per_cpu_s_best']:,} "
            f"records/s (median {d['scan_per_cpu_s_median']:,})"
        ),
    ]
    if "import" in report:
        i = report["import"]
        lines.append(
            f"import end to end: {i['published']:,} published, {i['rejected']} rejected in "
            f"{i['wall_s']} s wall ({i['records_per_wall_s']:,}/s), {i['cpu_s']} s CPU, "
            f"peak RSS {i['peak_rss_mib']} MiB; left in the outbox {i['outbox_rows']:,}"
        )
    m = report["machine"]
    lines.append(
        f"machine: {m['cpu']} x{m['nproc']}, load {m['load_average_1m']}, Python {m['python']}"
    )
    return "\n".join(lines)


def _cpu_model() -> str:
    return cpu_model() or platform.processor() or platform.machine()
