"""How fast and how right the matcher is: `loyalty bench matching`.

The vendor master is the seed master grown with made-up vendors to the size
asked for (10,000 by default). The queries are the labelled descriptors that
carry no merchant id or user code (so every one goes through the words),
repeated as real traffic repeats them, and perturbed with new store numbers,
branches and slips of the finger so that half of them are new.

Throughput is measured on one core (the process pins itself to one CPU where
the OS allows) in CPU time, best of a few repeats, since other processes on
the machine inflate wall time. *Uncached*: the engine keeps no answer per
descriptor or per normalised descriptor; only its per-word memos (what a word
is, which vendor words it may stand for) fill up during the run, from empty.
*Cached*: the engine as deployed, with its answer caches, from empty.

The bank's earlier interpreter compared each descriptor with every vendor;
`naive_matcher` does the same with difflib, measured on a small sample.
Timing lives here and only here: tests never assert on speed.
"""

from __future__ import annotations

import csv
import difflib
import io
import os
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Final

import psutil

from services.vendor_matching import native
from services.vendor_matching.domain import MatchQuery, Vendor
from services.vendor_matching.engine import MatchingEngine, MatchingSettings
from services.vendor_matching.evaluation import (
    LabelledDescriptor,
    evaluate,
    labelled_descriptors,
    seed_vendors,
)
from services.vendor_matching.normalise import card_acceptor_name, normalise_descriptor
from services.vendor_matching.similarity import MIN_PREFIX_LENGTH, deletion_neighbourhood
from services.vendor_matching.vendors_csv import HEADER, parse_vendor_csv

_BRANCHES: Final = ("LINDEN", "NORTHGATE", "BAYSIDE", "KOLONNADE", "TABLEVIEW", "WESTGATE")
_ONSETS: Final = ("B", "D", "F", "G", "H", "K", "L", "M", "N", "P", "R", "S", "T", "V", "Z",
                  "MB", "ND", "NK", "SH", "TH", "KH", "TS")  # fmt: skip
_VOWELS: Final = ("A", "E", "I", "O", "U")
_KINDS: Final = ("TRADERS", "MOTORS", "FOODS", "STORES", "INSURANCE", "FITNESS", "CAFE", "")
DESCRIPTOR_LENGTH: Final = 40
MiB: Final = 1024 * 1024


def synthetic_vendors(
    count: int, seed: int = 11, avoid: frozenset[str] = frozenset()
) -> list[Vendor]:
    """Made-up vendors with pronounceable names (some with an alias and merchant ids),
    to grow the master for scaling runs. A made-up word that `avoid` (deletion
    variants of real descriptor words) says a descriptor could be read as is skipped,
    so that growing the master does not change what the labelled descriptors mean."""
    rng = random.Random(seed)  # noqa: S311 - benchmark data, not security
    vendors: list[Vendor] = []
    taken: set[str] = set()
    while len(vendors) < count:
        word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(rng.randint(2, 4)))
        kind = rng.choice(_KINDS)
        name = f"{word} {kind}".strip()
        if name in taken or word in taken or _readable_as(word, avoid):
            continue
        taken.update((name, word))
        number = len(vendors)
        aliases = (word,) if kind and rng.random() < 0.3 else ()
        vendors.append(
            Vendor(
                f"synthetic_{number:06d}",
                name,
                "retail",
                partner=False,
                accepts_redemptions=False,
                merchant_ids=(f"9{number:014d}",),
                aliases=aliases,
            )
        )
    return vendors


def _readable_as(word: str, avoid: frozenset[str]) -> bool:
    """Whether a descriptor word could be read as `word`: within two edits, or the
    start of it (a cut-short name)."""
    if not avoid:
        return False
    starts = (word[:end] for end in range(MIN_PREFIX_LENGTH, len(word)))
    return not deletion_neighbourhood(word).isdisjoint(avoid) or any(s in avoid for s in starts)


