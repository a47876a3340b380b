"""`loyalty chaos --transactions N --kills K [--json] [--seed S]`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

DESCRIPTION = """\
Drive N transactions through a platform of its own while killing it, then check everything.

A fresh embedded platform is started under --home (default .loyalty/chaos-<pid>): Tansu,
PostgreSQL, the flat programme as the earning rules (services/accrual/programme/flat.yaml)
and every service as a process. Every customer's CIF record goes first; then N
seeded bank and vendor-gateway transactions (card purchases, authorizations settled or
reversed, partial and full refunds, EFTs, debit orders and their reversals, fees, transfers,
redemptions, CIF updates) at --rate a second, with duplicate deliveries (same id; or the same
transaction under a new id) and poison messages (broken JSON and UTF-8, wrong types, negative
amounts, unknown values, missing keys, reused ids, a malformed internal posting) mixed in.
Meanwhile a random service is SIGKILLed at K random moments and restarted after a random
pause, and PostgreSQL is crashed (immediate stop) and restarted once.

Then it drains (zero consumer lag, empty outboxes), runs `loyalty verify`, and compares the
wallet with what the traffic alone says it must hold (1 point per R10 of qualifying spend in
points and tier points, refunds and reversals in proportion): lost and duplicated effects.

Output: transactions, kills, restarts, duplicates, poison messages, lost, duplicated,
invariants_ok and details. Exit status 0 when nothing was lost or duplicated, every invariant
holds and only poison was dead-lettered; 1 otherwise; 2 when the platform could not start.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "chaos",
        help="kill services and PostgreSQL under load, then count what was lost or duplicated",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--transactions", type=_at_least(1), required=True, metavar="N", help="bank and gateway"
    )
    parser.add_argument(
        "--kills", type=_at_least(0), required=True, metavar="K", help="SIGKILLs of services"
    )
    parser.add_argument("--seed", type=int, default=7, help="the same seed, the same traffic (7)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON only")
    parser.add_argument(
        "--rate", type=float, default=250.0, metavar="N", help="transactions a second (250)"
    )
    parser.add_argument(
        "--customers", type=_at_least(1), metavar="N", help="default: N/20, 50 to 5,000"
    )
    parser.add_argument("--home", type=Path, help="state directory (default .loyalty/chaos-PID)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the home (data and logs) after the run"
    )
    parser.set_defaults(func=_command)


def _at_least(minimum: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        number = int(value)
        if number < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return number

    parse.__name__ = "int"
    return parse


def _command(args: argparse.Namespace) -> int:
    from shared.chaos.platform import PlatformError  # noqa: PLC0415 (slow imports)
    from shared.chaos.run import ChaosConfig, run_chaos  # noqa: PLC0415
    from shared.infra.embedded import InfraError  # noqa: PLC0415

    config = ChaosConfig(
        transactions=args.transactions,
        kills=args.kills,
        seed=args.seed,
        rate=args.rate,
        customers=args.customers,
        home=args.home,
        keep=args.keep,
    )

    def log(line: str) -> None:
        print(line, flush=True)

    # With --json, stdout carries the summary only: progress and the platform's own lines
    # (topics, migrations, stops) go to stderr.
    quiet = contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext()
    try:
        with quiet:
            summary = asyncio.run(run_chaos(config, log))
    except (PlatformError, InfraError) as exc:
        print(f"loyalty chaos: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=None if args.json else 2))
    return 0 if summary["ok"] else 1
