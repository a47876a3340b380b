"""A live view of a running platform: per service throughput, dead letters, lag, and points.

`Collector` gathers one `Snapshot` from the services' /metrics endpoints, the broker (consumer
group offsets against end offsets, dead-letter topic sizes) and the database (points
outstanding). `run_view` shows snapshots in a `rich.live` table about once a second, or, where
there is no terminal (CI, logs), as one plain summary line every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console, Group, JustifyMethod
from rich.live import Live
from rich.table import Table
from rich.text import Text
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.registry import TOPICS, topics_consumed_by
from shared.db.engine import create_engine
from shared.messaging.kafka import client_kwargs
from shared.settings import KafkaSecurity

log = logging.getLogger(__name__)

POINTS_OUTSTANDING = (
    "SELECT COALESCE(SUM(balance), 0) FROM redemption.accounts WHERE currency = 'points'"
)


@dataclass(frozen=True)
class ServiceTarget:
    """Where a service's metrics are, and whether its process is still running."""

    name: str
    metrics_url: str
    alive: Callable[[], bool] = lambda: True


@dataclass(frozen=True)
class ServiceMetrics:
    """Totals of one scrape of a service's /metrics (counters since the process started)."""

    processed: float = 0.0
    duplicates: float = 0.0
    dead_lettered: float = 0.0
    relayed: float = 0.0


@dataclass(frozen=True)
class ServiceSnapshot:
    up: bool
    metrics: ServiceMetrics
    processed_per_s: float = 0.0
    relayed_per_s: float = 0.0
    lag: int | None = None


@dataclass(frozen=True)
class Snapshot:
    at: float
    elapsed: float
    services: Mapping[str, ServiceSnapshot]
    dlq_sizes: Mapping[str, int] = field(default_factory=dict)
    points_outstanding: int | None = None
    published: int = 0
    published_per_s: float = 0.0

    @property
    def dead_letters(self) -> int:
        return sum(self.dlq_sizes.values())

    def summary(self) -> dict[str, Any]:
        """The figures a script or a test reads, as plain JSON-able values."""
        return {
            "published": self.published,
            "processed": {n: int(s.metrics.processed) for n, s in self.services.items()},
            "duplicates": {n: int(s.metrics.duplicates) for n, s in self.services.items()},
            "dead_letters": self.dead_letters,
            "dead_lettered": {n: int(s.metrics.dead_lettered) for n, s in self.services.items()},
            "relayed": {n: int(s.metrics.relayed) for n, s in self.services.items()},
            "consumer_lag": {n: s.lag for n, s in self.services.items()},
            "points_outstanding": self.points_outstanding,
        }


def parse_metrics(exposition: str) -> ServiceMetrics:
    """Sum the loyalty counters of a Prometheus text exposition over topics."""
    outcomes: dict[str, float] = {}
    relayed = 0.0
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == "loyalty_messages_total":
                outcome = sample.labels.get("outcome", "")
                outcomes[outcome] = outcomes.get(outcome, 0.0) + sample.value
            elif sample.name == "loyalty_outbox_published_total":
                relayed += sample.value
    return ServiceMetrics(
        processed=outcomes.get("processed", 0.0),
        duplicates=outcomes.get("duplicate", 0.0),
        dead_lettered=outcomes.get("dead_lettered", 0.0),
        relayed=relayed,
    )


async def http_get(url: str, timeout: float = 2.0) -> str:
    """GET a plain http://host:port/path URL (the services' tiny health server)."""
    if not url.startswith("http://"):
        raise ValueError(f"only http:// URLs, not {url!r}")
    hostport, _, path = url.removeprefix("http://").partition("/")
    host, _, port = hostport.rpartition(":")
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), timeout)
    try:
        writer.write(f"GET /{path} HTTP/1.0\r\nHost: {hostport}\r\n\r\n".encode())
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode(errors="replace")
    if status_line.split()[1:2] != ["200"]:
        raise ConnectionError(f"GET {url}: {status_line}")
    return body.decode()


