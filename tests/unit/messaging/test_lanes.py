"""Which topics a service consumes in a lane of their own."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from services.redemption.app import definition
from services.redemption.handlers import REQUESTED_TOPIC
from shared.messaging.uow import MAIN_LANE
from shared.runtime import lane_timing, process_lanes, process_workers, relay_standby
from shared.settings import SERVICES, service_settings
from shared.up import platform_processes


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


def test_a_process_consumes_every_lane_or_only_those_it_is_given() -> None:
    wallet = definition()
    every = process_lanes(wallet, "")
    assert set(every) == {MAIN_LANE, "gateway"}
    assert [s.topic for s in process_lanes(wallet, "gateway")["gateway"]] == [REQUESTED_TOPIC]
    assert set(process_lanes(wallet, " main ")) == {MAIN_LANE}
    assert process_lanes(wallet, "main,gateway") == every


def test_workers_run_with_the_main_lane_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    wallet, settings = definition(), service_settings("redemption")
    assert wallet.workers
    assert process_workers(wallet, process_lanes(wallet, ""), settings) == wallet.workers
    assert process_workers(wallet, process_lanes(wallet, "main"), settings) == wallet.workers
    assert process_workers(wallet, process_lanes(wallet, "gateway"), settings) == ()
    monkeypatch.setenv("LOYALTY_REDEMPTION_WORKERS", "false")
    off = service_settings("redemption")
    assert process_workers(wallet, process_lanes(wallet, ""), off) == ()


def test_the_relay_lives_with_the_main_lane_and_a_gateway_process_only_stands_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wallet, settings = definition(), service_settings("redemption")
    assert relay_standby(process_lanes(wallet, ""), settings) is None
    assert relay_standby(process_lanes(wallet, "main"), settings) is None
    assert relay_standby(process_lanes(wallet, "gateway"), settings) == 30.0
    monkeypatch.setenv("LOYALTY_REDEMPTION_RELAY_STANDBY_SECONDS", "5")
    assert relay_standby(process_lanes(wallet, "gateway"), service_settings("redemption")) == 5.0


def test_an_unknown_lane_is_refused_naming_the_lanes_there_are() -> None:
    with pytest.raises(ValueError, match="redemption has no lane gatewy; its lanes: main, gateway"):
        process_lanes(definition(), "gatewy")


def test_loyalty_run_refuses_an_unknown_lane_before_connecting_to_anything() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from shared.cli import main; main()",
         "run", "redemption", "--lanes", "nope"],
        capture_output=True, text=True, timeout=60, check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")},
    )  # fmt: skip
    assert result.returncode == 1
    assert "loyalty run redemption: redemption has no lane nope" in result.stderr


def test_loyalty_up_runs_the_wallets_gateway_lane_in_a_process_of_its_own() -> None:
    processes = {p.name: p for p in platform_processes()}
    assert {p.service for p in processes.values()} == set(SERVICES)
    assert processes["redemption"].argv()[-3:] == ["redemption", "--lanes", "main"]
    assert processes["redemption-gateway"].argv()[-3:] == ["redemption", "--lanes", "gateway"]
    assert processes["accrual"].argv()[-2:] == ["run", "accrual"]
