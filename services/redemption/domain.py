"""The wallet's rules, pure: which lots pay for a redemption, and why a request is declined."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal, get_args

SPENDABLE = "points"
Owner = tuple[str, str]  # (customer_no, currency): one account of the wallet
CASHBACK_CENTS_PER_POINT = 10  # a point is worth R0.10 paid into the customer's account


# Why a request is declined; each has a text per language in reasons.json.
DECLINE_REASONS = frozenset({
    "insufficient_points", "unknown_customer", "not_a_member", "vendor_not_accepted",
    "invalid_request", "hold_not_found", "no_cashback_account", "redemption_not_found",
})  # fmt: skip


class InsufficientPointsError(Exception):
    """The customer's unexpired lots do not cover the request."""


@dataclass(frozen=True, slots=True)
class Lot:
    lot_id: int
    remaining: int
    expires_at: date | None
    starting: int = 0  # the points it was opened with (0: not known to the caller)
    source: str = ""  # what opened it: the credit's posting id


def is_usable(lot: Lot, today: date) -> bool:
    """Points left and not expired: usable up to and including its expiry day."""
    return lot.remaining > 0 and (lot.expires_at is None or lot.expires_at >= today)


def expiry_order(lot: Lot) -> tuple[bool, date, int]:
    """Soonest expiry first, lots that never expire last, ties by lot id."""
    return lot.expires_at is None, lot.expires_at or date.max, lot.lot_id


def allocate_fifo(lots: Iterable[Lot], points: int, today: date) -> list[tuple[int, int]]:
    """(lot id, points) taken first-expiring-first, skipping expired lots.

    Lots without an expiry come last; ties are broken by lot id.
    """
    if points <= 0:
        raise ValueError("points to allocate must be positive")
    usable = sorted((lot for lot in lots if is_usable(lot, today)), key=expiry_order)
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


def next_expiries(lots: Iterable[Lot], today: date, limit: int = 3) -> list[tuple[date, int]]:
    """(expiry day, points) of the lots still usable `today`, soonest day first, `limit` days.

    A lot is usable up to and including its expiry day; lots that never expire are not listed.
    """
    due: dict[date, int] = {}
    for lot in lots:
        if is_usable(lot, today) and lot.expires_at is not None:
            due[lot.expires_at] = due.get(lot.expires_at, 0) + lot.remaining
    return sorted(due.items())[:limit]


def open_lots(lots: Iterable[Lot], today: date, limit: int = 20) -> tuple[list[Lot], int]:
    """The lots still usable `today` with points left, soonest expiry first, those that never
    expire last, ties by lot id: the first `limit` of them, and how many there are in all."""
    usable = sorted((lot for lot in lots if is_usable(lot, today)), key=expiry_order)
    return usable[:limit], len(usable)


@dataclass(frozen=True, slots=True)
class UsableLots:
    """What a balance change states about an account's usable lots: the first of them in
    expiry order, how many there are, and the first expiry days with their points."""

    first: tuple[Lot, ...] = ()
    count: int = 0
    days: tuple[tuple[date, int], ...] = ()


def usable_lots(lots: Iterable[Lot], today: date, limit: int, days: int = 3) -> UsableLots:
    """The summary of all of an account's lots: `limit` lots as open_lots lists them, `days`
    days as next_expiries does."""
    every = list(lots)
    first, count = open_lots(every, today, limit)
    return UsableLots(tuple(first), count, tuple(next_expiries(every, today, days)))


def with_opened(
    summary: UsableLots, opened: Iterable[Lot], today: date, limit: int, days: int = 3
) -> UsableLots:
    """The summary once `opened` lots join the lots it summarises (`limit` and `days` no more
    than it was made with).

    Exact without the lots the summary left out: opening lots removes none, so those stay
    behind its first lots; and a day it lists has all its points, while a day after the last
    it lists (when it lists `days` of them) stays behind those days."""
    new = [lot for lot in opened if is_usable(lot, today)]
    first = sorted([*summary.first, *new], key=expiry_order)[:limit]
    due = dict(summary.days)
    for lot in new:
        if lot.expires_at is not None:
            due[lot.expires_at] = due.get(lot.expires_at, 0) + lot.remaining
    return UsableLots(tuple(first), summary.count + len(new), tuple(sorted(due.items())[:days]))