def descriptor_words(rows: Sequence[LabelledDescriptor]) -> frozenset[str]:
    """Every word of the labelled descriptors with its one-deletion variants."""
    words = {
        word
        for row in rows
        for word in normalise_descriptor(card_acceptor_name(row.query.descriptor)).split()
        if len(word) >= MIN_PREFIX_LENGTH
    }
    return frozenset(variant for word in words for variant in deletion_neighbourhood(word))


def grown_master(size: int) -> list[Vendor]:
    """The seed master plus made-up vendors up to `size`, none of which a labelled
    descriptor could be read as."""
    vendors = seed_vendors()
    avoid = descriptor_words(labelled_descriptors())
    return vendors + synthetic_vendors(max(0, size - len(vendors)), avoid=avoid)


def perturbed_queries(
    rows: Sequence[LabelledDescriptor], n: int, seed: int = 7
) -> list[MatchQuery]:
    """`n` queries: half exact repeats of labelled descriptors, half with a new
    store number, branch or a slip of the finger."""
    rng = random.Random(seed)  # noqa: S311 - benchmark data, not security
    queries: list[MatchQuery] = []
    for _ in range(n):
        query = rng.choice(rows).query
        roll = rng.random()
        if roll < 0.5:
            queries.append(query)
            continue
        text = card_acceptor_name(query.descriptor).rstrip()
        if roll < 0.75:
            text = f"{text} #{rng.randrange(10_000)}"
        elif roll < 0.9:
            text = f"{text} {rng.choice(_BRANCHES)}"
        elif len(text) > 4:
            at = rng.randrange(1, len(text) - 1)
            text = text[:at] + text[at + 1] + text[at] + text[at + 2 :]
        queries.append(replace(query, descriptor=text[:DESCRIPTOR_LENGTH]))
    return queries


def naive_matcher(vendors: Sequence[Vendor], threshold: float = 0.8) -> Callable[[str], str | None]:
    """The old way: compare the descriptor with every vendor name and alias."""
    names = [
        (vendor.vendor_id, normalise_descriptor(text))
        for vendor in vendors
        for text in (vendor.name, *vendor.aliases)
    ]

    def match(descriptor: str) -> str | None:
        text = normalise_descriptor(card_acceptor_name(descriptor))
        best_id, best = None, 0.0
        for vendor_id, name in names:
            ratio = difflib.SequenceMatcher(None, text, name).ratio()
            if ratio > best:
                best_id, best = vendor_id, ratio
        return best_id if best >= threshold else None

    return match


def pin_to_one_core() -> int | None:
    """Run on one CPU from now on; which one (None where the OS cannot pin)."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def _csv_text(vendors: Sequence[Vendor]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for v in vendors:
        writer.writerow(
            (v.vendor_id, v.name, v.category, str(v.partner).lower(),
             str(v.accepts_redemptions).lower(), "|".join(v.merchant_ids),
             "|".join(v.user_codes), "|".join(v.aliases))
        )  # fmt: skip
    return out.getvalue()


def _rates(run: Callable[[], object], count: int, repeats: int) -> dict[str, float]:
    """Descriptors per CPU second and per wall second, best and median of `repeats`."""
    cpu: list[float] = []
    wall: list[float] = []
    for _ in range(repeats):
        started_cpu, started_wall = time.thread_time(), time.perf_counter()
        run()
        cpu.append(time.thread_time() - started_cpu)
        wall.append(time.perf_counter() - started_wall)
    return {
        "per_cpu_s_best": round(count / min(cpu)),
        "per_cpu_s_median": round(count / statistics.median(cpu)),
        "per_wall_s_best": round(count / min(wall)),
    }


def _latencies_us(engine: MatchingEngine, queries: Sequence[MatchQuery]) -> dict[str, float]:
    """Per-descriptor latency of the uncached engine, from empty word memos, in this
    thread's CPU time (time other processes take the core from it is not counted)."""
    engine.cache_clear()
    clock = time.thread_time_ns
    samples: list[int] = []
    for query in queries:
        started = clock()
        engine.match(query)
        samples.append(clock() - started)
    cuts = statistics.quantiles(samples, n=1000)
    return {
        "p50_us": round(cuts[499] / 1000, 1),
        "p99_us": round(cuts[989] / 1000, 1),
        "p999_us": round(cuts[998] / 1000, 1),
        "max_us": round(max(samples) / 1000, 1),
    }


