"""A service process tunes Python's garbage collector before it consumes: the objects made
at start-up are frozen out of later collections and the young generation waits for
LOYALTY_<SERVICE>_GC_YOUNG_THRESHOLD net allocations (docs/benchmarks.md, "The garbage
collector")."""

from __future__ import annotations

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


def test_a_service_process_tunes_before_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setenv("LOYALTY_ACCRUAL_GC_YOUNG_THRESHOLD", "4321")
    monkeypatch.setattr(runtime, "tune_gc", lambda threshold: calls.append(("tune", threshold)))

    def run(coroutine: Any) -> None:
        calls.append(("run", coroutine.__qualname__))
        coroutine.close()

    monkeypatch.setattr(runtime.asyncio, "run", run)
    monkeypatch.setattr(runtime, "configure", lambda service: None)
    runtime.main("accrual")
    assert calls == [("tune", 4321), ("run", "run_service")]
    assert gc.get_threshold()[0] != 4321  # the test process itself left alone
