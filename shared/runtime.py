"""`loyalty run SERVICE`: one long-lived service process.

It consumes its topics in batches (FastStream over aiokafka, manual acks), a consumer per lane
(shared.messaging.uow.Subscription.lane) in the service's group, relays its outbox,
runs the service's background workers, and serves /healthz, /readyz and /metrics.
SIGTERM stops consumption, lets the batch in hand finish, drains the outbox and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.message import StreamMessage
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp

from shared.db.engine import create_engine, runtime_url
from shared.health import HealthServer
from shared.infra.resolve import resolve_endpoints
from shared.logs import configure
from shared.messaging.consumer import BatchProcessor, DeadLetter, dead_letter_headers, describe
from shared.messaging.kafka import client_kwargs, producer_kwargs
from shared.messaging.pacing import FetchPacer
from shared.messaging.relay import OutboxRelay
from shared.messaging.uow import MAIN_LANE, Subscription
from shared.query_server import QueryServer
from shared.settings import KafkaSecurity, PlatformSettings, ServiceSettings, service_settings

log = logging.getLogger(__name__)


@dataclass
class ServiceContext:
    """What a service's background worker may use."""

    name: str
    engine: AsyncEngine
    settings: ServiceSettings
    stop: asyncio.Event


Worker = Callable[[ServiceContext], Coroutine[Any, Any, None]]
# The service's HTTP query API over its runtime-role engine, served when `query_port` is set.
HttpApp = Callable[[AsyncEngine], ASGIApp]


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    subscriptions: Sequence[Subscription]
    workers: Sequence[Worker] = field(default_factory=tuple)
    http_app: HttpApp | None = None


class ProducerDeadLetters:
    """Publishes dead letters to `<topic>.dlq` with the original bytes and the reason."""

    def __init__(self, producer: AIOKafkaProducer, service: str) -> None:
        self.producer, self.service = producer, service

    async def send(self, letters: Sequence[DeadLetter]) -> None:
        futures = [
            await self.producer.send(
                f"{letter.record.topic}.dlq",
                value=letter.record.value,
                key=letter.record.key,
                headers=dead_letter_headers(letter, self.service),
            )
            for letter in letters
        ]
        await asyncio.gather(*futures)


def _kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def _undecoded(message: StreamMessage[Any]) -> None:
    """The batch handler reads the raw records (BatchProcessor validates them against their
    contracts), so FastStream's own decoding, a message object and a json.loads per record,
    is skipped: it was a tenth of a busy consumer's time."""
    del message


def consumer_group(service: str) -> str:
    return f"loyalty.{service}"


def build_broker(bootstrap: str, security: KafkaSecurity) -> KafkaBroker:
    kwargs = client_kwargs(security)
    kwargs.pop("security_protocol", None)
    return KafkaBroker(
        bootstrap,
        enable_idempotence=False,
        logger=logging.getLogger("faststream"),
        log_level=logging.DEBUG,
        client_id="loyalty",
        **_faststream_security(security),
    )


def _faststream_security(security: KafkaSecurity) -> dict[str, Any]:
    if security.security_protocol == "PLAINTEXT":
        return {}
    from faststream.security import (  # noqa: PLC0415  (only when security is configured)
        BaseSecurity,
        SASLPlaintext,
        SASLScram256,
        SASLScram512,
    )

    ssl_context = client_kwargs(security).get("ssl_context")
    use_ssl = security.security_protocol.endswith("SSL")
    if security.security_protocol == "SSL":
        return {"security": BaseSecurity(ssl_context=ssl_context, use_ssl=True)}
    password = security.sasl_password.get_secret_value() if security.sasl_password else ""
    cls = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}
    mechanism = cls[security.sasl_mechanism or "PLAIN"]
    return {
        "security": mechanism(
            username=security.sasl_username or "",
            password=password,
            ssl_context=ssl_context,
            use_ssl=use_ssl,
        )
    }


