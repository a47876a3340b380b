"""`loyalty replay SERVICE`: re-process a service's history from the topics into a fresh
database, under a consumer group of its own, and report the rate.

What it does, in order:
1. creates an empty database beside the live one (`--database`, default
   `loyalty_replay_<service>`; refused if it exists, unless `--drop-existing`) and migrates the
   service into it;
2. notes the end offsets of every topic the service consumes: that is the history to replay;
3. runs `loyalty run SERVICE` against the new database with a new consumer group (it starts
   at the beginning of every topic) and **its outbox relay off**, so that nothing it computes
   is published again: the live platform downstream sees nothing;
4. follows the group's committed offsets until the whole history is consumed, then stops the
   process (SIGTERM: it finishes its batch) and prints messages, seconds and messages/s, and
   the row counts of the service's tables in the live and the replayed database.

Use it to rebuild a service's state after a bug fix, to check that the state is a function
of the log, or to measure catch-up speed. The live service is not touched.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import cast

import asyncpg
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.engine import make_url

from contracts.registry import TOPICS, topics_consumed_by
from shared.cli import runtime_passwords
from shared.infra.embedded import InfraError
from shared.infra.resolve import resolve_endpoints
from shared.messaging.kafka import client_kwargs
from shared.settings import SERVICES, KafkaSecurity, PlatformSettings

CLI = (sys.executable, "-c", "from shared.cli import main; main()")
POLL_S = 0.5
STOP_TIMEOUT_S = 30.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="re-process a service's history from the topics into a fresh database",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("service", choices=[s for s in SERVICES if topics_consumed_by(s)])
    parser.add_argument("--database", help="the new database (loyalty_replay_<service>)")
    parser.add_argument("--group", help="the new consumer group (a fresh one per run)")
    parser.add_argument(
        "--drop-existing", action="store_true", help="drop the database first if it exists"
    )
    parser.add_argument(
        "--timeout", type=float, default=3600.0, metavar="SECONDS", help="give up after (3600)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON summary line on stdout")
    parser.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    try:
        endpoints = resolve_endpoints()
    except InfraError as exc:
        print(f"loyalty replay: {exc}", file=sys.stderr)
        return 2
    try:
        summary = asyncio.run(_replay(args, endpoints.kafka_bootstrap, endpoints.database_url))
    except ReplayError as exc:
        print(f"loyalty replay: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"replayed {summary['messages']} messages into {summary['database']} in "
            f"{summary['seconds']} s: {summary['messages_per_second']} messages/s "
            f"(group {summary['group']})"
        )
        tables = cast("dict[str, tuple[int, int]]", summary["tables"])
        for table, (live, replayed) in tables.items():
            mark = "" if live == replayed else "   (differs: traffic since, or other rules)"
            print(f"  {table:<40} live {live:>9}  replayed {replayed:>9}{mark}")
    return 0


class ReplayError(Exception):
    pass


def _dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _create_database(admin_url: str, name: str, *, drop: bool) -> None:
    conn = await asyncpg.connect(_dsn(admin_url))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and not drop:
            raise ReplayError(f"database {name} exists: choose --database or --drop-existing")
        quoted = '"' + name.replace('"', '""') + '"'
        if exists:
            await conn.execute(f"DROP DATABASE {quoted} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {quoted}")
    finally:
        await conn.close()


async def _history(bootstrap: str, topics: list[str]) -> tuple[dict[TopicPartition, int], int]:
    """The end offset of every non-empty partition, and how many messages lie before them.

    The true ends: Tansu lists a partition's end as its last record batch's first offset
    plus one, which would stop the replay short of the last batch of every partition."""
    from shared.bench.probes import EndOffsets  # noqa: PLC0415

    probe = EndOffsets(bootstrap)
    await probe.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in range(TOPICS[t].partitions)]
        ends = await probe.ends(partitions)
        starts = await probe.consumer.beginning_offsets(partitions)
    finally:
        await probe.stop()
    history = {tp: ends[tp] for tp in partitions if ends[tp] > starts[tp]}
    return history, sum(end - starts[tp] for tp, end in history.items())


async def _caught_up(bootstrap: str, group: str, history: dict[TopicPartition, int]) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_kwargs(KafkaSecurity()))
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group, partitions=list(history))
    finally:
        await admin.close()
    return all(
        (offset := committed.get(tp)) is not None and offset.offset >= end
        for tp, end in history.items()
    )


async def _row_counts(url: str, service: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 "
            "AND table_type = 'BASE TABLE' ORDER BY table_name",
            service,
        )
        counts: dict[str, int] = {}
        for row in tables:
            name = row["table_name"]
            counts[f"{service}.{name}"] = await conn.fetchval(
                f'SELECT count(*) FROM "{service}"."{name}"'
            )
        return counts
    finally:
        await conn.close()


def child_environment(
    service: str,
    bootstrap: str,
    replay_url: str,
    group: str,
    parent: Mapping[str, str] = os.environ,
) -> dict[str, str]:
    """The replaying process's settings: the replay database, a group of its own, no relay.

    Both addresses are given to it, which alone would make it think it runs against external
    infrastructure (where a runtime password must be set); it keeps this process's mode, so
    `LOYALTY_HOME=... loyalty replay SERVICE` works on the embedded platform as it does on
    an external one."""
    prefix = f"LOYALTY_{service.upper()}_"
    env = {
        **parent,
        "LOYALTY_INFRA_MODE": str(PlatformSettings().mode),
        "LOYALTY_KAFKA_BOOTSTRAP": bootstrap,
        "LOYALTY_DATABASE_URL": replay_url,
        f"{prefix}CONSUMER_GROUP": group,
        f"{prefix}RELAY_ENABLED": "false",
    }
    env.pop(f"{prefix}DATABASE_URL", None)
    return env


async def _replay(args: argparse.Namespace, bootstrap: str, admin_url: str) -> dict[str, object]:
    from shared.db.migrate import migrate  # noqa: PLC0415

    service: str = args.service
    database = args.database or f"loyalty_replay_{service}"
    group = args.group or f"loyalty.{service}.replay-{uuid.uuid4().hex[:8]}"
    replay_url = _dsn(admin_url, database)
    await _create_database(admin_url, database, drop=args.drop_existing)
    await migrate(replay_url, runtime_passwords([service]))
    history, messages = await _history(bootstrap, topics_consumed_by(service))
    env = child_environment(service, bootstrap, replay_url, group)
    log = Path(os.environ.get("LOYALTY_HOME", ".loyalty")) / f"replay-{service}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(
        f"replay: {messages} messages of {service}'s topics into {database}, group {group}",
        file=sys.stderr,
        flush=True,
    )
    started = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: ASYNC220 (a child that outlives many awaits)
            [*CLI, "run", service], env=env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            while not history or not await _caught_up(bootstrap, group, history):
                if process.poll() is not None:
                    raise ReplayError(
                        f"{service} exited with {process.returncode} during the replay; see {log}"
                    )
                if time.monotonic() - started > args.timeout:
                    raise ReplayError(f"not caught up after {args.timeout:g} s; see {log}")
                if not history:
                    break
                await asyncio.sleep(POLL_S)
            seconds = time.monotonic() - started
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.to_thread(process.wait, STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    process.kill()
    live = await _row_counts(_dsn(admin_url), service)
    replayed = await _row_counts(replay_url, service)
    return {
        "service": service,
        "database": database,
        "group": group,
        "messages": messages,
        "seconds": round(seconds, 2),
        "messages_per_second": round(messages / seconds, 1) if seconds > 0 else None,
        "tables": {t: (live.get(t, 0), replayed.get(t, 0)) for t in sorted(live | replayed)},
    }
