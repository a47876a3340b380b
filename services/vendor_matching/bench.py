"""How fast the matcher is, next to the old way of reading statements.

The bank's earlier interpreter compared every descriptor with every vendor
using a costly string comparison. `naive` below does the same with difflib on
normalised text; the engine uses its indexes. Both see the same queries: the
labelled descriptors, repeated (as real traffic repeats) and perturbed with new
store numbers, branches and typos (so the cache cannot answer everything).

    .venv/bin/python -m services.vendor_matching.bench 200000

Timing lives here and only here: tests never assert on speed.
"""

from __future__ import annotations

import difflib
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Final

from services.vendor_matching.domain import MatchQuery, Vendor
from services.vendor_matching.engine import MatchingEngine, MatchingSettings
from services.vendor_matching.evaluation import (
    LabelledDescriptor,
    evaluate,
    labelled_descriptors,
    seed_vendors,
)
from services.vendor_matching.normalise import card_acceptor_name, normalise_descriptor

_BRANCHES: Final = ("LINDEN", "NORTHGATE", "BAYSIDE", "KOLONNADE", "TABLEVIEW", "WESTGATE")
_ONSETS: Final = (
    "B",
    "D",
    "F",
    "G",
    "H",
    "K",
    "L",
    "M",
    "N",
    "P",
    "R",
    "S",
    "T",
    "V",
    "Z",
    "MB",
    "ND",
    "NK",
    "SH",
    "TH",
    "KH",
    "TS",
)
_VOWELS: Final = ("A", "E", "I", "O", "U")
_KINDS: Final = ("TRADERS", "MOTORS", "FOODS", "STORES", "INSURANCE", "FITNESS", "CAFE", "")
DESCRIPTOR_LENGTH: Final = 40


def synthetic_vendors(count: int, seed: int = 11) -> list[Vendor]:
    """Made-up vendors with pronounceable names, to grow the master for scaling runs."""
    rng = random.Random(seed)  # noqa: S311 - benchmark data, not security
    vendors: list[Vendor] = []
    for number in range(count):
        syllables = rng.randint(2, 4)
        word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables))
        name = f"{word} {rng.choice(_KINDS)}".strip()
        vendors.append(
            Vendor(
                f"synthetic_{number:06d}", name, "retail", partner=False, accepts_redemptions=False
            )
        )
    return vendors


def perturbed_queries(
    rows: Sequence[LabelledDescriptor], n: int, seed: int = 7
) -> list[MatchQuery]:
    """`n` queries: half exact repeats of labelled descriptors, half with a new
    store number, branch or a slip of the finger (unique, so uncached)."""
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


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def _engine_rate(engine: MatchingEngine, queries: Sequence[MatchQuery]) -> float:
    engine.cache_clear()
    started = time.perf_counter()
    engine.match_many(queries)
    return _rate(len(queries), time.perf_counter() - started)


def _naive_rate(vendors: Sequence[Vendor], queries: Sequence[MatchQuery]) -> float:
    match = naive_matcher(vendors)
    started = time.perf_counter()
    for query in queries:
        match(query.descriptor)
    return _rate(len(queries), time.perf_counter() - started)


def _naive_accuracy(
    vendors: Sequence[Vendor], rows: Sequence[LabelledDescriptor]
) -> dict[str, float]:
    match = naive_matcher(vendors)
    claimed = correct = 0
    for row in rows:
        found = match(row.query.descriptor)
        claimed += found is not None
        correct += found is not None and found == row.expected_vendor_id
    positives = sum(row.expected_vendor_id is not None for row in rows)
    return {
        "naive_precision": round(correct / claimed, 4) if claimed else 1.0,
        "naive_recall": round(correct / positives, 4) if positives else 1.0,
    }


def run_matching_bench(
    n: int,
    *,
    baseline_sample: int = 500,
    scale_to: Sequence[int] = (),
    seed: int = 7,
    with_accuracy: bool = True,
) -> dict[str, float | int]:
    """Matches per second of the engine (cached, uncached) and of the naive scan.

    `scale_to` adds made-up vendors up to each size and measures both again, to
    show how each grows with the vendor master. `with_accuracy` also scores both
    on the labelled set (the naive scan takes a few seconds for that).
    """
    vendors = seed_vendors()
    rows = [r for r in labelled_descriptors() if not (r.query.merchant_id or r.query.user_code)]
    queries = perturbed_queries(rows, n, seed)
    started = time.perf_counter()
    engine = MatchingEngine.build(vendors)
    build_seconds = time.perf_counter() - started
    uncached = MatchingEngine.build(vendors, MatchingSettings(cache_size=0))
    sample = queries[:baseline_sample]
    report: dict[str, float | int] = {
        "queries": n,
        "vendors": len(vendors),
        "distinct_descriptors": len({query.descriptor for query in queries}),
        "build_ms": round(build_seconds * 1000, 2),
        "engine_matches_per_s": _engine_rate(engine, queries),
        "engine_uncached_matches_per_s": _engine_rate(uncached, queries),
        "naive_sample": len(sample),
        "naive_matches_per_s": _naive_rate(vendors, sample),
    }
    report["speedup_uncached_vs_naive"] = round(
        float(report["engine_uncached_matches_per_s"]) / float(report["naive_matches_per_s"]), 1
    )
    report["speedup_vs_naive"] = round(
        float(report["engine_matches_per_s"]) / float(report["naive_matches_per_s"]), 1
    )
    if with_accuracy:
        report.update(_naive_accuracy(vendors, labelled_descriptors()))
        quality = evaluate(engine, labelled_descriptors())
        report["engine_precision"] = round(quality.precision, 4)
        report["engine_recall"] = round(quality.recall, 4)
    for size in scale_to:
        grown = vendors + synthetic_vendors(max(0, size - len(vendors)))
        big = MatchingEngine.build(grown, MatchingSettings(cache_size=0))
        report[f"engine_uncached_matches_per_s_at_{size}_vendors"] = _engine_rate(big, queries)
        small_sample = sample[: max(1, baseline_sample // 10)]
        report[f"naive_matches_per_s_at_{size}_vendors"] = _naive_rate(grown, small_sample)
    return report


def main(argv: Sequence[str] = ()) -> None:
    n = int(argv[0]) if argv else 100_000
    print(json.dumps(run_matching_bench(n, scale_to=(1_000, 10_000)), indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
