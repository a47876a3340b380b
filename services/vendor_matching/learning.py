"""What reviewers' decisions teach the matcher. Pure: the SQL is in repository.py.

A confirmation makes the reviewed descriptor (normalised, as the matcher read
it) an exact alias of the vendor named; a rejection stops that vendor being
proposed for it. A rejection that names no vendor ("none of these") rejects
every candidate the review listed. Within one batch a later decision on the
same descriptor and vendor overrides an earlier one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Decision = Literal["confirm", "reject"]


@dataclass(frozen=True, slots=True)
class ReviewDecision:
    """A reviewer's answer to one review."""

    review_id: str
    decision: Decision
    vendor_id: str | None
    actor: str


@dataclass(frozen=True, slots=True)
class ClosedReview:
    """A review this decision closed, with what the matcher had read and proposed."""

    review_id: str
    descriptor_norm: str
    decision: Decision
    vendor_id: str | None
    candidates: tuple[str, ...]
    actor: str


@dataclass(frozen=True, slots=True)
class Lesson:
    """One descriptor and one vendor: confirmed as it, or rejected for it."""

    descriptor_norm: str
    vendor_id: str
    review_id: str
    actor: str


def first_decision_per_review(decisions: Iterable[ReviewDecision]) -> list[ReviewDecision]:
    """The first decision closes a review; later ones in the same batch find it closed."""
    seen: dict[str, ReviewDecision] = {}
    for decision in decisions:
        seen.setdefault(decision.review_id, decision)
    return list(seen.values())


def lessons(reviews: Iterable[ClosedReview]) -> tuple[list[Lesson], list[Lesson]]:
    """The confirmations and the rejections to remember, at most one per key."""
    confirmed: dict[str, Lesson] = {}
    rejected: dict[tuple[str, str], Lesson] = {}
    for review in reviews:
        key = review.descriptor_norm
        if not key:
            continue  # nothing the matcher could read: nothing to learn
        if review.decision == "confirm":
            if review.vendor_id is None:
                continue
            lesson = Lesson(key, review.vendor_id, review.review_id, review.actor)
            confirmed[key] = lesson
            rejected.pop((key, review.vendor_id), None)
            continue
        named = (review.vendor_id,) if review.vendor_id else review.candidates
        for vendor_id in named:
            rejected[key, vendor_id] = Lesson(key, vendor_id, review.review_id, review.actor)
            if key in confirmed and confirmed[key].vendor_id == vendor_id:
                del confirmed[key]
    return list(confirmed.values()), list(rejected.values())
