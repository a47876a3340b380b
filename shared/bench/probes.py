"""What a run watches: consumer lag per hop, outbox backlogs, memory and CPU per process."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import platform
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import psutil
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts.registry import TOPICS, topics_consumed_by
from shared.messaging.kafka import client_kwargs
from shared.settings import SERVICES, KafkaSecurity

log = logging.getLogger(__name__)

MB = 1024 * 1024


def consumer_group(service: str) -> str:
    return f"loyalty.{service}"


def hops() -> dict[str, list[str]]:
    """Each consuming service and the topics its group reads."""
    return {s: topics_consumed_by(s) for s in SERVICES if topics_consumed_by(s)}


class EndOffsets:
    """True end offsets, even from a broker whose ListOffsets is approximate.

    Tansu (the embedded broker) answers ListOffsets(latest) with the base offset of the
    partition's last record batch plus one, not its last offset plus one: a batching producer
    makes lag look smaller than it is. The fetch response's high watermark is right, so for
    every partition whose listed end moved since the last call, the last batch is fetched
    once and the high watermark read. On Apache Kafka that costs one record per partition.
    """

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=50,
            **client_kwargs(KafkaSecurity()),
        )
        self.known: dict[TopicPartition, tuple[int, int]] = {}  # listed -> true end
        self.corrected = 0  # partitions whose listed end was short of the true one

    async def start(self) -> None:
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()

    async def ends(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        listed: dict[TopicPartition, int] = await self.consumer.end_offsets(partitions)
        stale = [
            tp
            for tp in partitions
            if listed[tp] > 0 and self.known.get(tp, (-1, 0))[0] != listed[tp]
        ]
        if stale:
            await self._resolve(stale, listed)
        return {
            tp: self.known[tp][1] if self.known.get(tp, (-1, 0))[0] == listed[tp] else listed[tp]
            for tp in partitions
        }

    async def _resolve(
        self, stale: list[TopicPartition], listed: dict[TopicPartition, int]
    ) -> None:
        self.consumer.assign(stale)
        for tp in stale:
            self.consumer.seek(tp, listed[tp] - 1)
        waiting = set(stale)
        deadline = time.monotonic() + 5.0
        while waiting and time.monotonic() < deadline:
            fetched = await self.consumer.getmany(*waiting, timeout_ms=200)
            for tp, records in fetched.items():
                if not records:
                    continue
                true_end = max(records[-1].offset + 1, self.consumer.highwater(tp) or 0)
                self.corrected += true_end > listed[tp]
                self.known[tp] = (listed[tp], true_end)
                waiting.discard(tp)
                self.consumer.pause(tp)
        self.consumer.assign([])


class LagProbe:
    """Consumer lag of every service's group: end offsets minus committed offsets."""

    def __init__(self, bootstrap: str) -> None:
        self.admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap, **client_kwargs(KafkaSecurity())
        )
        self.offsets = EndOffsets(bootstrap)
        self.partitions = {
            service: [TopicPartition(t, p) for t in topics for p in range(TOPICS[t].partitions)]
            for service, topics in hops().items()
        }

    async def start(self) -> None:
        await self.admin.start()
        await self.offsets.start()

    async def close(self) -> None:
        await self.admin.close()
        await self.offsets.stop()

    async def end_offsets(self, topics: Iterable[str]) -> dict[TopicPartition, int]:
        wanted = [TopicPartition(t, p) for t in topics for p in range(TOPICS[t].partitions)]
        return await self.offsets.ends(wanted)

    async def lags(self) -> dict[str, dict[str, int]]:
        """service -> topic -> messages not yet committed by the service's group."""
        everything = sorted({tp for tps in self.partitions.values() for tp in tps})
        ends = await self.offsets.ends(everything)
        out: dict[str, dict[str, int]] = {}
        for service, partitions in self.partitions.items():
            committed = await self.admin.list_consumer_group_offsets(
                consumer_group(service), partitions=partitions
            )
            per_topic: dict[str, int] = {}
            for tp in partitions:
                meta = committed.get(tp)
                position = meta.offset if meta is not None and meta.offset >= 0 else 0
                per_topic[tp.topic] = per_topic.get(tp.topic, 0) + max(0, ends[tp] - position)
            out[service] = per_topic
        return out


async def outbox_backlogs(conn: asyncpg.Connection) -> dict[str, int]:
    """Committed events each service has not yet relayed to Kafka."""
    parts = " UNION ALL ".join(
        f"SELECT '{s}' AS service, count(*) AS n FROM \"{s}\".outbox" for s in SERVICES
    )
    try:
        rows = await conn.fetch(parts)
    except asyncpg.PostgresError as exc:
        log.debug("outbox backlog unavailable: %s", exc)
        return {}
    return {r["service"]: int(r["n"]) for r in rows}


