"""The raw ceiling: the same messages, consumed and COPYed into Postgres with no logic at all.

A fresh consumer group reads the run's exact offset ranges of the bank's topics, and each
fetched batch goes into a scratch table with asyncpg's COPY, then its offsets are committed.
No validation, no inbox, no outbox, no second hop: what the machine can move from Kafka into
Postgres with the same client libraries. The scratch schema is dropped afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.messaging.kafka import client_kwargs
from shared.settings import KafkaSecurity

log = logging.getLogger(__name__)

COLUMNS = ("topic", "kafka_partition", "kafka_offset", "key", "value")
MAX_RECORDS = 5_000


async def raw_ceiling(
    bootstrap: str,
    database_url: str,
    run: str,
    starts: dict[TopicPartition, int],
    ends: dict[TopicPartition, int],
    *,
    timeout_s: float = 600.0,
) -> dict[str, Any]:
    """Copy offsets starts..ends of each partition; returns the rate and what was copied."""
    schema = f"bench_ceiling_{run.lower()}"
    group = f"loyalty.bench-ceiling.{run}"
    security = client_kwargs(KafkaSecurity())
    conn = await asyncpg.connect(database_url)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
        **security,
    )
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        await conn.execute(
            f'CREATE TABLE "{schema}".raw (topic text NOT NULL, kafka_partition int NOT NULL, '
            "kafka_offset bigint NOT NULL, key bytea, value bytea)"
        )
        await consumer.start()
        wanted = {tp: end for tp, end in ends.items() if end > starts.get(tp, 0)}
        consumer.assign(list(wanted))
        for tp in wanted:
            consumer.seek(tp, starts.get(tp, 0))
        started = time.monotonic()
        copied, batches = await _copy_all(consumer, conn, schema, wanted, started + timeout_s)
        elapsed = time.monotonic() - started
        stored = await conn.fetchval(f'SELECT count(*) FROM "{schema}".raw')
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()
        with contextlib.suppress(Exception):
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()
        await _forget_group(bootstrap, group, security)
    expected = sum(end - starts.get(tp, 0) for tp, end in wanted.items())
    return {
        "messages": copied,
        "expected": expected,
        "rows_stored": int(stored),
        "batches": batches,
        "elapsed_s": round(elapsed, 3),
        "rate_per_s": round(copied / elapsed, 1) if elapsed > 0 else None,
        "complete": copied == expected,
    }


async def _copy_all(
    consumer: AIOKafkaConsumer,
    conn: asyncpg.Connection,
    schema: str,
    ends: dict[TopicPartition, int],
    deadline: float,
) -> tuple[int, int]:
    remaining = dict(ends)
    copied = batches = 0
    while remaining and time.monotonic() < deadline:
        fetched = await consumer.getmany(timeout_ms=100, max_records=MAX_RECORDS)
        rows: list[tuple[str, int, int, bytes | None, bytes | None]] = []
        commit: dict[TopicPartition, int] = {}
        for tp, records in fetched.items():
            end = ends[tp]
            rows += [
                (r.topic, r.partition, r.offset, r.key, r.value) for r in records if r.offset < end
            ]
            if records:
                commit[tp] = min(end, records[-1].offset + 1)
                if commit[tp] >= end:
                    remaining.pop(tp, None)
                    consumer.pause(tp)
        if rows:
            await conn.copy_records_to_table(
                "raw", records=rows, schema_name=schema, columns=COLUMNS
            )
            copied += len(rows)
            batches += 1
        if commit:
            await consumer.commit(commit)
    return copied, batches


async def _forget_group(bootstrap: str, group: str, security: dict[str, Any]) -> None:
    """Delete the scratch group (a broker that cannot is left with an idle group)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **security)
    try:
        await admin.start()
        await admin.delete_consumer_groups([group])
    except Exception as exc:
        log.debug("could not delete consumer group %s: %s", group, exc)
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