def process_lanes(definition: ServiceDefinition, only: str) -> dict[str, list[Subscription]]:
    """The subscriptions of each lane this process consumes: every lane when `only` is
    empty, else those named (comma-separated). A service's lanes may so run in processes
    of their own (the wallet's gateway lane: a backlog of postings then shares no event
    loop with the decisions); they stay members of the service's one consumer group."""
    lanes: dict[str, list[Subscription]] = {}
    for subscription in definition.subscriptions:
        lanes.setdefault(subscription.lane, []).append(subscription)
    wanted = [name.strip() for name in only.split(",") if name.strip()]
    unknown = sorted(set(wanted) - set(lanes))
    if unknown:
        raise ValueError(
            f"{definition.name} has no lane {', '.join(unknown)}; its lanes: {', '.join(lanes)}"
        )
    return {name: subs for name, subs in lanes.items() if not wanted or name in wanted}


def process_workers(
    definition: ServiceDefinition, lanes: Mapping[str, object], settings: ServiceSettings
) -> Sequence[Worker]:
    """The service's background workers this process runs: all of them where its main lane
    runs, unless LOYALTY_<SERVICE>_WORKERS is off; none in a process of other lanes only."""
    return definition.workers if MAIN_LANE in lanes and settings.workers else ()


def relay_standby(lanes: Mapping[str, object], settings: ServiceSettings) -> float | None:
    """None where the main lane runs (the relay's home); elsewhere how long the process, a
    stand-in, waits between its tries for the relay and relays when it has it."""
    return None if MAIN_LANE in lanes else settings.relay_standby_seconds


def lane_timing(lane: str, settings: ServiceSettings) -> dict[str, int]:
    """How long a lane's consumer waits: the main lane for big batches, the others (someone
    is waiting for the answer) briefly."""
    if lane == MAIN_LANE:
        return {
            "fetch_max_wait_ms": settings.fetch_max_wait_ms,
            "batch_timeout_ms": settings.batch_timeout_ms,
        }
    return {
        "fetch_max_wait_ms": settings.lane_fetch_max_wait_ms,
        "batch_timeout_ms": settings.lane_batch_timeout_ms,
    }


def lane_pacer(lane: str, settings: ServiceSettings, subscriber: Any) -> FetchPacer | None:
    """The other lanes fetch with a short wait while records come and a long one once idle
    (shared.messaging.pacing); the main lane's wait is long already."""
    if lane == MAIN_LANE:
        return None
    busy = lane_timing(lane, settings)  # what the lane's subscriber was given
    pacer = FetchPacer(
        subscriber,
        busy_ms=busy["fetch_max_wait_ms"],
        idle_ms=settings.lane_idle_fetch_max_wait_ms,
        busy_batch_timeout_ms=busy["batch_timeout_ms"],
        idle_batch_timeout_ms=settings.lane_idle_batch_timeout_ms,
        idle_after_s=settings.lane_idle_after_ms / 1000,
    )
    return pacer if pacer.enabled else None


def fetch_limits(settings: ServiceSettings) -> dict[str, int]:
    """What one fetch of a consumer may bring back. A consumer keeps a fetch's records until
    they are consumed, so under a backlog each of a process's consumers holds about this
    much (aiokafka's defaults, 50 MiB and 1 MiB a partition, took customer_profile's four
    consumers past 230 MB in a 100,000-transaction run)."""
    return {
        "fetch_max_bytes": settings.fetch_max_bytes,
        "max_partition_fetch_bytes": settings.max_partition_fetch_bytes,
    }


def _prompt_producer(
    lanes: Mapping[str, Sequence[Subscription]], bootstrap: str, security: KafkaSecurity
) -> AIOKafkaProducer | None:
    """The producer of the events published at once (a decision answers someone waiting),
    when this process's lanes have any: it sends at once, where the relay's waits linger_ms
    to fill its batches."""
    if not any(s.publish_at_once for lane in lanes.values() for s in lane):
        return None
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap, **(producer_kwargs(security) | {"linger_ms": 0})
    )


