"""`loyalty simulate`: the simulated bank and vendor gateways against a running platform.

`loyalty up` runs the simulator inside the whole local platform; this command runs only the
simulator, against infrastructure that is already there (docker compose's `sim` profile, a
test cluster): it publishes seeded South African customers' CIF records, card
authorizations and postings, EFT and debit-order statement lines and vendor-gateway
requests at a steady rate until Ctrl-C, SIGTERM or --duration, then prints a summary.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time

from shared.cli_args import number
from shared.infra.embedded import InfraError
from shared.infra.resolve import resolve_endpoints
from shared.settings import KafkaSecurity, PlatformSettings
from shared.simulator import Simulator
from shared.up import import_simulated_vendors

PROGRESS_EVERY_S = 10.0

DESCRIPTION = """\
Publish simulated bank traffic to a running platform (the infrastructure comes from
LOYALTY_KAFKA_BOOTSTRAP and LOYALTY_DATABASE_URL, or the embedded pair of `loyalty infra up`).

The same --seed gives the same customers; every run has its own run id, so message and
transaction ids never collide with an earlier run's. With --import-vendors the simulator's
vendor master is loaded first through `loyalty vendors import` (needs the vendor_matching
database password in external mode), so that purchases match vendors and vendors accept
redemptions. Progress goes to stderr every 10 s; the summary is printed at the end (one JSON
line with --json).

Exit status: 0 when every event was published; 1 when some failed; 2 without infrastructure.
"""


_positive = number(float, lambda v: v > 0, "above zero")
_count = number(int, lambda v: v >= 1, "at least 1")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="publish simulated bank traffic to a running platform (compose's sim profile)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rate", type=_positive, default=50.0, help="events a second (50)")
    parser.add_argument("--customers", type=_count, default=2_000, help="customers (2000)")
    parser.add_argument("--seed", type=int, default=42, help="the same seed, the same customers")
    parser.add_argument(
        "--duration", type=_positive, metavar="SECONDS", help="stop after this long (default: run)"
    )
    parser.add_argument(
        "--import-vendors", action="store_true", help="load the simulator's vendors first"
    )
    parser.add_argument("--json", action="store_true", help="one JSON summary line on stdout")
    parser.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    try:
        endpoints = resolve_endpoints()
    except InfraError as exc:
        print(f"loyalty simulate: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_simulate(args, endpoints.kafka_bootstrap))


async def _simulate(args: argparse.Namespace, bootstrap: str) -> int:
    if args.import_vendors:
        await import_simulated_vendors(PlatformSettings().home, dict(os.environ))
    simulator = Simulator(customers=args.customers, seed=args.seed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    print(
        f"simulate: {args.customers} customers, {args.rate:g} events/s, seed {args.seed}, "
        f"run {simulator.state.run_id}, broker {bootstrap}",
        file=sys.stderr,
        flush=True,
    )
    started = time.monotonic()
    run = asyncio.create_task(simulator.run(bootstrap, args.rate, stop, KafkaSecurity()))
    deadline = None if args.duration is None else started + args.duration
    while not run.done():
        wait = PROGRESS_EVERY_S
        if deadline is not None:
            wait = min(wait, max(0.0, deadline - time.monotonic()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(run), wait)
        if deadline is not None and time.monotonic() >= deadline:
            stop.set()
        if not run.done():
            stats = simulator.stats
            print(
                f"simulate: {stats.published} published, {stats.failed} failed, "
                f"{time.monotonic() - started:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    await run
    stats = simulator.stats
    by_topic = dict(sorted(stats.by_topic.items()))
    summary = {
        "run_id": simulator.state.run_id,
        "customers": args.customers,
        "seconds": round(time.monotonic() - started, 1),
        "published": stats.published,
        "failed": stats.failed,
        "skipped": stats.skipped,
        "duplicates_sent": simulator.duplicates,
        "published_by_topic": by_topic,
    }
    if args.json:
        print(json.dumps(summary), flush=True)
    else:
        print(
            f"simulate: {stats.published} events published in {summary['seconds']} s "
            f"({stats.failed} failed, {simulator.duplicates} deliberate duplicates)"
        )
        for topic, count in by_topic.items():
            print(f"  {topic:<40} {count:>8}")
    return 1 if stats.failed else 0
