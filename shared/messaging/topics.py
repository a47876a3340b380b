"""`loyalty topics create`: every topic of the registry and its dead-letter topic."""

from __future__ import annotations

import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from contracts.registry import TOPICS
from shared.messaging.kafka import client_kwargs
from shared.settings import KafkaSecurity


def wanted_topics() -> dict[str, int]:
    """Topic name -> partition count, dead-letter topics included."""
    wanted: dict[str, int] = {}
    for topic in TOPICS.values():
        wanted[topic.name] = topic.partitions
        wanted[topic.dlq] = topic.partitions
    return wanted


async def create_topics(
    bootstrap: str, security: KafkaSecurity | None = None, replication: int = 1
) -> list[str]:
    """Create the missing topics; returns the names created. Safe to run again."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_kwargs(security))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = {name: n for name, n in wanted_topics().items() if name not in existing}
        if missing:
            # Another process may create them meanwhile: that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(name, n, replication) for name, n in sorted(missing.items())]
                )
        return sorted(missing)
    finally:
        await admin.close()
