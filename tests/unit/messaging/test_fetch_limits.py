"""A consumer keeps a fetch's records until they are consumed: under a backlog each of a
process's consumers holds about one fetch, so what a fetch may bring back is bounded (the
lanes' consumers and customer_profile's miners alike), and an operator can set it."""

from __future__ import annotations

import asyncio
import types

import pytest
from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import create_async_engine

from services.customer_profile.miners import MINERS
from services.customer_profile.miners.runner import MinerRun
from shared.runtime import _subscribe_lane, fetch_limits
from shared.settings import service_settings

AIOKAFKA_DEFAULTS = {"fetch_max_bytes": 50 * 1024 * 1024, "max_partition_fetch_bytes": 1024 * 1024}


def test_by_default_a_fetch_is_a_fraction_of_aiokafkas() -> None:
    limits = fetch_limits(service_settings("customer_profile"))
    assert limits == {"fetch_max_bytes": 4 * 1024 * 1024, "max_partition_fetch_bytes": 256 * 1024}
    for name, value in limits.items():
        assert value < AIOKAFKA_DEFAULTS[name]


async def test_every_consumer_of_a_service_fetches_at_most_what_its_settings_say(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOYALTY_CUSTOMER_PROFILE_FETCH_MAX_BYTES", "65536")
    monkeypatch.setenv("LOYALTY_CUSTOMER_PROFILE_MAX_PARTITION_FETCH_BYTES", "8192")
    settings = service_settings("customer_profile")
    wanted = {"fetch_max_bytes": 65536, "max_partition_fetch_bytes": 8192}
    assert fetch_limits(settings) == wanted

    broker = KafkaBroker("127.0.0.1:9")  # never connected
    lane = types.SimpleNamespace(subscriptions={"a.v1": None, "b.v1": None})
    _subscribe_lane(broker, "main", lane, settings, "g", asyncio.Event())  # type: ignore[arg-type]
    (subscriber,) = broker.subscribers
    arguments = subscriber._connection_args  # what FastStream gives AIOKafkaConsumer
    assert {name: arguments[name] for name in wanted} == wanted

    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:9/none")  # never used
    for miner in MINERS:
        run = MinerRun(miner, engine, "127.0.0.1:9", dead_letters=None,  # type: ignore[arg-type]
                       fetch_limits=fetch_limits(settings))  # fmt: skip
        consumer = run._consumer(generation=1)
        assert consumer._fetch_max_bytes == 65536, miner.name
        assert consumer._max_partition_fetch_bytes == 8192, miner.name
        await consumer.stop()  # never started: releases it
    await engine.dispose()
