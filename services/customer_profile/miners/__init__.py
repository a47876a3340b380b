"""The miners: independent consumers of the event log, each with its own reporting tables.

Adding a miner is one module (its tables, its handlers, a `MINER`) and one line below; it
needs no change to the others (and a migration for its tables).
"""

from __future__ import annotations

from services.customer_profile.miners import cohorts, promotion, tiers
from services.customer_profile.miners.base import Miner

MINERS: tuple[Miner, ...] = (
    cohorts.MINER,
    promotion.MINER,
    tiers.MINER,
)


def miner(name: str) -> Miner:
    """The miner called `name`; KeyError names the unknown one."""
    for m in MINERS:
        if m.name == name:
            return m
    raise KeyError(f"unknown miner {name!r}: one of {', '.join(m.name for m in MINERS)}")
