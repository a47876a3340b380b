"""`loyalty bench e2e`: bank transactions in, points in the wallet out, measured end to end.

Against a running platform (embedded or external):
1. the redeemers (customers the gateway will redeem for) are registered through the CIF
   topic, and the run waits until the wallet knows them;
2. the bank agent publishes N qualifying transactions as fast as the broker takes them,
   while the gateway agent sends redemption requests at a steady rate and times decisions;
3. this process watches the wallet's balance changes until every transaction's points have
   landed, sampling consumer lag per hop, outbox backlogs, memory, CPU and load meanwhile;
4. the wallet and accrual are checked for exactly-once accounting, against what the
   programme in force gives (stored first: the flat launch rule unless told otherwise),
   rated by accrual's own rule engine (shared.bench.expect);
5. the raw ceiling: the same messages are COPYed into a scratch table with no logic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import TopicPartition

from shared.bench import probes
from shared.bench.agent import Agent
from shared.bench.bank import bank_producer, rfc3339
from shared.bench.ceiling import raw_ceiling
from shared.bench.expect import FLAT_PROGRAMME, expect, programme_in_force, regenerate
from shared.bench.probes import LagProbe, ResourceProbe
from shared.bench.summary import cpu_cost, summarise
from shared.bench.verify import trace_missing, verify_exactly_once
from shared.bench.wallet import WalletWatcher
from shared.bench.workload import (
    TRANSACTION_TOPICS,
    Workload,
    customer_created,
    customer_no,
    redemption_vendor_ids,
)
from shared.infra.embedded import Endpoints

log = logging.getLogger(__name__)

REGISTER_TIMEOUT_S = 120.0
DRAIN_TIMEOUT_S = 120.0  # after the last points landed: until every hop is empty


@dataclass(frozen=True)
class E2EOptions:
    transactions: int
    customers: int = 100_000
    redeem_rate: float = 500.0
    redeemers: int = 1_000
    seed: int = 42
    ceiling: bool = True
    stall_timeout_s: float = 120.0
    sample_interval_s: float = 1.0
    chunk: int = 500
    run: str | None = None
    # Stored before the run (unless it is the latest version already); None: the one in force.
    programme: Path | None = FLAT_PROGRAMME


@dataclass
class Timeline:
    """Samples every interval: lag per hop, outbox backlog, RSS, CPU, load, progress."""

    origin: float = field(default_factory=time.monotonic)
    samples: list[dict[str, Any]] = field(default_factory=list)
    # Set once every point landed and then every group and outbox is empty.
    drained: asyncio.Event = field(default_factory=asyncio.Event)

    async def sample_until(
        self,
        stop: asyncio.Event,
        *,
        interval: float,
        lag: LagProbe,
        pool: asyncpg.Pool,
        resources: ResourceProbe,
        watcher: WalletWatcher,
    ) -> None:
        while not stop.is_set():
            moment = probes.monotonic_since(self.origin)
            try:
                lags = await lag.lags()
            except Exception as exc:  # the broker may be busy; a gap in the timeline is fine
                log.warning("lag sample failed: %s", exc)
                lags = {}
            async with pool.acquire() as conn:
                outbox = await probes.outbox_backlogs(conn)
            rss, cpu = resources.sample()
            sample = {
                "t": moment,
                "phase": "drain" if watcher.complete else "load",
                "load1": probes.load_average()[0],
                "landed": watcher.counts["points"],
                "lag": {s: sum(v.values()) for s, v in lags.items()},
                "lag_by_topic": lags,
                "outbox": outbox,
                "rss_mb": rss,
                "cpu_pct": cpu,
            }
            self.samples.append(sample)
            if sample["phase"] == "drain" and _quiet(sample):
                self.drained.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)


def _quiet(sample: dict[str, Any]) -> bool:
    lags, outbox = sample["lag"], sample["outbox"]
    return bool(lags) and not any(lags.values()) and not any(outbox.values())


async def catalogue(pool: asyncpg.Pool) -> tuple[tuple[tuple[str, str], ...], list[str]]:
    """Partners' debit-order user codes (vendor master) and vendors the wallet lets redeem.

    Without partners the run sends card spend instead of debit orders (nothing else earns);
    without vendors the gateway asks the simulator's, and the wallet decides.
    """
    try:
        rows = await pool.fetch(
            "SELECT u.user_code, v.name FROM vendor_matching.vendor_user_codes u "
            "JOIN vendor_matching.vendors v USING (vendor_id) "
            "WHERE v.partner AND v.active AND length(u.user_code) <= 4 ORDER BY u.user_code"
        )
    except asyncpg.PostgresError as exc:
        log.warning("vendor master unreadable, no debit orders: %s", exc)
        rows = []
    originators = tuple((r["user_code"], r["name"].upper()[:10]) for r in rows)
    try:
        vendors = [
            r["vendor_id"]
            for r in await pool.fetch(
                "SELECT vendor_id FROM redemption.vendors "
                "WHERE accepts_redemptions AND active ORDER BY vendor_id"
            )
        ]
    except asyncpg.PostgresError as exc:
        log.warning("the wallet's vendors are unreadable: %s", exc)
        vendors = []
    return originators, vendors or list(redemption_vendor_ids())


async def register_redeemers(bootstrap: str, pool: asyncpg.Pool, workload: Workload) -> float:
    """Publish the redeemers' CIF records; wait until the wallet knows them all."""
    started = time.monotonic()
    producer = bank_producer(bootstrap, linger_ms=5)
    await producer.start()
    try:
        stamp = rfc3339(time.time())
        for k in range(workload.redeemers):
            message = customer_created(workload, k, stamp)
            await producer.send(message.topic, message.value, key=message.key)
        await producer.flush()
    finally:
        await producer.stop()
    numbers = [customer_no(k) for k in range(workload.redeemers)]
    deadline = started + REGISTER_TIMEOUT_S
    while True:
        known = await pool.fetchval(
            "SELECT count(*) FROM redemption.customers WHERE customer_no = ANY($1::text[])",
            numbers,
        )
        if known >= len(numbers):
            return time.monotonic() - started
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"the wallet knows {known} of {len(numbers)} redeemers after "
                f"{REGISTER_TIMEOUT_S:.0f}s: is customer_profile running?"
            )
        await asyncio.sleep(0.2)


