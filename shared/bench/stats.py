"""Pure arithmetic of a benchmark run: percentiles, throughput windows, send times."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence

PERCENTILES = (50.0, 95.0, 99.0)


def percentile(ordered: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values (p in 0..100)."""
    if not ordered:
        raise ValueError("no values")
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_summary(values: Sequence[float], unit: str = "ms") -> dict[str, float | int | None]:
    """count, p50, p95, p99, max and mean, rounded; None when there are no values."""
    ordered = sorted(values)
    summary: dict[str, float | int | None] = {"count": len(ordered)}
    for p in PERCENTILES:
        summary[f"p{p:g}_{unit}"] = round(percentile(ordered, p), 1) if ordered else None
    summary[f"max_{unit}"] = round(ordered[-1], 1) if ordered else None
    summary[f"mean_{unit}"] = round(sum(ordered) / len(ordered), 1) if ordered else None
    return summary


class SendTimes:
    """When transaction i was sent: the bank stamps each chunk of transactions once."""

    def __init__(self, chunk_starts: Sequence[int], chunk_times: Sequence[float]) -> None:
        if len(chunk_starts) != len(chunk_times):
            raise ValueError("one time per chunk")
        self.starts = list(chunk_starts)
        self.times = list(chunk_times)

    def of(self, index: int) -> float:
        position = bisect_right(self.starts, index) - 1
        if position < 0:
            raise ValueError(f"transaction {index} was not sent")
        return self.times[position]


def throughput(
    completions: Sequence[float], started_at: float, total: int
) -> dict[str, float | None]:
    """Rates from the completion times (epoch seconds) of a run of `total` transactions.

    overall: total / (last completion - first publish), the sustained end-to-end rate;
    steady: the rate between the 10th and the 90th percentile of completions (ramp-up and
    tail excluded); elapsed_s: first publish to last completion.
    """
    if not completions or total <= 0:
        return {"elapsed_s": None, "overall_per_s": None, "steady_per_s": None}
    ordered = sorted(completions)
    elapsed = ordered[-1] - started_at
    low, high = ordered[len(ordered) // 10], ordered[(len(ordered) * 9) // 10 - 1]
    middle = (len(ordered) * 9) // 10 - len(ordered) // 10
    steady = middle / (high - low) if high > low and middle > 0 else None
    return {
        "elapsed_s": round(elapsed, 3),
        "overall_per_s": round(total / elapsed, 1) if elapsed > 0 else None,
        "steady_per_s": round(steady, 1) if steady else None,
    }


def completion_curve(
    completions: Sequence[float], started_at: float, step_s: float = 5.0
) -> list[tuple[float, int]]:
    """(seconds since the first publish, transactions completed by then), every step_s."""
    if not completions:
        return []
    ordered = sorted(completions)
    curve: list[tuple[float, int]] = []
    moment = step_s
    end = ordered[-1] - started_at
    while moment < end + step_s:
        curve.append((moment, bisect_right(ordered, started_at + moment)))
        moment += step_s
    return curve
