from __future__ import annotations

import pytest

from shared.simulator.state import SimEvent, SimState
from tests.unit.simulator.world import simulate


@pytest.fixture(scope="module")
def day() -> tuple[list[SimEvent], SimState]:
    """Ten thousand events among 300 customers."""
    return simulate(seed=2026, events=10_000, customers=300)
