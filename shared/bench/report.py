"""The human summary of a benchmark report (the JSON holds everything)."""

from __future__ import annotations

from typing import Any


def _n(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _latency(summary: dict[str, Any]) -> str:
    return " · ".join(
        f"{label} {_n(summary.get(key))} ms"
        for label, key in (("p50", "p50_ms"), ("p95", "p95_ms"), ("p99", "p99_ms"),
                           ("max", "max_ms"))
    )  # fmt: skip


def summary_text(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"loyalty bench e2e · run {report['run']} · {m['date']}",
        f"machine     {m['nproc']} CPUs {m['cpu_model']}, {m['ram_gb']} GB RAM, {m['os']}",
        (
            f"load avg    start {report.get('load_average_start')} · end "
            f"{report.get('load_average_end')} · max 1-min {report.get('load_average_max_1m')}"
        ),
    ]
    pub = report["published"]
    topics = " · ".join(f"{t.split('.')[1]} {_n(n)}" for t, n in sorted(pub["by_topic"].items()))
    lines.append(
        f"published   {_n(pub['published'])} transactions in "
        f"{_n(pub['finished_at'] - pub['started_at'], 1)} s ({_n(pub['rate_per_s'])}/s; "
        f"{topics}); {pub['failed']} failed"
    )
    e2e = report["end_to_end"]
    tp = e2e["throughput"]
    lines += [
        f"end to end  {_n(e2e['landed'])} of {_n(e2e['transactions'])} in the wallet after "
        f"{_n(tp['elapsed_s'], 1)} s: {_n(tp['overall_per_s'])}/s sustained "
        f"(steady {_n(tp['steady_per_s'])}/s)" + ("" if e2e["complete"] else " INCOMPLETE"),
        f"            bank sent_at -> wallet: {_latency(e2e['latency'])}",
    ]
    red = report.get("redemptions")
    if red:
        outcomes = " · ".join(f"{k} {_n(v)}" for k, v in sorted(red["outcomes"].items()))
        lines += [
            (
                f"redemptions {report['options']['redeem_rate']:g}/s asked, "
                f"{_n(red['achieved_rate_per_s'])}/s sent: {_n(red['sent'])} sent, "
                f"{_n(red['decided'])} decided, {_n(red['unanswered'])} unanswered"
            ),
            f"            decision latency: {_latency(red['latency'])}",
            f"            {outcomes}",
        ]
    lines.append(_exactly_once(report["exactly_once"]))
    ceiling = report.get("ceiling")
    if ceiling:
        fraction = ceiling.get("fraction")
        lines.append(
            f"ceiling     aiokafka + COPY, no logic: {_n(ceiling['messages'])} in "
            f"{_n(ceiling['elapsed_s'], 1)} s ({_n(ceiling['rate_per_s'])}/s); "
            f"end to end is {_n(fraction * 100 if fraction else None, 1)}% of it"
        )
    cpu = report.get("cpu")
    if cpu:
        lines.append(
            f"cpu         platform {_n(cpu['platform_seconds'], 1)} s = "
            f"{_n(cpu['cpu_ms_per_transaction'], 2)} ms per transaction: "
            f"{_n(cpu['capacity_per_s'])}/s if it had all {report['machine']['nproc']} cores"
        )
    lines.append("hops        service            max lag  max outbox  caught up at")
    for service, hop in report["hops"].items():
        lines.append(
            f"            {service:<17} {_n(hop['max_lag']):>8}  {_n(hop['max_outbox']):>10}"
            f"  {_n(hop['caught_up_at_s'], 1):>8} s"
        )
    lines.append("resources   component          RSS max MB  CPU mean %  CPU max %  CPU s")
    seconds = cpu["seconds"] if cpu else {}
    for name, res in report["resources"].items():
        lines.append(
            f"            {name:<17} {_n(res['rss_mb_max'], 1):>10}  "
            f"{_n(res['cpu_pct_mean'], 1):>10}  {_n(res['cpu_pct_max'], 1):>9}"
            f"  {_n(seconds.get(name), 1):>5}"
        )
    lines.append("verdict     " + ("OK" if report["ok"] else "FAILED"))
    return "\n".join(lines)


def _exactly_once(check: dict[str, Any]) -> str:
    parts = [
        f"{currency} {_n(row['distinct_transactions'])} transactions, "
        f"{_n(row['postings'])} postings, {_n(row['points_credited'])} points"
        for currency, row in check["currencies"].items()
    ]
    head = "OK" if check["ok"] else "FAILED"
    text = f"exactly once {head}: " + "; ".join(parts)
    expected = check.get("expected")
    if expected:
        p = expected["programme"]
        how = (
            "as expected"
            if expected["exact"]
            else "not predicted exactly: " + "; ".join(expected["reasons"])
        )
        text += f"\n            programme {p['name']} v{p['version']}: points {how}"
    if check["problems"]:
        text += "\n" + "\n".join(f"            problem: {p}" for p in check["problems"])
    return text
