"""Vendors and the answers to "which vendor is behind this transaction?".

Pure values: nothing here does I/O. Confidence is an integer percentage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

MatchMethod = Literal["merchant_id", "user_code", "alias", "name", "fuzzy", "review", "none"]

# Methods that name a vendor without a person looking at it first.
MATCHED_METHODS: frozenset[MatchMethod] = frozenset(
    {"merchant_id", "user_code", "alias", "name", "fuzzy"}
)


@dataclass(frozen=True, slots=True)
class Vendor:
    """One entry of the vendor master."""

    vendor_id: str
    name: str
    category: str
    partner: bool
    accepts_redemptions: bool
    merchant_ids: tuple[str, ...] = ()
    user_codes: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchQuery:
    """What a transaction tells us about its vendor.

    Card transactions may carry `merchant_id` and `mcc`; debit-order records carry
    `user_code`; every transaction has a free-text `descriptor` (at most 40
    characters on the ESB, 10 for a debit-order short name).
    """

    merchant_id: str | None = None
    user_code: str | None = None
    descriptor: str
    mcc: str | None = None
    channel: str | None = None


class Candidate(NamedTuple):
    vendor_id: str
    confidence: int


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The vendor recognised (or not), how, and how sure we are (0..100).

    `vendor_id` is set only for a confident match; a `review` result leaves it
    empty and lists the `candidates` a person should choose from.
    """

    vendor_id: str | None
    method: MatchMethod
    confidence: int
    candidates: tuple[Candidate, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.confidence <= 100:
            raise ValueError(f"confidence {self.confidence} is outside 0..100")
        if (self.vendor_id is not None) != (self.method in MATCHED_METHODS):
            raise ValueError(f"method {self.method!r} does not fit vendor_id {self.vendor_id!r}")

    @property
    def matched(self) -> bool:
        return self.vendor_id is not None

    @property
    def needs_review(self) -> bool:
        return self.method == "review"


NO_MATCH = MatchResult(vendor_id=None, method="none", confidence=0)


@dataclass(frozen=True, slots=True)
class Learned:
    """What reviewers taught the matcher, keyed by the normalised descriptor.

    `confirmed` maps a descriptor to the vendor a reviewer named for it: from
    then on it is matched exactly. `rejected` lists, per descriptor, vendors a
    reviewer said it is not: they are never proposed for it again.
    """

    confirmed: Mapping[str, str] = field(default_factory=dict)
    rejected: Mapping[str, frozenset[str]] = field(default_factory=dict)


NOTHING_LEARNED = Learned()
