"""The figures of an e2e report, from what the agents, the watcher and the samples saw."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from shared.bench.stats import SendTimes, completion_curve, latency_summary, throughput
from shared.bench.workload import Workload

if TYPE_CHECKING:
    from shared.bench.e2e import Timeline
    from shared.bench.wallet import WalletWatcher


def summarise(
    workload: Workload,
    *,
    bank: dict[str, Any],
    gateway: dict[str, Any] | None,
    watcher: WalletWatcher,
    timeline: Timeline,
    complete: bool,
) -> dict[str, Any]:
    """The report's figures from what the agents, the watcher and the timeline saw."""
    send_times = SendTimes(bank.pop("chunk_starts"), bank.pop("chunk_times"))
    landed = watcher.completions()
    latencies = [(t - send_times.of(i)) * 1000 for i, t in landed]
    moments = [t for _, t in landed]
    out: dict[str, Any] = {
        "published": bank,
        "end_to_end": {
            "transactions": workload.transactions,
            "landed": len(landed),
            "complete": complete,
            "landed_by_currency": dict(watcher.counts),
            "events_redelivered": watcher.redelivered,
            "throughput": throughput(moments, bank["started_at"], workload.transactions),
            "latency": latency_summary(latencies),
            "curve": completion_curve(moments, bank["started_at"]),
        },
        "hops": _hop_summary(timeline),
        "resources": _resource_summary(timeline),
        "load_average_max_1m": max((s["load1"] for s in timeline.samples), default=None),
        "timeline": timeline.samples,
    }
    if gateway is not None:
        latencies_ms = gateway.pop("latencies_ms")
        duration = gateway["stopped_at"] - gateway["started_at"]
        out["redemptions"] = gateway | {
            "achieved_rate_per_s": round(gateway["sent"] / duration, 1) if duration > 0 else None,
            "latency": latency_summary(latencies_ms),
        }
    return out


def cpu_cost(seconds: dict[str, float], transactions: int) -> dict[str, Any]:
    """CPU the run cost, from the first publish until every hop drained.

    cpu_ms_per_transaction counts the platform only (services, broker, Postgres), not the
    benchmark's own processes; capacity_per_s is what the machine's cores could carry at
    that cost if the platform had them to itself: a bound that ignores waiting, and the
    figure to compare when other work shares the machine.
    """
    platform = {k: v for k, v in seconds.items() if not k.startswith("bench")}
    total = sum(platform.values())
    per_tx = total * 1000 / transactions if transactions else None
    cores = os.cpu_count() or 1
    return {
        "seconds": seconds,
        "platform_seconds": round(total, 2),
        "cpu_ms_per_transaction": round(per_tx, 3) if per_tx else None,
        "capacity_per_s": round(cores * 1000 / per_tx) if per_tx else None,
    }


def _hop_summary(timeline: Timeline) -> dict[str, dict[str, Any]]:
    """Per consuming service: peak lag (per topic), peak outbox, when it last caught up."""
    out: dict[str, dict[str, Any]] = {}
    samples = timeline.samples
    services = {s for sample in samples for s in sample["lag"]}
    for service in sorted(services):
        lags = [(s["t"], s["lag"].get(service, 0)) for s in samples]
        by_topic: dict[str, int] = {}
        for sample in samples:
            for topic, n in sample["lag_by_topic"].get(service, {}).items():
                by_topic[topic] = max(by_topic.get(topic, 0), n)
        caught_up = None
        for moment, n in reversed(lags):
            if n:
                break
            caught_up = moment
        out[service] = {
            "max_lag": max((n for _, n in lags), default=0),
            "max_lag_by_topic": {t: n for t, n in sorted(by_topic.items()) if n},
            "max_outbox": max((s["outbox"].get(service, 0) for s in samples), default=0),
            "caught_up_at_s": caught_up,
        }
    return out


def _resource_summary(timeline: Timeline) -> dict[str, dict[str, float]]:
    """Per component: peak and last RSS; mean and peak CPU (% of one core) under load."""
    out: dict[str, dict[str, float]] = {}
    samples = [s for s in timeline.samples if s["phase"] == "load"] or timeline.samples
    names = {n for s in samples for n in s["rss_mb"]}
    for name in sorted(names):
        rss = [s["rss_mb"].get(name, 0.0) for s in timeline.samples]
        cpu = [s["cpu_pct"].get(name, 0.0) for s in samples]
        out[name] = {
            "rss_mb_max": max(rss),
            "rss_mb_last": rss[-1],
            "cpu_pct_mean": round(sum(cpu) / len(cpu), 1),
            "cpu_pct_max": max(cpu),
        }
    return out
