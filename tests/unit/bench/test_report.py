"""The human summary shows the figures a reader looks for first."""

from __future__ import annotations

from typing import Any

from shared.bench.report import summary_text

LATENCY = {"count": 10, "p50_ms": 120.0, "p95_ms": 300.0, "p99_ms": 450.0, "max_ms": 500.0}


def _report(*, ok: bool = True) -> dict[str, Any]:
    return {
        "run": "abc123",
        "ok": ok,
        "options": {"redeem_rate": 500.0},
        "machine": {
            "date": "2026-11-23T01:00:00+00:00", "nproc": 2, "cpu_model": "AMD EPYC",
            "ram_gb": 23.5, "os": "Linux",
        },
        "load_average_start": [0.5, 0.4, 0.3],
        "load_average_end": [2.0, 1.0, 0.5],
        "load_average_max_1m": 2.1,
        "published": {
            "published": 10_000, "failed": 0, "started_at": 100.0, "finished_at": 102.0,
            "rate_per_s": 5_000.0,
            "by_topic": {"esb.card.transaction.v1": 6_000, "esb.account.transaction.v1": 4_000},
        },
        "end_to_end": {
            "transactions": 10_000, "landed": 10_000, "complete": True, "latency": LATENCY,
            "throughput": {"elapsed_s": 4.0, "overall_per_s": 2_500.0, "steady_per_s": 3_000.0},
        },
        "redemptions": {
            "achieved_rate_per_s": 499.0, "sent": 2_000, "decided": 2_000, "unanswered": 0,
            "outcomes": {"approved": 1_900, "declined:insufficient_points": 100},
            "latency": LATENCY,
        },
        "exactly_once": {
            "ok": ok, "problems": [] if ok else ["points: 9999 postings in the wallet"],
            "currencies": {"points": {"distinct_transactions": 10_000, "postings": 10_000,
                                      "points_credited": 250_000}},
        },
        "ceiling": {"messages": 10_000, "elapsed_s": 0.5, "rate_per_s": 20_000.0,
                    "fraction": 0.125},
        "cpu": {"seconds": {"accrual": 4.0}, "platform_seconds": 20.0,
                "cpu_ms_per_transaction": 2.0, "capacity_per_s": 1_000},
        "hops": {"accrual": {"max_lag": 1_200, "max_outbox": 1_000, "caught_up_at_s": 4.0}},
        "resources": {"accrual": {"rss_mb_max": 95.0, "cpu_pct_mean": 40.0,
                                  "cpu_pct_max": 80.0}},
    }  # fmt: skip


def test_the_summary_leads_with_throughput_latency_and_the_verdict() -> None:
    text = summary_text(_report())
    assert "2,500/s sustained (steady 3,000/s)" in text
    assert "decision latency: p50 120 ms · p95 300 ms · p99 450 ms" in text
    assert "end to end is 12.5% of it" in text
    assert "exactly once OK" in text
    assert "2 CPUs AMD EPYC" in text
    assert "2.00 ms per transaction: 1,000/s if it had all 2 cores" in text
    assert text.endswith("verdict     OK")


def test_a_failed_check_says_what_is_wrong() -> None:
    text = summary_text(_report(ok=False))
    assert "problem: points: 9999 postings in the wallet" in text
    assert text.endswith("verdict     FAILED")
