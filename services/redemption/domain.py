"""The wallet's rules, pure: which lots pay for a redemption, and why a request is declined."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

SPENDABLE = "points"
CASHBACK_CENTS_PER_POINT = 10  # a point is worth R0.10 paid into the customer's account


class InsufficientPointsError(Exception):
    """The customer's unexpired lots do not cover the request."""


@dataclass(frozen=True, slots=True)
class Lot:
    lot_id: int
    remaining: int
    expires_at: date | None


def allocate_fifo(lots: Iterable[Lot], points: int, today: date) -> list[tuple[int, int]]:
    """(lot id, points) taken first-expiring-first, skipping expired lots.

    Lots without an expiry come last; ties are broken by lot id.
    """
    if points <= 0:
        raise ValueError("points to allocate must be positive")
    usable = sorted(
        (lot for lot in lots
         if lot.remaining > 0 and (lot.expires_at is None or lot.expires_at >= today)),
        key=lambda lot: (lot.expires_at is None, lot.expires_at or date.max, lot.lot_id),
    )  # fmt: skip
    taken: list[tuple[int, int]] = []
    left = points
    for lot in usable:
        take = min(lot.remaining, left)
        taken.append((lot.lot_id, take))
        left -= take
        if left == 0:
            return taken
    raise InsufficientPointsError(f"{points - left} of {points} points available")


def take_back(lots: Sequence[Lot], points: int, first: int | None) -> list[tuple[int, int]]:
    """(lot id, points) a reversal takes: the original lot first, then oldest expiry first.

    What the lots cannot cover is left to the balance (a debt), never silently dropped.
    """
    ordered = sorted(
        lots,
        key=lambda lot: (lot.lot_id != first, lot.expires_at is None,
                         lot.expires_at or date.max, lot.lot_id),
    )  # fmt: skip
    taken: list[tuple[int, int]] = []
    left = points
    for lot in ordered:
        if left == 0:
            break
        take = min(lot.remaining, left)
        if take > 0:
            taken.append((lot.lot_id, take))
            left -= take
    return taken


@cache
def _reasons() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(
        (Path(__file__).parent / "reasons.json").read_text(encoding="utf-8")
    )
    return data


def reason_text(code: str, language: str) -> tuple[str, str]:
    """The decline reason in the customer's language (English when there is no translation)."""
    texts = _reasons().get(code, _reasons()["invalid_request"])
    if language in texts:
        return texts[language], language
    return texts["en"], "en"
