"""`loyalty bench redemption`: how long the wallet takes to decide, at a rate, while points flow.

Against a running platform (`loyalty up --no-simulator`, or external infrastructure with the
services running):
1. the redeemers are registered through the CIF topic (the wallet must know them) and each
   is granted --points through an operator's adjustment (accrual posts it, the wallet makes
   a lot); the run waits until every grant is in the wallet, and then until the services'
   consumer groups have (almost) no backlog (QUIET_LAG, QUIET_TIMEOUT_S; the lags at the
   start are reported);
2. a vendor-gateway agent (its own process, shared.bench.gateway) sends `redeem` requests at
   --rate for --duration seconds and times each decision, from just before the request is
   handed to the producer until its decision is read back from the decision topic;
3. meanwhile this process publishes bank transactions at --accrual-rate, so that accrual
   and the wallet's postings compete with the decisions, as in production.
The percentiles come from shared.bench.stats; nothing here asserts a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from contracts.loyalty import AdjustmentRequested
from services.accrual.handlers import ADJUSTMENT_TOPIC
from shared.bench import probes
from shared.bench.agent import Agent
from shared.bench.bank import bank_producer, rfc3339
from shared.bench.e2e import catalogue, register_redeemers
from shared.bench.probes import LagProbe
from shared.bench.stats import latency_summary
from shared.bench.workload import BankTraffic, Workload, customer_no
from shared.infra.embedded import Endpoints

GRANT_TIMEOUT_S = 180.0
QUIET_TIMEOUT_S = 300.0  # before the load: until the backlogs are gone (else measure anyway)
QUIET_LAG = 1_000  # messages all groups together may still lag (the profile trails the rest)
TICK_S = 0.05  # the accrual publisher tops up to its rate this often


@dataclass(frozen=True)
class RedemptionBenchOptions:
    rate: float = 500.0  # redemption requests a second
    duration_s: float = 30.0
    redeemers: int = 1_000
    points: int = 1_000  # granted to each redeemer before the run
    accrual_rate: float = 200.0  # bank transactions a second meanwhile; 0: none
    customers: int = 100_000
    seed: int = 42
    run: str | None = None


def grant(workload: Workload, k: int, points: int, now: datetime) -> AdjustmentRequested:
    """The operator's adjustment that gives redeemer k points for the run."""
    return AdjustmentRequested(
        message_id=f"B{workload.run}A{k:09d}",
        sent_at=now,
        adjustment_id=grant_id(workload, k),
        customer_no=customer_no(k),
        currency="points",
        points=points,
        actor="bench",
        reason_code="benchmark",
        reason_text=f"loyalty bench redemption, run {workload.run}",
        requested_at=now,
    )


def grant_id(workload: Workload, k: int) -> str:
    return f"BENCH-{workload.run}-{k:09d}"


async def grant_points(
    bootstrap: str, pool: asyncpg.Pool, workload: Workload, points: int
) -> float:
    """Give every redeemer `points`; wait until the wallet has every grant. Returns seconds."""
    started = time.monotonic()
    producer = bank_producer(bootstrap, linger_ms=5)
    await producer.start()
    try:
        now = datetime.now(UTC)
        for k in range(workload.redeemers):
            message = grant(workload, k, points, now)
            await producer.send(
                ADJUSTMENT_TOPIC,
                message.model_dump_json().encode(),
                key=message.customer_no.encode(),
            )
        await producer.flush()
    finally:
        await producer.stop()
    postings = [f"adjust:{grant_id(workload, k)}" for k in range(workload.redeemers)]
    while True:
        landed = await pool.fetchval(
            "SELECT count(*) FROM redemption.journal_transactions "
            "WHERE kind = 'posting' AND reference = ANY($1::text[])",
            postings,
        )
        if landed >= len(postings):
            return time.monotonic() - started
        if time.monotonic() - started > GRANT_TIMEOUT_S:
            raise TimeoutError(
                f"{landed} of {len(postings)} grants in the wallet after {GRANT_TIMEOUT_S:.0f}s: "
                "are accrual and redemption running?"
            )
        await asyncio.sleep(0.2)


async def publish_accruals(
    bootstrap: str, workload: Workload, rate: float, stop: asyncio.Event
) -> dict[str, Any]:
    """Bank transactions at a steady rate until stopped (at most the workload's number)."""
    traffic = BankTraffic(workload)
    producer = bank_producer(bootstrap, linger_ms=20)
    await producer.start()
    sent, failed = 0, 0
    pending: list[asyncio.Future[Any]] = []
    started = time.monotonic()
    try:
        while not stop.is_set() and sent < workload.transactions:
            due = min(workload.transactions, int((time.monotonic() - started) * rate))
            if due > sent:
                today = date.today()  # noqa: DTZ011 (the bank's local run date)
                pending += [
                    await producer.send(message.topic, message.value, key=message.key)
                    for message in traffic.chunk(sent, due, rfc3339(time.time()), today)
                ]
                sent = due
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), TICK_S)
        outcomes = await asyncio.gather(*pending, return_exceptions=True)
        failed = sum(1 for o in outcomes if isinstance(o, BaseException))
    finally:
        await producer.stop()
    elapsed = time.monotonic() - started
    return {
        "published": sent,
        "failed": failed,
        "rate_per_s": round(sent / elapsed, 1) if elapsed > 0 else None,
    }