NegativePolicy = Literal["debt", "cap"]
DEFAULT_NEGATIVE_POLICY: NegativePolicy = "debt"


@dataclass(frozen=True, slots=True)
class Clawback:
    """What a negative posting does to an account: the lots it empties, the points it takes
    off the balance, and (cap policy) the points nobody could take, recorded as shortfall."""

    taken: list[tuple[int, int]]
    charged: int
    shortfall: int


def claw_back(
    lots: Sequence[Lot], points: int, first: int | None, policy: NegativePolicy
) -> Clawback:
    """A clawback of `points`: from the original lot first, then oldest expiry first. What the
    lots cannot give becomes a debt (the balance goes below zero, later credits repay it) or,
    under the cap policy, a recorded shortfall (the balance stops at what the lots held)."""
    taken = take_back(lots, points, first)
    if policy == "debt":
        return Clawback(taken, points, 0)
    got = sum(n for _, n in taken)
    return Clawback(taken, got, points - got)


def parse_negative_policy(text: str) -> dict[str, NegativePolicy]:
    """'points=debt,tier_points=cap' -> {currency: policy}; unnamed currencies take a debt."""
    policies: dict[str, NegativePolicy] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        currency, _, policy = (p.strip() for p in item.partition("="))
        if not currency or policy not in get_args(NegativePolicy):
            raise ValueError(
                f"negative-balance policy {item!r}: want CURRENCY=debt or CURRENCY=cap"
            )
        policies[currency] = policy  # type: ignore[assignment]  # checked just above
    return policies


@dataclass
class LotBook:
    """A batch's working copy of some accounts' open lots, and the points the batch moved.

    Allocations are decided in memory, in message order; the moves are written once."""

    open: dict[Owner, dict[int, Lot]] = field(default_factory=dict)
    by_posting: dict[str, int] = field(default_factory=dict)  # posting id -> its lot id
    moved: dict[int, int] = field(default_factory=dict)  # lot id -> points taken (net)

    def track(self, owner: Owner) -> None:
        """Follow this account (its lots, if any, are added next)."""
        self.open.setdefault(owner, {})

    def add(self, owner: Owner, lot: Lot, posting_id: str) -> None:
        """A lot as it is in the database (loaded, or created during the batch)."""
        if owner in self.open:
            self.open[owner][lot.lot_id] = lot
            self.by_posting[posting_id] = lot.lot_id

    def lots(self, owner: Owner) -> list[Lot]:
        return list(self.open[owner].values())

    def take(self, owner: Owner, taken: Iterable[tuple[int, int]]) -> None:
        lots = self.open[owner]
        for lot_id, points in taken:
            lots[lot_id] = replace(lots[lot_id], remaining=lots[lot_id].remaining - points)
            self.moved[lot_id] = self.moved.get(lot_id, 0) + points

    def returned(self, owner: Owner, lot: Lot) -> None:
        """Points given back to a lot and already written (a cancellation)."""
        lots = self.open.get(owner)
        if lots is not None:
            known = lots.get(lot.lot_id)
            lots[lot.lot_id] = (
                lot if known is None else replace(known, remaining=known.remaining + lot.remaining)
            )

    def drain(self) -> list[tuple[int, int]]:
        """The moves not written yet, (lot id, points taken), in lot order; then forgets them."""
        moves = sorted((lot_id, n) for lot_id, n in self.moved.items() if n)
        self.moved.clear()
        return moves


@cache
def _reasons() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(
        (Path(__file__).parent / "reasons.json").read_text(encoding="utf-8")
    )
    return data


def reason_text(code: str, language: str) -> tuple[str, str]:
    """The decline reason in the customer's language (English when there is no translation)."""
    texts = _reasons().get(code, _reasons()["invalid_request"])
    wanted = language.strip().lower().split("-")[0]  # "af-ZA" and "AF" mean Afrikaans too
    if wanted in texts:
        return texts[wanted], wanted
    return texts["en"], "en"