async def run_e2e(options: E2EOptions, endpoints: Endpoints) -> dict[str, Any]:
    """One benchmark run; returns the report (see docs/benchmarks.md)."""
    return await E2ERun(options, endpoints).run()


class E2ERun:
    """The steps of one run (see the module docstring), filling in its report."""

    def __init__(self, options: E2EOptions, endpoints: Endpoints) -> None:
        self.redeeming = options.redeem_rate > 0 and options.redeemers > 0
        self.options = options
        self.bootstrap, self.database_url = endpoints.kafka_bootstrap, endpoints.database_url
        self.run_tag = options.run or secrets.token_hex(3)
        self.workload = Workload(  # until run() knows the partners and the redeemers
            run=self.run_tag, transactions=options.transactions, customers=options.customers,
            redeemers=0,
        )  # fmt: skip
        self.report: dict[str, Any] = {
            "benchmark": "e2e",
            "run": self.run_tag,
            "machine": probes.machine(),
            "options": asdict(options) | {"run": self.run_tag},
        }
        self.lag = LagProbe(self.bootstrap)
        self.timeline = Timeline()
        self.agents: list[Agent] = []
        self.vendors: list[str] = []
        self.sent: tuple[list[int], list[float], date] = ([], [], date.today())  # noqa: DTZ011

    async def run(self) -> dict[str, Any]:
        programme = await programme_in_force(self.database_url, self.options.programme)
        pool = await asyncpg.create_pool(self.database_url, min_size=1, max_size=3)
        originators, self.vendors = await catalogue(pool)
        self.workload = Workload(
            run=self.run_tag,
            transactions=self.options.transactions,
            customers=self.options.customers,
            redeemers=min(self.options.redeemers, self.options.customers) if self.redeeming else 0,
            seed=self.options.seed,
            originators=originators,
        )
        self.report["catalogue"] = {
            "debit_order_originators": [list(o) for o in originators],
            "redemption_vendors": self.vendors,
        }
        self.watcher = WalletWatcher(self.bootstrap, self.workload)
        await self.lag.start()
        try:
            if self.workload.redeemers:
                registered = await register_redeemers(self.bootstrap, pool, self.workload)
                self.report["redeemers_registered_s"] = round(registered, 2)
            esb_start = await self.lag.end_offsets(TRANSACTION_TOPICS)
            await self.watcher.start()
            bank, gateway = await self._start_agents()
            await self._load(pool, bank, gateway)
            esb_end = await self.lag.end_offsets(TRANSACTION_TOPICS)
            started = time.monotonic()
            starts, times, today = self.sent
            expectation = expect(
                programme,
                regenerate(
                    self.workload, starts, times, today, self.report["published"]["published"]
                ),
            )
            self.report["expectation_s"] = round(time.monotonic() - started, 2)
            async with pool.acquire() as conn:
                self.report["exactly_once"] = await verify_exactly_once(
                    conn, self.workload, expected=expectation.as_dict()
                )
                missing = self.watcher.missing()
                if missing:
                    self.report["missing"] = await trace_missing(
                        conn, [self.workload.transaction_id(i) for i in missing]
                    )
            if self.options.ceiling:
                await self._ceiling(esb_start, esb_end)
        finally:
            for agent in self.agents:
                await agent.kill()
            await self.watcher.stop()
            await self.lag.close()
            await pool.close()
        self.report["ok"] = bool(self.report["exactly_once"]["ok"]) and bool(
            self.report["end_to_end"]["complete"]
        )
        return self.report

    async def _start_agents(self) -> tuple[Agent, Agent | None]:
        spec = {
            "bootstrap": self.bootstrap,
            "workload": asdict(self.workload),
            "chunk": self.options.chunk,
        }
        bank = Agent("bank", spec)
        self.agents.append(bank)
        await bank.start()
        if not self.workload.redeemers:
            return bank, None
        gateway = Agent(
            "gateway",
            spec | {"rate": self.options.redeem_rate, "vendors": self.vendors},
        )
        self.agents.append(gateway)
        await gateway.start()
        return bank, gateway

    async def _load(self, pool: asyncpg.Pool, bank: Agent, gateway: Agent | None) -> None:
        """Publish, redeem and watch until the points landed and the pipeline drained."""
        found = probes.find_processes(
            self.bootstrap,
            self.database_url,
            {f"bench.{a.role}": a.pid for a in self.agents if a.pid is not None},
        )
        resources = ResourceProbe(found)
        resources.sample()  # primes the CPU counters
        self.report["processes"] = {name: [p.pid for p in procs] for name, procs in found.items()}
        self.report["load_average_start"] = probes.load_average()
        await self.lag.lags()  # resolves every partition's end once, before the clock runs
        sampling_stop = asyncio.Event()
        sampling = asyncio.create_task(
            self.timeline.sample_until(
                sampling_stop, interval=self.options.sample_interval_s, lag=self.lag,
                pool=pool, resources=resources, watcher=self.watcher,
            )
        )  # fmt: skip
        published = asyncio.Event()
        self.timeline.origin = time.monotonic()  # t = 0: the bank starts publishing
        for agent in self.agents:
            agent.go()
        watching = asyncio.create_task(self.watcher.watch(published, self.options.stall_timeout_s))
        bank_result = await bank.result()
        published.set()
        self.sent = (
            list(bank_result["chunk_starts"]),
            list(bank_result["chunk_times"]),
            date.fromisoformat(bank_result["today"]),
        )
        complete = await watching
        gateway_result = None
        if gateway is not None:
            gateway.stop()
            gateway_result = await gateway.result()
        if complete:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.timeline.drained.wait(), DRAIN_TIMEOUT_S)
        sampling_stop.set()
        await sampling
        resources.sample()
        self.report["cpu"] = cpu_cost(resources.cpu_seconds(), self.workload.transactions)
        self.report["load_average_end"] = probes.load_average()
        self.report["broker_end_offsets_corrected"] = self.lag.offsets.corrected
        self.report.update(
            summarise(
                self.workload, bank=bank_result, gateway=gateway_result,
                watcher=self.watcher, timeline=self.timeline, complete=complete,
            )
        )  # fmt: skip

    async def _ceiling(
        self, starts: dict[TopicPartition, int], ends: dict[TopicPartition, int]
    ) -> None:
        self.report["load_average_ceiling"] = probes.load_average()
        ceiling = await raw_ceiling(
            self.bootstrap, self.database_url, self.workload.run, starts, ends
        )
        ours = self.report["end_to_end"]["throughput"]["overall_per_s"]
        rate = ceiling["rate_per_s"]
        ceiling["fraction"] = round(ours / rate, 3) if ours and rate else None
        self.report["ceiling"] = ceiling