def _args(proc: psutil.Process) -> list[str]:
    with contextlib.suppress(psutil.Error):
        return proc.cmdline()
    return []


def _runs_service(args: list[str], service: str) -> bool:
    return any(a == "run" and b == service for a, b in itertools.pairwise(args))


def _process_name(args: list[str], service: str) -> str:
    """The service, or for a process of some of its lanes (`--lanes gateway`) as `loyalty up`
    names it: `redemption-gateway`; a process of the main lane counts as the service."""
    lanes = next((b for a, b in itertools.pairwise(args) if a == "--lanes"), "main")
    return service if lanes in ("", "main") else f"{service}-{lanes.replace(',', '-')}"


def _same_platform(proc: psutil.Process, bootstrap: str) -> bool:
    """Several platforms may run on one machine: keep the one on our broker."""
    try:
        env = proc.environ()
    except psutil.Error:
        return True  # cannot tell: count it
    return env.get("LOYALTY_KAFKA_BOOTSTRAP", bootstrap) == bootstrap


def find_processes(
    bootstrap: str, database_url: str, extra: dict[str, int] | None = None
) -> dict[str, list[psutil.Process]]:
    """Service processes (cmdline `run <service>`), the broker, Postgres and the agents."""
    found: dict[str, list[psutil.Process]] = {}
    kafka_port = bootstrap.rsplit(":", 1)[-1]
    pg_port = str(urlsplit(database_url).port or 5432)
    for proc in psutil.process_iter():
        args = _args(proc)
        if not args:
            continue
        service = next((s for s in SERVICES if _runs_service(args, s)), None)
        if service is not None and _same_platform(proc, bootstrap):
            found.setdefault(_process_name(args, service), []).append(proc)
        elif Path(args[0]).name == "tansu" and any(kafka_port in a for a in args):
            found.setdefault("kafka", []).append(proc)
        elif Path(args[0]).name == "postgres" and f"-p {pg_port}" in " ".join(args):
            found.setdefault("postgres", []).append(proc)
    for name, pid in (extra or {}).items():
        with contextlib.suppress(psutil.Error):
            found[name] = [psutil.Process(pid)]
    with contextlib.suppress(psutil.Error):
        found["bench"] = [psutil.Process(os.getpid())]
    return found


@dataclass
class ResourceProbe:
    """Memory and CPU per component; Postgres counts its postmaster and every backend."""

    processes: dict[str, list[psutil.Process]]
    _known: dict[int, psutil.Process] = field(default_factory=dict)
    _cpu_first: dict[int, float] = field(default_factory=dict)
    _cpu_last: dict[int, tuple[str, float]] = field(default_factory=dict)

    def _members(self, name: str) -> list[psutil.Process]:
        members = list(self.processes.get(name, []))
        if name == "postgres":
            for root in list(members):
                with contextlib.suppress(psutil.Error):
                    members += root.children(recursive=True)
        return [self._known.setdefault(proc.pid, proc) for proc in members]

    def sample(self) -> tuple[dict[str, float], dict[str, float]]:
        """(resident MB, CPU in % of one core since the previous sample) per component.

        Memory shared between a component's processes (Postgres' shared buffers) is counted
        once: the private part of each process plus the largest shared part.
        """
        rss: dict[str, float] = {}
        cpu: dict[str, float] = {}
        for name in self.processes:
            private = shared = 0
            total_cpu = 0.0
            for proc in self._members(name):
                with contextlib.suppress(psutil.Error):
                    memory = proc.memory_info()
                    private += memory.rss - memory.shared
                    shared = max(shared, memory.shared)
                    total_cpu += proc.cpu_percent(None)
                    times = proc.cpu_times()
                    used = times.user + times.system
                    self._cpu_first.setdefault(proc.pid, used)
                    self._cpu_last[proc.pid] = (name, used)
            rss[name] = round((private + shared) / MB, 1)
            cpu[name] = round(total_cpu, 1)
        return rss, cpu

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) each component used since its processes were first seen."""
        out: dict[str, float] = {}
        for pid, (name, used) in self._cpu_last.items():
            out[name] = out.get(name, 0.0) + used - self._cpu_first[pid]
        return {name: round(seconds, 2) for name, seconds in sorted(out.items())}


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def cpu_model() -> str | None:
    """The CPU's model name as /proc/cpuinfo gives it; None where there is none."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return None


def machine() -> dict[str, Any]:
    """The machine the figures belong to."""
    model = cpu_model() or "unknown"
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "hostname": platform.node(),
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "ram_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average": load_average(),
    }


def monotonic_since(origin: float) -> float:
    return round(time.monotonic() - origin, 2)