async def wait_quiet(bootstrap: str, timeout_s: float) -> dict[str, int]:
    """Wait until the services' groups lag by QUIET_LAG messages at most (an earlier run's
    backlog would be measured too); returns each service's lag when the load starts."""
    probe = LagProbe(bootstrap)
    await probe.start()
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            lags = {service: sum(t.values()) for service, t in (await probe.lags()).items()}
            if sum(lags.values()) <= QUIET_LAG or time.monotonic() > deadline:
                return lags
            await asyncio.sleep(1.0)
    finally:
        await probe.close()


async def run_redemption_bench(
    options: RedemptionBenchOptions, endpoints: Endpoints
) -> dict[str, Any]:
    """One run; the report holds the machine, the options and the decision latencies."""
    run_tag = options.run or secrets.token_hex(3)
    bootstrap = endpoints.kafka_bootstrap
    report: dict[str, Any] = {
        "benchmark": "redemption",
        "run": run_tag,
        "machine": probes.machine(),
        "options": asdict(options) | {"run": run_tag},
    }
    pool = await asyncpg.create_pool(endpoints.database_url, min_size=1, max_size=2)
    gateway: Agent | None = None
    try:
        originators, vendors = await catalogue(pool)
        workload = Workload(
            run=run_tag,
            transactions=max(1, int(options.accrual_rate * options.duration_s * 2)),
            customers=options.customers,
            redeemers=min(options.redeemers, options.customers),
            seed=options.seed,
            originators=originators,
        )
        report["redeemers_registered_s"] = round(
            await register_redeemers(bootstrap, pool, workload), 2
        )
        report["points_granted_s"] = round(
            await grant_points(bootstrap, pool, workload, options.points), 2
        )
        spec = {
            "bootstrap": bootstrap,
            "workload": asdict(workload),
            "rate": options.rate,
            "vendors": vendors,
        }
        gateway = Agent("gateway", spec)
        await gateway.start()
        quiet_from = time.monotonic()
        report["lag_at_start"] = await wait_quiet(bootstrap, QUIET_TIMEOUT_S)
        report["quiet_wait_s"] = round(time.monotonic() - quiet_from, 1)
        report["load_average_start"] = probes.load_average()
        stop = asyncio.Event()
        accruals = (
            asyncio.create_task(publish_accruals(bootstrap, workload, options.accrual_rate, stop))
            if options.accrual_rate > 0
            else None
        )
        gateway.go()
        await asyncio.sleep(options.duration_s)
        gateway.stop()
        stop.set()  # the accruals stop with the requests; the decisions are then drained
        report["accruals"] = await accruals if accruals is not None else None
        result = await gateway.result()
        report["load_average_end"] = probes.load_average()
    finally:
        if gateway is not None:
            await gateway.kill()
        await pool.close()
    elapsed = result["stopped_at"] - result["started_at"]
    report["redemptions"] = {
        key: result[key]
        for key in ("sent", "decided", "unanswered", "redelivered", "send_failed", "outcomes")
    } | {
        "rate_per_s": round(result["sent"] / elapsed, 1) if elapsed > 0 else None,
        "latency": latency_summary(result["latencies_ms"]),
        "way_in": latency_summary(result["way_in_ms"]),
        "way_back": latency_summary(result["way_back_ms"]),
    }
    report["ok"] = result["sent"] > 0 and result["unanswered"] == 0 and not result["send_failed"]
    return report


def hops(latency: dict[str, Any] | None) -> str:
    """A hop's p50 / p99, or '-' when the run did not measure it."""
    if not latency or latency.get("p50_ms") is None:
        return "-"
    return f"p50 {latency['p50_ms']:.1f} / p99 {latency['p99_ms']:.1f} ms"


def summary_text(report: dict[str, Any]) -> str:
    """The report for a person: what was asked, what was answered, how fast."""
    r, m = report["redemptions"], report["machine"]
    latency = r["latency"]
    accruals = report.get("accruals") or {}

    def ms(key: str) -> str:
        value = latency.get(key)
        return "-" if value is None else f"{value:.1f} ms"

    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(r["outcomes"].items()))
    answered = f"{r['decided']} decided, {r['unanswered']} unanswered"
    percentiles = f"p50 {ms('p50_ms')}, p95 {ms('p95_ms')}, p99 {ms('p99_ms')}"
    failed = f"{r['send_failed']} failed to send"
    flowing = f"{accruals.get('published', 0)} transactions at {accruals.get('rate_per_s')}/s"
    lines = [
        f"loyalty bench redemption, run {report['run']} on {m['nproc']} x {m['cpu_model']}",
        f"  ({m['date']})",
        f"requests: {r['sent']} sent at {r['rate_per_s']}/s, {answered}, {failed}",
        f"outcomes: {outcomes}",
        f"decision latency: {percentiles}, max {ms('max_ms')} (publish to decision read back)",
        f"  of which to the decision (decided_at) {hops(r.get('way_in'))}, back "
        + hops(r.get("way_back")),
        f"accruals meanwhile: {flowing}",
        f"load average: {report['load_average_start']} -> {report['load_average_end']}",
        f"consumer lag at the start: {report.get('lag_at_start')}",
    ]
    return "\n".join(lines)
