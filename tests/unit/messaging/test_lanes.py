"""Which topics a service consumes in a lane of their own."""

from __future__ import annotations

import pytest

from services.redemption.app import definition
from services.redemption.handlers import REQUESTED_TOPIC
from shared.messaging.uow import MAIN_LANE
from shared.runtime import lane_timing
from shared.settings import service_settings


def test_the_gateways_requests_are_the_wallets_only_separate_lane() -> None:
    lanes = {s.topic: s.lane for s in definition().subscriptions}
    assert lanes.pop(REQUESTED_TOPIC) == "gateway"
    assert lanes
    assert set(lanes.values()) == {MAIN_LANE}


def test_a_separate_lane_fetches_with_a_short_wait_and_the_main_lane_with_a_long_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = service_settings("redemption")
    main, gateway = lane_timing(MAIN_LANE, settings), lane_timing("gateway", settings)
    assert gateway["fetch_max_wait_ms"] < main["fetch_max_wait_ms"]
    # FastStream sleeps a batch timeout after an empty poll: a waiting request pays it.
    assert gateway["batch_timeout_ms"] <= 10 < main["batch_timeout_ms"]
    monkeypatch.setenv("LOYALTY_REDEMPTION_LANE_FETCH_MAX_WAIT_MS", "5")
    monkeypatch.setenv("LOYALTY_REDEMPTION_LANE_BATCH_TIMEOUT_MS", "2")
    assert lane_timing("gateway", service_settings("redemption")) == {
        "fetch_max_wait_ms": 5,
        "batch_timeout_ms": 2,
    }
