"""Which topics a service consumes in a lane of their own, and how each lane consumes."""

from __future__ import annotations

import asyncio

import pytest

from services.redemption.app import definition
from services.redemption.handlers import REQUESTED_TOPIC
from shared.db.engine import create_engine
from shared.messaging.consumer import BatchProcessor
from shared.messaging.uow import MAIN_LANE
from shared.runtime import build_broker, subscribe_lanes
from shared.settings import KafkaSecurity, service_settings


def test_the_gateways_requests_are_the_wallets_only_separate_lane() -> None:
    lanes = {s.topic: s.lane for s in definition().subscriptions}
    assert lanes.pop(REQUESTED_TOPIC) == "gateway"
    assert lanes
    assert set(lanes.values()) == {MAIN_LANE}


def test_the_main_lane_waits_for_big_batches_and_a_waiting_lane_prefetches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOYALTY_REDEMPTION_LANE_FETCH_MAX_WAIT_MS", "5")
    settings = service_settings("redemption")
    engine = create_engine("postgresql://nobody@127.0.0.1:9/none")  # never connected
    by_lane: dict[str, dict[str, object]] = {}
    for s in definition().subscriptions:
        by_lane.setdefault(s.lane, {})[s.topic] = s
    processors = {
        lane: BatchProcessor("redemption", engine, topics, dead_letters=None)  # type: ignore[arg-type]
        for lane, topics in by_lane.items()
    }
    broker = build_broker("127.0.0.1:9", KafkaSecurity())
    locks, prompt = subscribe_lanes(
        broker, processors, settings, "g", asyncio.Event(), ("127.0.0.1:9", KafkaSecurity())
    )
    assert len(locks) == 1  # the main lane, through FastStream
    [gateway] = prompt
    assert gateway.topics == (REQUESTED_TOPIC,)
    assert gateway.consumer_settings["fetch_max_wait_ms"] == 5
    assert settings.lane_fetch_max_wait_ms < settings.fetch_max_wait_ms
