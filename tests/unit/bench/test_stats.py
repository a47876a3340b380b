"""Percentiles, send times and throughput of a run, from plain numbers."""

from __future__ import annotations

import os

import pytest

from shared.bench.stats import (
    SendTimes,
    completion_curve,
    latency_summary,
    percentile,
    throughput,
)
from shared.bench.summary import cpu_cost


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7


def test_a_latency_summary_has_the_percentiles_a_reader_asks_for() -> None:
    summary = latency_summary([10.0, 20.0, 30.0, 40.0])
    assert summary == {
        "count": 4, "p50_ms": 20.0, "p95_ms": 40.0, "p99_ms": 40.0, "max_ms": 40.0,
        "mean_ms": 25.0,
    }  # fmt: skip
    assert latency_summary([])["p99_ms"] is None


def test_a_transaction_was_sent_when_its_chunk_was() -> None:
    times = SendTimes([0, 500, 1_000], [100.0, 100.5, 101.0])
    assert times.of(0) == 100.0
    assert times.of(499) == 100.0
    assert times.of(500) == 100.5
    assert times.of(1_234) == 101.0
    with pytest.raises(ValueError, match="not sent"):
        times.of(-1)


def test_throughput_counts_from_the_first_publish_to_the_last_landing() -> None:
    # 1,000 transactions landing evenly over 10 s, starting 1 s after the first publish.
    completions = [1_001.0 + i / 100 for i in range(1_000)]
    rates = throughput(completions, started_at=1_000.0, total=1_000)
    assert rates["elapsed_s"] == pytest.approx(10.99)
    assert rates["overall_per_s"] == pytest.approx(91.0, abs=0.1)
    assert rates["steady_per_s"] == pytest.approx(100.0, rel=0.01)
    assert throughput([], 0.0, 10)["overall_per_s"] is None


def test_the_completion_curve_is_cumulative() -> None:
    curve = completion_curve([1.0, 2.0, 6.0, 12.0], started_at=0.0, step_s=5.0)
    assert curve == [(5.0, 2), (10.0, 3), (15.0, 4)]


def test_the_cpu_cost_counts_the_platform_not_the_benchmark() -> None:
    seconds = {"accrual": 3.0, "postgres": 4.5, "kafka": 2.5, "bench.bank": 9.0, "bench": 1.0}
    cost = cpu_cost(seconds, transactions=10_000)
    assert cost["platform_seconds"] == 10.0
    assert cost["cpu_ms_per_transaction"] == 1.0
    assert cost["capacity_per_s"] == (os.cpu_count() or 1) * 1_000
