"""Taking points back: refunds in proportion, whole reversals, re-rating differences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def proportional_reversal(earned: int, already_reversed: int, original: int, refunded: int) -> int:
    """Points to take back for a (partial) refund: in proportion, never more than remain."""
    if original <= 0:
        return 0
    share = earned * min(refunded, original) // original
    return max(0, min(share, earned - already_reversed))


def replay_reversals(earned: int, original: int, refunds: Sequence[int]) -> int:
    """Points all the refunds (amounts in cents, in order) take back from `earned`."""
    reversed_total = 0
    for refunded in refunds:
        reversed_total += proportional_reversal(earned, reversed_total, original, refunded)
    return reversed_total


@dataclass(frozen=True, slots=True)
class Difference:
    """What a re-rating changes: points earned and points reversed (both as positive sums)."""

    earned: int
    reversed: int

    @property
    def posting(self) -> int:
        """The adjustment to post: more earned adds, more reversed takes back."""
        return self.earned - self.reversed

    def __bool__(self) -> bool:
        return bool(self.earned or self.reversed)


def rerate_difference(
    *, rerated: int, earned: int, reversed_: int, original: int, refunds: Sequence[int]
) -> Difference:
    """Fowler's difference adjustment: the re-rated earning and the refunds replayed on it,
    minus what stands (`earned` and `reversed_` so far, adjustments included)."""
    return Difference(rerated - earned, replay_reversals(rerated, original, refunds) - reversed_)