def _accuracy(engine: MatchingEngine, rows: Sequence[LabelledDescriptor]) -> dict[str, Any]:
    report = evaluate(engine, rows)
    unknown = [row for row in rows if row.expected_vendor_id is None]
    claimed_unknown = sum(1 for row, _ in report.wrong if row.expected_vendor_id is None)
    lookalikes = [row for row in unknown if "lookalike" in row.noise.split()]
    claimed_lookalikes = sum(
        1
        for row, _ in report.wrong
        if row.expected_vendor_id is None and "lookalike" in row.noise.split()
    )
    return {
        "rows": report.rows,
        "registered_rows": report.positives,
        "vendors_named": len({row.expected_vendor_id for row in rows} - {None}),
        "no_vendor_rows": len(unknown),
        "precision": round(report.precision, 4),
        "recall": round(report.recall, 4),
        "wrong_vendor_for_registered": len(report.wrong) - claimed_unknown,
        "no_vendor_accepted": claimed_unknown,
        "no_vendor_accepted_share": round(claimed_unknown / len(unknown), 4),
        "lookalikes_accepted": f"{claimed_lookalikes} of {len(lookalikes)}",
        "no_vendor_accepted_without_lookalikes": claimed_unknown - claimed_lookalikes,
        "sent_to_review": report.reviews,
    }


def run_matching_bench(
    vendor_count: int = 10_000,
    queries: int = 100_000,
    *,
    repeats: int = 3,
    latency_sample: int = 20_000,
    naive_sample: int = 20,
    seed: int = 7,
    with_accuracy: bool = True,
) -> dict[str, Any]:
    """Load time, memory, throughput (uncached and cached), latency and accuracy."""
    process = psutil.Process()
    rss_before = process.memory_info().rss
    vendors = grown_master(vendor_count)
    text = _csv_text(vendors)
    started = time.process_time()
    parsed, errors = parse_vendor_csv(io.StringIO(text, newline=""))
    parse_s = time.process_time() - started
    started = time.process_time()
    uncached = MatchingEngine.build(parsed, MatchingSettings(cache_size=0))
    build_s = time.process_time() - started
    del text
    rss_engine = process.memory_info().rss
    rows = [r for r in labelled_descriptors() if not (r.query.merchant_id or r.query.user_code)]
    workload = perturbed_queries(rows, queries, seed)
    cached = uncached.with_settings(MatchingSettings())

    def run_uncached() -> None:
        uncached.cache_clear()
        uncached.match_many(workload)

    def run_cached() -> None:
        cached.cache_clear()
        cached.match_many(workload)

    report: dict[str, Any] = {
        "compiled": native.compiled(),  # mypyc extensions (`make`), or plain Python
        "vendors": len(parsed),
        "vendor_rows_rejected": len(errors),
        "queries": len(workload),
        "distinct_descriptors": len({q.descriptor for q in workload}),
        "load_csv_cpu_s": round(parse_s, 2),
        "build_engine_cpu_s": round(build_s, 2),
        "uncached": _rates(run_uncached, len(workload), repeats),
        "cached": _rates(run_cached, len(workload), repeats),
        "latency_uncached": _latencies_us(uncached, workload[:latency_sample]),
        "rss_mib_before_master": round(rss_before / MiB, 1),
        "rss_mib_with_engine": round(rss_engine / MiB, 1),
        "rss_mib_after_run": round(process.memory_info().rss / MiB, 1),
    }
    if naive_sample:
        match = naive_matcher(parsed)
        sample = workload[:naive_sample]
        started = time.process_time()
        for query in sample:
            match(query.descriptor)
        report["naive_scan_per_cpu_s"] = round(len(sample) / (time.process_time() - started), 1)
    if with_accuracy:
        report["accuracy_seed_master"] = _accuracy(
            MatchingEngine.build(seed_vendors()), labelled_descriptors()
        )
        report["accuracy_grown_master"] = _accuracy(cached, labelled_descriptors())
    return report