def _subscribe_lane(
    broker: KafkaBroker,
    name: str,
    processor: BatchProcessor,
    settings: ServiceSettings,
    group: str,
    stop: asyncio.Event,
) -> Lane:
    """One consumer in the service's group for a lane's topics; returns the lane."""
    lane = Lane()
    timing = lane_timing(name, settings)

    async def on_batch(message: KafkaMessage) -> None:
        async with lane.consuming:
            if stop.is_set():
                await message.nack()  # rewinds: redelivered after restart
                return
            records = message.raw_message
            batch = records if isinstance(records, tuple) else (records,)
            if lane.pacer is not None:
                lane.pacer.records_arrived()
            await processor.process(batch)
            lane.processed(message, batch)

    subscriber = broker.subscriber(
        *processor.subscriptions,
        batch=True,
        group_id=group,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        max_records=settings.batch_size,
        batch_timeout_ms=timing["batch_timeout_ms"],
        fetch_max_wait_ms=timing["fetch_max_wait_ms"],
        # fetch_limits(settings), spelled out: FastStream's overloads do not type a **dict
        fetch_max_bytes=settings.fetch_max_bytes,
        max_partition_fetch_bytes=settings.max_partition_fetch_bytes,
        decoder=_undecoded,
    )
    subscriber(on_batch)
    lane.pacer = lane_pacer(name, settings, subscriber)
    return lane


@dataclass
class Lane:
    """A lane's consumer side: one batch at a time, and its offsets committed off the
    batches' path.

    A batch's offsets are committed after its database transaction, by a task of their own:
    the next batch need not wait for the broker's answer (a round trip a batch, 36 ms at
    p99 on a loaded Tansu). Only processed records' offsets are committed, the highest of
    each partition, in order. One lost to a crash or a rebalance means a redelivery, which
    the inbox makes harmless (a repeated request gets its original decision again).
    """

    consuming: asyncio.Lock = field(default_factory=asyncio.Lock)
    pacer: FetchPacer | None = None  # its waits while idle (a lane other than the main one)
    _pending: dict[TopicPartition, int] = field(default_factory=dict)
    _consumer: Any = None
    _committing: asyncio.Task[None] | None = None

    def processed(self, message: KafkaMessage, records: Sequence[Any]) -> None:
        """The batch is applied: commit its offsets soon."""
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            self._pending[tp] = max(self._pending.get(tp, 0), record.offset + 1)
        self._consumer = getattr(message, "consumer", None)
        if self._committing is None or self._committing.done():
            self._committing = asyncio.create_task(self._commit(), name="offset-commits")

    async def _commit(self) -> None:
        while self._pending:
            offsets, self._pending = self._pending, {}
            try:
                await self._consumer.commit(offsets)
            except Exception as exc:  # redelivered after a restart: the inbox drops them
                log.warning("committing offsets failed: %s", describe(exc))

    async def finish(self) -> None:
        """Wait for the batch in hand, then for its offsets' commit (at the stop)."""
        async with self.consuming:
            if self._committing is not None:
                await self._committing


async def _start_query_api(
    definition: ServiceDefinition, engine: AsyncEngine, settings: ServiceSettings
) -> QueryServer | None:
    if definition.http_app is None or settings.query_port is None:
        return None
    query = QueryServer(definition.http_app(engine), settings.query_host, settings.query_port)
    port = await query.start()
    log.info("%s query API on http://%s:%d", definition.name, settings.query_host, port)
    return query