class Collector:
    """Gathers snapshots; rates are the difference to the previous snapshot."""

    def __init__(
        self,
        targets: list[ServiceTarget],
        bootstrap: str,
        admin_url: str,
        *,
        security: KafkaSecurity | None = None,
        published: Callable[[], int] = lambda: 0,
    ) -> None:
        self.targets = targets
        self.bootstrap = bootstrap
        self.security = security
        self.published = published
        self.started = time.monotonic()
        self._engine: AsyncEngine = create_engine(admin_url, pool_size=1)
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None
        self._previous: Snapshot | None = None
        self._connecting = asyncio.Lock()

    async def close(self) -> None:
        if self._admin is not None:
            await self._admin.close()
        if self._offsets is not None:
            await self._offsets.stop()
        await self._engine.dispose()

    async def _kafka(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        async with self._connecting:  # lag and dead-letter sizes ask at the same time
            if self._admin is None:
                admin = AIOKafkaAdminClient(
                    bootstrap_servers=self.bootstrap, **client_kwargs(self.security)
                )
                await admin.start()
                self._admin = admin
            if self._offsets is None:
                # No group: it only asks for beginning and end offsets, it never consumes.
                offsets = AIOKafkaConsumer(
                    bootstrap_servers=self.bootstrap,
                    enable_auto_commit=False,
                    **client_kwargs(self.security),
                )
                await offsets.start()
                self._offsets = offsets
            return self._admin, self._offsets

    async def collect(self) -> Snapshot:
        now = time.monotonic()
        scraped, lags, dlq, points = await asyncio.gather(
            asyncio.gather(*(self._scrape(t) for t in self.targets)),
            self._lags(),
            self._dlq_sizes(),
            self._points_outstanding(),
        )
        previous = self._previous
        interval = (now - previous.at) if previous else 0.0

        def per_s(name: str, value: float, attr: str) -> float:
            if previous is None or interval <= 0 or name not in previous.services:
                return 0.0
            before: float = getattr(previous.services[name].metrics, attr)
            return max(0.0, (value - before) / interval)

        services: dict[str, ServiceSnapshot] = {}
        for target, (up, metrics) in zip(self.targets, scraped, strict=True):
            services[target.name] = ServiceSnapshot(
                up=up,
                metrics=metrics,
                processed_per_s=per_s(target.name, metrics.processed, "processed"),
                relayed_per_s=per_s(target.name, metrics.relayed, "relayed"),
                lag=lags.get(target.name),
            )
        published = self.published()
        snapshot = Snapshot(
            at=now,
            elapsed=now - self.started,
            services=services,
            dlq_sizes=dlq,
            points_outstanding=points,
            published=published,
            published_per_s=(published - previous.published) / interval
            if previous and interval > 0
            else 0.0,
        )
        self._previous = snapshot
        return snapshot

    async def _scrape(self, target: ServiceTarget) -> tuple[bool, ServiceMetrics]:
        last = self._previous.services.get(target.name) if self._previous else None
        kept = last.metrics if last else ServiceMetrics()  # a failed scrape keeps the totals
        if not target.alive():
            return False, kept
        try:
            return True, parse_metrics(await http_get(target.metrics_url))
        except (OSError, TimeoutError, ValueError) as exc:
            log.debug("scraping %s failed: %s", target.metrics_url, exc)
            return False, kept

    async def _lags(self) -> dict[str, int | None]:
        """Per consumer group loyalty.<service>: messages not yet committed on its topics."""
        lags: dict[str, int | None] = {}
        try:
            admin, offsets = await self._kafka()
            for target in self.targets:
                partitions = [
                    TopicPartition(topic, p)
                    for topic in topics_consumed_by(target.name)
                    for p in range(TOPICS[topic].partitions)
                ]
                if not partitions:
                    lags[target.name] = None
                    continue
                committed = await admin.list_consumer_group_offsets(
                    f"loyalty.{target.name}", partitions=partitions
                )
                ends = await offsets.end_offsets(partitions)
                starts = await offsets.beginning_offsets(partitions)
                lags[target.name] = sum(
                    max(0, ends[tp] - _position(committed.get(tp), starts[tp])) for tp in partitions
                )
        except Exception as exc:  # the broker may be restarting; the view carries on
            log.debug("consumer lag unavailable: %s", exc)
        return lags

    async def _dlq_sizes(self) -> dict[str, int]:
        try:
            _admin, offsets = await self._kafka()
            partitions = [
                TopicPartition(t.dlq, p) for t in TOPICS.values() for p in range(t.partitions)
            ]
            ends = await offsets.end_offsets(partitions)
            starts = await offsets.beginning_offsets(partitions)
        except Exception as exc:
            log.debug("dead-letter topic sizes unavailable: %s", exc)
            return {}
        sizes: dict[str, int] = {}
        for tp in partitions:
            sizes[tp.topic] = sizes.get(tp.topic, 0) + ends[tp] - starts[tp]
        return sizes

    async def _points_outstanding(self) -> int | None:
        try:
            async with self._engine.connect() as conn:
                value = await conn.scalar(text(POINTS_OUTSTANDING))
        except (SQLAlchemyError, OSError) as exc:  # e.g. redemption not migrated yet
            log.debug("points outstanding unavailable: %s", exc)
            return None
        return int(value or 0)


def _position(committed: Any, start: int) -> int:
    offset = getattr(committed, "offset", -1)
    return int(offset) if offset is not None and offset >= 0 else start


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def render(snapshot: Snapshot) -> Group:
    """The live table: one row per service, then the platform's totals."""
    table = Table(title=f"loyalty up - {snapshot.elapsed:,.0f}s", expand=False)
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("service", "left"),
        ("state", "left"),
        ("events/s", "right"),
        ("processed", "right"),
        ("duplicates", "right"),
        ("dead letters", "right"),
        ("outbox/s", "right"),
        ("consumer lag", "right"),
    )
    for column, justify in columns:
        table.add_column(column, justify=justify)
    for name, service in snapshot.services.items():
        table.add_row(
            name,
            Text("up", style="green") if service.up else Text("down", style="bold red"),
            f"{service.processed_per_s:,.1f}",
            _number(service.metrics.processed),
            _number(service.metrics.duplicates),
            Text(
                _number(service.metrics.dead_lettered),
                style="red" if service.metrics.dead_lettered else "",
            ),
            f"{service.relayed_per_s:,.1f}",
            _number(service.lag),
        )
    dlq = ", ".join(f"{t} {n}" for t, n in sorted(snapshot.dlq_sizes.items()) if n) or "empty"
    footer = Text.assemble(
        ("simulator ", "bold"),
        f"published {snapshot.published:,} ({snapshot.published_per_s:,.1f}/s)   ",
        ("points outstanding ", "bold"),
        _number(snapshot.points_outstanding),
        "\n",
        ("dead-letter topics ", "bold"),
        dlq,
        "\n",
        ("Ctrl-C stops everything", "dim"),
    )
    return Group(table, footer)


