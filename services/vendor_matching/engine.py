"""Recognise the vendor behind a transaction.

In order: the card's merchant id, the debit order's user code, the descriptor
equal to a vendor's name or alias once normalised, and last the descriptor's
words scored against every vendor name that shares one of them. Pure: build
once from the vendor master, then match from memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Final, Literal

from services.vendor_matching.domain import (
    NO_MATCH,
    Candidate,
    MatchQuery,
    MatchResult,
    Vendor,
)
from services.vendor_matching.lexicon import MCC_CATEGORIES
from services.vendor_matching.normalise import card_acceptor_name, compact, descriptor_tokens
from services.vendor_matching.text_index import TextIndex

_NameKind = Literal["name", "alias"]
_NO_CATEGORIES: Final = frozenset[str]()
# Channels whose descriptor may use the acquirer's fixed layout (None: not said).
_CARD_CHANNELS: Final = frozenset({None, "card"})


class VendorConflictError(ValueError):
    """Two vendors claim the same vendor id, merchant id or user code."""


@dataclass(frozen=True, slots=True)
class MatchingSettings:
    """Thresholds on the 0..100 confidence scale."""

    accept_threshold: int = 80
    review_threshold: int = 50
    # A best guess this close to the runner-up is a question for a person.
    ambiguity_margin: int = 5
    max_candidates: int = 3
    cache_size: int = 65_536

    def __post_init__(self) -> None:
        if not 0 < self.review_threshold <= self.accept_threshold <= 100:
            raise ValueError("need 0 < review_threshold <= accept_threshold <= 100")
        if self.ambiguity_margin < 0 or self.max_candidates < 1 or self.cache_size < 0:
            raise ValueError("ambiguity_margin, max_candidates and cache_size must be positive")


def _key(code: str) -> str:
    return code.strip().upper()


def _claim(index: dict[str, str], code: str, vendor_id: str, what: str) -> None:
    owner = index.setdefault(_key(code), vendor_id)
    if owner != vendor_id:
        raise VendorConflictError(f"{what} {code!r} belongs to both {owner!r} and {vendor_id!r}")


class MatchingEngine:
    """Indexes of one vendor master; answers `match` from memory."""

    def __init__(
        self,
        *,
        vendors: Sequence[Vendor],
        by_merchant_id: dict[str, str],
        by_user_code: dict[str, str],
        by_name: dict[str, tuple[tuple[str, _NameKind], ...]],
        text: TextIndex,
        settings: MatchingSettings,
    ) -> None:
        self._vendors = {vendor.vendor_id: vendor for vendor in vendors}
        self._by_merchant_id = by_merchant_id
        self._by_user_code = by_user_code
        self._by_name = by_name
        self._text = text
        self.settings = settings
        self._categories = {vendor.vendor_id: vendor.category for vendor in vendors}
        self._match_descriptor = lru_cache(maxsize=settings.cache_size)(self._descriptor)
        self._match_words = lru_cache(maxsize=settings.cache_size)(self._words)

    @classmethod
    def build(
        cls, vendors: Iterable[Vendor], settings: MatchingSettings | None = None
    ) -> MatchingEngine:
        """Index the vendor master once; raises VendorConflictError on clashing keys."""
        ordered = sorted(vendors, key=lambda vendor: vendor.vendor_id)
        by_merchant_id: dict[str, str] = {}
        by_user_code: dict[str, str] = {}
        by_name: dict[str, dict[str, _NameKind]] = {}
        forms: list[tuple[str, tuple[str, ...]]] = []
        seen: set[str] = set()
        for vendor in ordered:
            if vendor.vendor_id in seen:
                raise VendorConflictError(f"vendor id {vendor.vendor_id!r} appears twice")
            seen.add(vendor.vendor_id)
            for merchant_id in vendor.merchant_ids:
                _claim(by_merchant_id, merchant_id, vendor.vendor_id, "merchant id")
            for user_code in vendor.user_codes:
                _claim(by_user_code, user_code, vendor.vendor_id, "user code")
            named: list[tuple[str, _NameKind]] = [(vendor.name, "name")]
            named += [(alias, "alias") for alias in vendor.aliases]
            for text, kind in named:
                tokens = descriptor_tokens(text)
                if not tokens:
                    continue
                kinds = by_name.setdefault(compact(" ".join(tokens)), {})
                kinds.setdefault(vendor.vendor_id, kind)
                forms.append((vendor.vendor_id, tokens))
        return cls(
            vendors=ordered,
            by_merchant_id=by_merchant_id,
            by_user_code=by_user_code,
            by_name={key: tuple(sorted(kinds.items())) for key, kinds in by_name.items()},
            text=TextIndex(forms),
            settings=settings or MatchingSettings(),
        )

    @property
    def vendors(self) -> Mapping[str, Vendor]:
        """The indexed vendor master by vendor id (read-only)."""
        return MappingProxyType(self._vendors)

    def match(self, query: MatchQuery) -> MatchResult:
        """The vendor behind one transaction, or why not."""
        if query.merchant_id:
            vendor_id = self._by_merchant_id.get(_key(query.merchant_id))
            if vendor_id is not None:
                return MatchResult(vendor_id, "merchant_id", 100, (Candidate(vendor_id, 100),))
        if query.user_code:
            vendor_id = self._by_user_code.get(_key(query.user_code))
            if vendor_id is not None:
                return MatchResult(vendor_id, "user_code", 100, (Candidate(vendor_id, 100),))
        categories = MCC_CATEGORIES.get((query.mcc or "").strip(), _NO_CATEGORIES)
        descriptor = query.descriptor
        if query.channel in _CARD_CHANNELS:
            descriptor = card_acceptor_name(descriptor)
        return self._match_descriptor(descriptor, categories)

    def match_many(self, queries: Iterable[MatchQuery]) -> list[MatchResult]:
        """Match a batch; repeated descriptors are answered from the cache."""
        return [self.match(query) for query in queries]

    def cache_clear(self) -> None:
        """Forget remembered answers (for measuring; answers never go stale)."""
        self._match_descriptor.cache_clear()
        self._match_words.cache_clear()
        self._text.lookup.cache_clear()

    def _descriptor(self, descriptor: str, categories: frozenset[str]) -> MatchResult:
        return self._match_words(descriptor_tokens(descriptor), categories)

    def _words(self, tokens: tuple[str, ...], categories: frozenset[str]) -> MatchResult:
        """Exact name or alias first, then the scored words."""
        if not tokens:
            return NO_MATCH
        owners = self._by_name.get("".join(tokens), ())
        if len(owners) == 1:
            vendor_id, kind = owners[0]
            return MatchResult(vendor_id, kind, 100, (Candidate(vendor_id, 100),))
        scores = self._text.score(tokens)
        ranked = sorted(
            (Candidate(vendor_id, round(100 * score)) for vendor_id, score in scores.items()),
            key=lambda candidate: (-candidate.confidence, candidate.vendor_id),
        )
        return self._decide(ranked, categories)

    def _decide(self, ranked: list[Candidate], categories: frozenset[str]) -> MatchResult:
        """Accept a clear winner, queue a close call or a weak one, ignore the rest."""
        settings = self.settings
        if not ranked or ranked[0].confidence < settings.review_threshold:
            return NO_MATCH
        best = ranked[0]
        close = [c for c in ranked if c.confidence >= best.confidence - settings.ambiguity_margin]
        if len(close) > 1 and categories:
            fitting = [c for c in close if self._categories[c.vendor_id] in categories]
            if len(fitting) == 1:
                best, close = fitting[0], fitting
        shortlist = tuple([best, *(c for c in ranked if c != best)][: settings.max_candidates])
        if len(close) == 1 and best.confidence >= settings.accept_threshold:
            return MatchResult(best.vendor_id, "fuzzy", best.confidence, shortlist)
        return MatchResult(None, "review", best.confidence, shortlist)