async def run_service(
    definition: ServiceDefinition,
    platform: PlatformSettings | None = None,
    settings: ServiceSettings | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    platform = platform or PlatformSettings()
    settings = settings or service_settings(definition.name)
    security = KafkaSecurity()
    endpoints = resolve_endpoints(platform)
    stop = stop or asyncio.Event()
    engine = create_engine(
        runtime_url(definition.name, endpoints.database_url, platform, settings),
        pool_size=settings.db_pool_size,
        socket_dir=platform.database_socket_dir,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=endpoints.kafka_bootstrap, **producer_kwargs(security)
    )
    broker = build_broker(endpoints.kafka_bootstrap, security)
    lanes = process_lanes(definition, settings.lanes)
    prompt_producer = _prompt_producer(lanes, endpoints.kafka_bootstrap, security)
    relay = OutboxRelay(
        definition.name,
        engine,
        producer,
        batch_size=settings.relay_batch_size,
        idle_s=settings.relay_idle_ms / 1000,
        prompt_topics=frozenset(t for s in definition.subscriptions for t in s.publish_at_once),
        prompt_producer=prompt_producer,
        standby_s=relay_standby(lanes, settings),
    )
    # One lock a lane: a lane handles one batch at a time, and a stop waits for each.
    processors = {
        name: BatchProcessor(
            service=definition.name,
            engine=engine,
            subscriptions={s.topic: s for s in lane},
            dead_letters=ProducerDeadLetters(producer, definition.name),
            max_retries=settings.max_retries,
            after_commit=(_kill_self if settings.fault_injection == "kill_after_commit" else None),
            publish_soon=relay.publish_soon if settings.relay_enabled else None,
        )
        for name, lane in lanes.items()
    }
    consumers = [
        _subscribe_lane(
            broker,
            name,
            processor,
            settings,
            settings.consumer_group or consumer_group(definition.name),
            stop,
        )
        for name, processor in processors.items()
    ]

    async def ready() -> bool:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    health = HealthServer(settings.http_host, settings.http_port, ready)
    port = await health.start()
    log.info("%s health and metrics on http://%s:%d", definition.name, settings.http_host, port)
    query = await _start_query_api(definition, engine, settings)

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    producers = [p for p in (producer, prompt_producer) if p is not None]
    for started in producers:
        await started.start()
    context = ServiceContext(definition.name, engine, settings, stop)
    tasks = (
        [
            asyncio.create_task(relay.run(stop), name="outbox-relay"),
            asyncio.create_task(relay.run_soon(stop), name="outbox-publish-soon"),
        ]
        if settings.relay_enabled
        else []
    )
    tasks += [
        asyncio.create_task(w(context), name=w.__name__)
        for w in process_workers(definition, lanes, settings)
    ]
    tasks += [
        asyncio.create_task(lane.pacer.run(stop), name="fetch-pacer")
        for lane in consumers
        if lane.pacer is not None
    ]
    try:
        await broker.start()
        log.info("%s started, lanes: %s", definition.name, ", ".join(lanes))
        await stop.wait()
        log.info("%s stopping: finishing the batch in hand", definition.name)
        for lane in consumers:  # the batches in hand complete and are committed
            await lane.finish()
        await relay.finish_soon()  # and what they handed over to publish at once is
        await broker.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for task in tasks:
            task.cancel()
        for processor in processors.values():
            await processor.close()
        for started in producers:
            await started.stop()
        if query is not None:
            await query.stop()
        await health.stop()
        await engine.dispose()
        log.info("%s stopped", definition.name)


def tune_gc(young_threshold: int) -> None:
    """Collect what start-up left, freeze the rest out of every later collection (modules,
    classes, models: most of a service's objects, which a full collection would otherwise
    walk again and again) and let the young generation grow to `young_threshold` net
    allocations before it is collected. Reference counting frees a batch's objects; the
    collector is only for cycles."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, old)


def event_loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The factory of the event loop a service runs on (None: asyncio's own). uvloop where it
    is installed (not on Windows); asyncio's, with a warning, where it is not."""
    if name == "asyncio":
        return None
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        log.warning("uvloop is not installed: running on asyncio's event loop")
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def main(
    service: str,
    *,
    query_host: str | None = None,
    query_port: int | None = None,
    lanes: str | None = None,
) -> None:
    """Run `service`; `query_host`/`query_port` override its query API settings, `lanes`
    the lanes it consumes."""
    import importlib  # noqa: PLC0415

    configure(service)
    module = importlib.import_module(f"services.{service}.app")
    definition: ServiceDefinition = module.definition()
    settings = service_settings(service)
    overrides: dict[str, Any] = {
        "query_host": query_host,
        "query_port": query_port,
        "lanes": lanes,
    }
    settings = type(settings)(**{k: v for k, v in overrides.items() if v is not None})
    if settings.query_port is not None and definition.http_app is None:
        raise SystemExit(f"loyalty run {service}: {service} has no HTTP query API (--http-port)")
    try:
        process_lanes(definition, settings.lanes)
    except ValueError as exc:
        raise SystemExit(f"loyalty run {service}: {exc} (--lanes)") from exc
    tune_gc(settings.gc_young_threshold)
    with asyncio.Runner(loop_factory=event_loop_factory(settings.event_loop)) as runner:
        runner.run(run_service(definition, settings=settings))
