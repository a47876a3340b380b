"""A simulated world with a fixed clock: the same seed gives the same messages."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from shared.simulator.events import next_event
from shared.simulator.people import Customer, generate_customers
from shared.simulator.state import SimConfig, SimEvent, SimState

NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def seeded(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 (a simulation, not security)


def customers(seed: int, n: int) -> list[Customer]:
    return generate_customers(seeded(seed), n)


def simulate(
    seed: int, events: int, customers: int = 100, config: SimConfig | None = None
) -> tuple[list[SimEvent], SimState]:
    rng = seeded(seed)
    state = SimState(
        generate_customers(rng, customers), "RUN001", config or SimConfig(), clock=lambda: NOON
    )
    return [next_event(rng, state) for _ in range(events)], state
