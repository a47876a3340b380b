"""A small `loyalty chaos` run in CI: services SIGKILLed, PostgreSQL crashed, nothing lost."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.chaos.run import ChaosConfig, run_chaos

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.timeout(1200)]


async def test_chaos_loses_nothing_duplicates_nothing_and_every_invariant_holds() -> None:
    config = ChaosConfig(
        transactions=1500, kills=3, seed=20261123, home=Path(".loyalty") / f"chaos-{os.getpid()}"
    )
    summary = await run_chaos(config, log=print)

    assert summary["kills"] == 3
    assert summary["restarts"] >= 3
    assert summary["postgres_restarts"] == 1
    assert summary["duplicates"] > 0
    assert summary["poison_messages"] > 0
    assert summary["drained"] is True
    assert (summary["lost"], summary["duplicated"]) == (0, 0), summary
    assert summary["invariants_ok"] is True, summary["violations"]
    # every poison message was dead-lettered by each service consuming its topic, and only those
    assert summary["poison_dead_lettered"] == summary["poison_dead_letters_expected"] > 0
    assert summary["unexpected_dead_letters"] == []
    assert summary["wrong_points"] == 0
    assert summary["ok"] is True
