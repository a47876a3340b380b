"""`loyalty bench ...`: benchmarks as commands, against a running platform.

The `bench` group is shared (`shared/cli_groups.py`): another module adds its own with
`bench_actions(subparsers).add_parser(...)` from its `register(subparsers)`; whichever
plugin runs first creates the group, so the order of PLUGINS does not matter.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from shared.cli_args import not_negative, positive
from shared.cli_groups import SubParsers, bench_actions
from shared.infra.resolve import resolve_endpoints

E2E_DESCRIPTION = """\
End-to-end throughput and latency of a running platform (`loyalty up --no-simulator`, or
external infrastructure with the services running).

It registers the redeemers through esb.customer.updated.v1 and waits until the wallet knows
them; then a bank process publishes N qualifying transactions (card, EFT and debit-order
statement lines, executed debit orders; real vendors' descriptors; spread over --customers)
as fast as the broker takes them, while a vendor-gateway process sends redemption requests
at --redeem-rate and times each decision. This process follows the wallet's balance changes
until every transaction's points have landed, sampling consumer lag per hop, outbox
backlogs, RSS and CPU per process and the load average every second. Then it checks the
wallet and accrual for exactly-once accounting: each transaction once, the wallet holding
exactly what accrual earned, and accrual having earned exactly what the programme gives
(--programme, the flat launch rule by default, is stored before the run; every message is
rated with accrual's own rule engine). Last, it measures the raw ceiling: the same messages
consumed by a fresh aiokafka group and COPYed into a scratch table, no logic.

Exit status: 0 when every transaction landed exactly once; 1 otherwise.
"""


def register(subparsers: SubParsers[argparse.ArgumentParser]) -> None:
    e2e = bench_actions(subparsers).add_parser(
        "e2e",
        help="bank transactions to points in the wallet: throughput, lag, latency, exactly once",
        description=E2E_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    e2e.add_argument(
        "--transactions", type=positive(int), default=10_000, metavar="N",
        help="bank transactions to publish (10000)",
    )  # fmt: skip
    e2e.add_argument(
        "--customers", type=positive(int), default=100_000, metavar="N",
        help="customers the transactions are spread over (100000)",
    )  # fmt: skip
    e2e.add_argument(
        "--redeem-rate", type=not_negative(float), default=500.0, metavar="PER_S",
        help="redemption requests a second during the load; 0: none (500)",
    )  # fmt: skip
    e2e.add_argument(
        "--redeemers", type=positive(int), default=1_000, metavar="N",
        help="customers registered first, for whom redemptions are requested (1000)",
    )  # fmt: skip
    e2e.add_argument("--seed", type=int, default=42, help="workload seed (42)")
    e2e.add_argument(
        "--programme", type=Path, default=None, metavar="FILE",
        help="earning programme stored before the run, the oracle of the expected points "
        "(services/accrual/programme/flat.yaml)",
    )  # fmt: skip
    e2e.add_argument(
        "--programme-in-force", action="store_true",
        help="store no programme: expect what the one in force gives (checked exactly only "
        "when its points follow from the bank's messages alone)",
    )  # fmt: skip
    e2e.add_argument(
        "--no-ceiling", action="store_true", help="skip the raw consume-and-COPY ceiling"
    )
    e2e.add_argument(
        "--stall-timeout", type=positive(float), default=120.0, metavar="SECONDS",
        help="give up when no points land for this long after publishing ended (120)",
    )  # fmt: skip
    e2e.add_argument(
        "--sample-interval", type=positive(float), default=1.0, metavar="SECONDS",
        help="how often lag, memory and CPU are sampled (1)",
    )  # fmt: skip
    e2e.add_argument("--json", action="store_true", help="print the whole report as JSON")
    e2e.add_argument("--output", type=Path, metavar="FILE", help="also write the JSON report here")
    e2e.set_defaults(func=_e2e)


def _e2e(args: argparse.Namespace) -> int:
    from shared.bench.e2e import E2EOptions, run_e2e  # noqa: PLC0415 (heavy imports)
    from shared.bench.expect import FLAT_PROGRAMME  # noqa: PLC0415
    from shared.bench.report import summary_text  # noqa: PLC0415

    options = E2EOptions(
        transactions=args.transactions,
        customers=args.customers,
        redeem_rate=args.redeem_rate,
        redeemers=args.redeemers,
        seed=args.seed,
        ceiling=not args.no_ceiling,
        stall_timeout_s=args.stall_timeout,
        sample_interval_s=args.sample_interval,
        programme=None if args.programme_in_force else args.programme or FLAT_PROGRAMME,
    )
    endpoints = resolve_endpoints()
    print(
        f"bench e2e: {options.transactions:,} transactions over {options.customers:,} "
        f"customers, {options.redeem_rate:g} redemptions/s, kafka {endpoints.kafka_bootstrap}",
        file=sys.stderr,
        flush=True,
    )
    report = asyncio.run(run_e2e(options, endpoints))
    report["command"] = "loyalty " + " ".join(sys.argv[1:])
    text = json.dumps(report, indent=2, default=str)
    if args.output:
        args.output.write_text(text + "\n")
    print(text if args.json else summary_text(report))
    return 0 if report["ok"] else 1
