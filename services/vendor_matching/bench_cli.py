"""`loyalty bench matching`: the matcher's speed, memory and accuracy, on one core.

Registers a `matching` benchmark in the `bench` command group. The group is
shared with other benchmarks: whichever plugin registers first creates it (see
`shared/cli_groups.py`), so the order of PLUGINS does not
matter.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from typing import Any

from shared.bench.probes import cpu_model
from shared.cli_groups import SubParsers, bench_actions

DESCRIPTION = """\
Measures the vendor matching engine with a vendor master of N vendors (the seed
master grown with made-up vendors): loading the vendor CSV and indexing it,
memory, throughput on one core uncached (no answer kept per descriptor; only
per-word memos, from empty) and cached (as deployed, from empty), per-descriptor
latency, the old compare-with-every-vendor way on a small sample, and precision
and recall on the labelled descriptor set with the seed master and with the
grown one. No infrastructure needed.
"""


def register(subparsers: SubParsers[argparse.ArgumentParser]) -> None:
    matching = bench_actions(subparsers).add_parser(
        "matching",
        help="vendor matching: descriptors/s on one core, memory, p99 latency, accuracy",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    matching.add_argument(
        "--vendors", type=int, default=10_000, metavar="N", help="vendors loaded (10000)"
    )
    matching.add_argument(
        "--queries", type=int, default=100_000, metavar="N", help="descriptors matched (100000)"
    )
    matching.add_argument("--repeats", type=int, default=3, help="runs; the best counts (3)")
    matching.add_argument("--seed", type=int, default=7, help="workload seed (7)")
    matching.add_argument("--json", action="store_true", help="print the report as JSON")
    matching.set_defaults(func=_matching)


def _matching(args: argparse.Namespace) -> int:
    from services.vendor_matching.bench import (  # noqa: PLC0415 (heavy imports)
        pin_to_one_core,
        run_matching_bench,
    )

    if args.vendors < 1 or args.queries < 1 or args.repeats < 1:
        print("loyalty bench matching: --vendors, --queries and --repeats must be positive")
        return 2
    core = pin_to_one_core()
    print(
        f"bench matching: {args.vendors:,} vendors, {args.queries:,} descriptors, "
        f"pinned to CPU {core}",
        file=sys.stderr,
        flush=True,
    )
    report = run_matching_bench(args.vendors, args.queries, repeats=args.repeats, seed=args.seed)
    report["machine"] = {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "pinned_cpu": core,
        "python": platform.python_version(),
    }
    print(json.dumps(report, indent=2) if args.json else summary(report))
    return 0


def summary(report: dict[str, Any]) -> str:
    """The report as a few lines for a person."""
    uncached, cached = report["uncached"], report["cached"]
    latency = report["latency_uncached"]
    load = (
        f"vendors {report['vendors']:,}: CSV read in {report['load_csv_cpu_s']} s, "
        f"indexed in {report['build_engine_cpu_s']} s (CPU)"
    )
    memory = (
        f"memory: {report['rss_mib_with_engine']} MiB with the engine loaded, "
        f"{report['rss_mib_after_run']} MiB after the run"
    )
    engine = "compiled (mypyc)" if report.get("compiled") else "plain Python"
    lines = [f"engine: {engine}", load, memory]
    for label, rates in (("uncached", uncached), ("cached  ", cached)):
        lines.append(
            f"{label}: {rates['per_cpu_s_best']:,} descriptors/s on one core "
            f"(median {rates['per_cpu_s_median']:,}; wall {rates['per_wall_s_best']:,})"
        )
    lines.append(
        f"latency uncached: p50 {latency['p50_us']} us, p99 {latency['p99_us']} us, "
        f"p99.9 {latency['p999_us']} us, max {latency['max_us']} us"
    )
    if "naive_scan_per_cpu_s" in report:
        lines.append(f"compare with every vendor: {report['naive_scan_per_cpu_s']} descriptors/s")
    for label, key in (("seed master", "accuracy_seed_master"), ("grown", "accuracy_grown_master")):
        if key in report:
            acc = report[key]
            lines.append(
                f"accuracy ({label}): precision {acc['precision']}, recall {acc['recall']}, "
                f"no-vendor accepted {acc['no_vendor_accepted']} of {acc['no_vendor_rows']} "
                f"(lookalikes {acc['lookalikes_accepted']})"
            )
    machine = report.get("machine", {})
    lines.append(
        f"machine: {machine.get('cpu')} x{machine.get('cpus')}, Python {machine.get('python')}"
    )
    return "\n".join(lines)


def _cpu_model() -> str:
    return cpu_model() or platform.processor() or platform.machine()
