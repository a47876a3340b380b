"""Prometheus metrics every service exposes on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter(
    "loyalty_messages_total",
    "Consumed messages by outcome (processed, duplicate, dead_lettered)",
    ["service", "topic", "outcome"],
)
BATCH_SECONDS = Histogram(
    "loyalty_batch_seconds",
    "Time to apply one consumed batch (decode, DB transaction, dead letters)",
    ["service"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RETRIES = Counter("loyalty_batch_retries_total", "Retried batches", ["service", "kind"])
OUTBOX_PUBLISHED = Counter(
    "loyalty_outbox_published_total", "Events relayed from the outbox", ["service"]
)
OUTBOX_LAG_SECONDS = Histogram(
    "loyalty_outbox_relay_delay_seconds",
    "Delay between an event's commit and its relay",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RELAY_ACTIVE = Gauge(
    "loyalty_outbox_relay_active", "1 when this process holds the relay", ["service"]
)
