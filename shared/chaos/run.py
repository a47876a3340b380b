"""`loyalty chaos`: traffic through a platform that keeps being killed, then the reckoning.

1. a platform of its own (embedded infrastructure under a project-local home);
2. every customer's CIF record, and a wait until accrual and the wallet know them all;
3. N transactions at a steady rate, with duplicate deliveries and poison messages mixed in,
   while a chaos monkey SIGKILLs a random service at K random moments (restarting it after a
   random pause) and crashes PostgreSQL once;
4. a drain (zero consumer lag, empty outboxes), `verify`, and a comparison of the wallet with
   what the generated traffic alone says it must hold: lost and duplicated effects.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import text

from shared.chaos.outcome import PoisonSent, measure
from shared.chaos.platform import ChaosPlatform
from shared.chaos.traffic import UNKNOWN_VENDOR, VENDORS, Outgoing, Traffic
from shared.db.engine import create_engine
from shared.messaging.kafka import producer_kwargs
from shared.settings import SERVICES
from shared.verify_cli import run_verify, wait_quiet

Log = Callable[[str], None]
# The launch rule as a programme: the oracle of the expectation (shared/chaos/traffic.py).
FLAT_PROGRAMME = Path(__file__).parents[2] / "services" / "accrual" / "programme" / "flat.yaml"


@dataclass(frozen=True)
class ChaosConfig:
    transactions: int
    kills: int
    seed: int = 7
    rate: float = 250.0  # transactions a second
    customers: int | None = None  # default: one per 20 transactions, 50 to 5,000
    duplicate_rate: float = 0.05
    poison_rate: float = 0.01
    postgres_restarts: int = 1
    drain_timeout_s: float = 1800.0
    home: Path | None = None
    keep: bool = False

    @property
    def customer_count(self) -> int:
        return self.customers or max(50, min(5000, self.transactions // 20))


@dataclass
class Monkey:
    """Applies faults one after another, at random moments, on its own task."""

    platform: ChaosPlatform
    rng: random.Random
    log: Log
    faults: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    kills: Counter[str] = field(default_factory=Counter)
    restarts: int = 0
    postgres_restarts: int = 0
    crashed: list[str] = field(default_factory=list)  # died without being killed
    victims: list[str] = field(default_factory=list)

    async def run(self) -> None:
        while (fault := await self.faults.get()) != "stop":
            self._revive_crashed()
            await asyncio.sleep(self.rng.uniform(0.0, 1.0))
            if fault == "postgres":
                self.log("chaos: PostgreSQL crash (immediate stop) and restart")
                await self.platform.restart_postgres()
                self.postgres_restarts += 1
                continue
            victim = self._next_victim()
            self.platform.kill(victim)
            self.kills[victim] += 1
            pause = self.rng.uniform(0.2, 3.0)
            self.log(f"chaos: SIGKILL {victim}; restarting in {pause:.1f}s")
            await asyncio.sleep(pause)
            self.platform.spawn(victim)
            self.restarts += 1
        self._revive_crashed()

    def _next_victim(self) -> str:
        """Random, but every service in turn: each run of five kills hits all five once."""
        if not self.victims:
            self.victims = list(SERVICES)
            self.rng.shuffle(self.victims)
        return self.victims.pop()

    def _revive_crashed(self) -> None:
        for name in self.platform.dead_services():
            self.crashed.append(name)
            self.log(f"chaos: {name} had died by itself; restarting it")
            self.platform.spawn(name)
            self.restarts += 1


def fault_schedule(rng: random.Random, transactions: int, kills: int, pg: int) -> dict[int, str]:
    """At which transaction index each fault is let loose (kills anywhere, PostgreSQL mid-run)."""
    slots = rng.sample(range(1, max(transactions, kills + pg + 1)), kills + pg)
    schedule = dict.fromkeys(slots[:kills], "kill")
    middle = [i for i in range(transactions // 3, 2 * transactions // 3 + 1) if i not in schedule]
    for index in rng.sample(middle or [transactions], pg):
        schedule[index] = "postgres"
    return schedule


async def _publish(producer: AIOKafkaProducer, batch: Sequence[Outgoing]) -> list[Any]:
    futures = [await producer.send(m.topic, value=m.value, key=m.key.encode()) for m in batch]
    return list(await asyncio.gather(*futures))


async def _wait_known(
    database_url: str, customers: set[str], vendors: set[str], timeout_s: float
) -> None:
    """Who earns and where points are accepted is settled before anyone transacts."""
    engine = create_engine(database_url, pool_size=1)
    wanted = {
        "accrual.customer_classes": (customers, "customer_no"),
        "redemption.customers": (customers, "customer_no"),
        "redemption.vendors": (vendors, "vendor_id"),
    }
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            async with engine.connect() as conn:
                missing = {
                    table: len(ids)
                    - (await conn.scalar(
                        text(f"SELECT count(*) FROM {table} WHERE {column} = ANY(:ids)"),
                        {"ids": sorted(ids)},
                    ) or 0)
                    for table, (ids, column) in wanted.items()
                }  # fmt: skip
            if not any(missing.values()):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"still unknown after {timeout_s:.0f}s: {missing}")
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()


@dataclass
class Sent:
    duplicates: int = 0
    poison: list[PoisonSent] = field(default_factory=list)


def _next_batch(
    config: ChaosConfig,
    traffic: Traffic,
    rng: random.Random,
    count: int,
) -> list[tuple[str, Outgoing]]:
    """`count` transactions, each perhaps followed by a duplicate or a poison message."""
    batch: list[tuple[str, Outgoing]] = []
    for _ in range(count):
        batch.append(("transaction", traffic.next_transaction()))
        if rng.random() < config.duplicate_rate:
            batch.append(("duplicate", traffic.duplicate()))
        if rng.random() < config.poison_rate:
            batch.append(("poison", traffic.poison()))
    return batch


async def _drive(
    config: ChaosConfig, traffic: Traffic, producer: AIOKafkaProducer, monkey: Monkey, log: Log
) -> Sent:
    """N transactions at the configured rate; duplicates, poison and faults along the way."""
    rng = random.Random(config.seed + 1)  # noqa: S311 (a simulation)
    schedule = fault_schedule(rng, config.transactions, config.kills, config.postgres_restarts)
    sent = Sent()
    chunk = max(1, int(config.rate / 10))
    report_every = max(chunk, config.transactions // 10)
    started = time.monotonic()
    done = 0
    while done < config.transactions:
        count = min(chunk, config.transactions - done)
        for index in range(done + 1, done + count + 1):
            if fault := schedule.get(index):
                monkey.faults.put_nowait(fault)
        batch = _next_batch(config, traffic, rng, count)
        results = await _publish(producer, [message for _, message in batch])
        for (kind, _), metadata in zip(batch, results, strict=True):
            sent.duplicates += kind == "duplicate"
            if kind == "poison":
                sent.poison.append(PoisonSent(metadata.topic, metadata.partition, metadata.offset))
        if done // report_every != (done + count) // report_every:
            log(f"chaos: {done + count:,} of {config.transactions:,} transactions sent")
        done += count
        ahead = done / config.rate - (time.monotonic() - started)
        if ahead > 0:
            await asyncio.sleep(ahead)
    return sent


async def run_chaos(config: ChaosConfig, log: Log = print) -> dict[str, Any]:
    """The whole run; returns the summary (see the module docstring)."""
    home = config.home or Path(".loyalty") / f"chaos-{os.getpid()}"
    platform = ChaosPlatform(home, keep=config.keep, programme=FLAT_PROGRAMME)
    load_before = os.getloadavg()
    began = time.monotonic()
    log(f"chaos: starting a platform under {home}")
    try:
        await platform.start()
        endpoints = platform.endpoints
        traffic = Traffic(config.seed, config.customer_count)
        producer = AIOKafkaProducer(
            bootstrap_servers=endpoints.kafka_bootstrap, **producer_kwargs()
        )
        await producer.start()
        try:
            await _publish(producer, traffic.customers())
            accepting = set(VENDORS) - {UNKNOWN_VENDOR}
            await _wait_known(endpoints.database_url, traffic.expect.customers, accepting, 300)
            log(f"chaos: {config.customer_count:,} customers known; traffic starts")
            monkey = Monkey(platform, random.Random(config.seed + 2), log)  # noqa: S311
            monkey_task = asyncio.create_task(monkey.run())
            traffic_began = time.monotonic()
            stats = await _drive(config, traffic, producer, monkey, log)
            traffic_s = time.monotonic() - traffic_began
        finally:
            await producer.stop()
        monkey.faults.put_nowait("stop")
        await monkey_task
        await platform.wait_ready(list(SERVICES))
        log("chaos: traffic and faults done; draining")
        drain_began = time.monotonic()
        drained = await wait_quiet(
            endpoints.database_url, endpoints.kafka_bootstrap, config.drain_timeout_s
        )
        drain_s = time.monotonic() - drain_began
        report = await run_verify(endpoints.database_url, endpoints.kafka_bootstrap)
        outcome = await measure(endpoints.database_url, traffic.expect, stats.poison,
                                report.dead_letters)  # fmt: skip
    finally:
        with contextlib.suppress(Exception):
            await platform.stop()
    lost, duplicated = sum(outcome.lost.values()), sum(outcome.duplicated.values())
    verdict = report.to_json(limit=20)
    return {
        "transactions": config.transactions,
        "customers": config.customer_count,
        "kills": sum(monkey.kills.values()),
        "restarts": monkey.restarts,
        "postgres_restarts": monkey.postgres_restarts,
        "duplicates": stats.duplicates,
        "poison_messages": len(stats.poison),
        "lost": lost,
        "duplicated": duplicated,
        "invariants_ok": report.ok,
        "drained": drained,
        "ok": lost == 0
        and duplicated == 0
        and report.ok
        and drained
        and not outcome.unexpected_dead_letters
        and outcome.wrong_points == 0,
        "kills_by_service": dict(monkey.kills),
        "crashed_by_themselves": monkey.crashed,
        "violations": verdict["violations"],
        "violations_by_check": verdict["violations_by_check"],
        "dead_letters": len(report.dead_letters),
        "dead_letter_reasons": verdict["dead_letter_reasons"],
        **outcome.to_json(),
        "traffic_by_kind": dict(traffic.stats),
        "seed": config.seed,
        "rate": config.rate,
        "seconds": {
            "traffic": round(traffic_s, 1),
            "drain": round(drain_s, 1),
            "total": round(time.monotonic() - began, 1),
        },
        "load_average": {"before": load_before, "after": os.getloadavg()},
    }