def summary_line(snapshot: Snapshot) -> str:
    """One line for logs and CI: the same figures as the live table."""
    published = f"published {snapshot.published} ({snapshot.published_per_s:.0f}/s)"
    parts = [f"[{snapshot.elapsed:5.0f}s] {published}"]
    for name, service in snapshot.services.items():
        state = "" if service.up else " DOWN"
        parts.append(
            f"{name}{state} {service.processed_per_s:.0f}/s "
            f"lag {_number(service.lag)} dlq {service.metrics.dead_lettered:.0f}"
        )
    parts.append(f"dead letters {snapshot.dead_letters}")
    parts.append(f"points {_number(snapshot.points_outstanding)}")
    return " | ".join(parts)


async def run_view(
    collector: Collector,
    stop: asyncio.Event,
    *,
    live: bool,
    interval: float = 1.0,
    plain_every: float = 5.0,
) -> Snapshot | None:
    """Show snapshots until stop is set; returns the last one."""
    last: Snapshot | None = None
    if live:
        console = Console()
        with Live(console=console, refresh_per_second=4, transient=False) as view:
            while not stop.is_set():
                last = await collector.collect()
                view.update(render(last))
                await _sleep(stop, interval)
        return last
    # Without a terminal a snapshot is taken only to be printed: each costs the broker a
    # dozen admin requests, every service a /metrics scrape and PostgreSQL a scan of the
    # wallet's accounts (22 ms at 100,000 customers). The first is the rates' baseline.
    last = await collector.collect()
    while not stop.is_set():
        await _sleep(stop, plain_every)
        if stop.is_set():
            break
        last = await collector.collect()
        print(summary_line(last), flush=True)
    return last


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def is_terminal() -> bool:
    return sys.stdout.isatty()
