"""A service process tunes Python's garbage collector before it consumes: the objects made
at start-up are frozen out of later collections and the young generation waits for
LOYALTY_<SERVICE>_GC_YOUNG_THRESHOLD net allocations (docs/benchmarks.md, "The garbage
collector"), and runs on uvloop unless LOYALTY_<SERVICE>_EVENT_LOOP says asyncio."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
from typing import Any

import pytest

from shared import runtime
from shared.settings import service_settings


def test_tuning_freezes_what_start_up_made_and_raises_the_young_threshold() -> None:
    # In a fresh interpreter: a frozen generation cannot be undone for this test process.
    code = (
        "import gc; from shared.runtime import tune_gc; "
        "before = gc.get_threshold(); tune_gc(12345); "
        "print(before[0], *gc.get_threshold(), gc.get_freeze_count() > 1000, gc.get_count()[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.split()
    default_young, young, middle, old, frozen, pending = out
    assert default_young == "700"  # Python's own, which the services no longer keep
    assert (young, middle, old) == ("12345", "10", "10")
    assert frozen == "True"  # the modules' objects: not walked by any later collection
    assert int(pending) < 100  # collected just before the freeze


def test_the_threshold_is_a_setting_of_each_service(monkeypatch: pytest.MonkeyPatch) -> None:
    assert service_settings("accrual").gc_young_threshold == 50_000
    monkeypatch.setenv("LOYALTY_ACCRUAL_GC_YOUNG_THRESHOLD", "700")
    assert service_settings("accrual").gc_young_threshold == 700
    assert service_settings("redemption").gc_young_threshold == 50_000


def test_a_service_process_tunes_then_runs_on_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setenv("LOYALTY_ACCRUAL_GC_YOUNG_THRESHOLD", "4321")
    monkeypatch.setattr(runtime, "tune_gc", lambda threshold: calls.append(("tune", threshold)))

    async def run_service(definition: Any, *, settings: Any) -> None:
        loop = asyncio.get_running_loop()
        calls.append(("run", definition.name, settings.event_loop, type(loop).__module__))

    monkeypatch.setattr(runtime, "run_service", run_service)
    monkeypatch.setattr(runtime, "configure", lambda service: None)
    runtime.main("accrual")
    assert calls == [("tune", 4321), ("run", "accrual", "uvloop", "uvloop")]
    assert gc.get_threshold()[0] != 4321  # the test process itself left alone


def test_the_event_loop_is_a_setting_and_asyncio_where_uvloop_is_missing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert service_settings("redemption").event_loop == "uvloop"
    monkeypatch.setenv("LOYALTY_REDEMPTION_EVENT_LOOP", "asyncio")
    assert service_settings("redemption").event_loop == "asyncio"
    assert runtime.event_loop_factory("asyncio") is None
    factory = runtime.event_loop_factory("uvloop")
    assert factory is not None
    loop = factory()
    try:
        assert type(loop).__module__ == "uvloop"
    finally:
        loop.close()
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as on a platform without it
    with caplog.at_level("WARNING", logger="shared.runtime"):
        assert runtime.event_loop_factory("uvloop") is None
    assert "uvloop is not installed" in caplog.text
    monkeypatch.setenv("LOYALTY_REDEMPTION_EVENT_LOOP", "trio")
    with pytest.raises(ValueError, match="event_loop"):
        service_settings("redemption")
