"""Recognise the vendor behind a transaction.

In order: the card's merchant id, the debit order's user code, what reviewers
taught about this descriptor, the descriptor equal to a vendor's name or alias
once normalised, and last the descriptor's words scored against every vendor
name that shares one of them. A scored vendor is accepted only when it is a
clear winner, its evidence is conclusive (see `text_index`), no word of the
descriptor names another trade, and a descriptor keeping a word the vendor does
not explain (another business sharing the name: `TEMPEST SURF SHOP`) clears the
accept threshold by a margin (8 by default). Pure: build once from the vendor
master, then match from memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final, Literal

from services.vendor_matching.domain import (
    NO_MATCH,
    NOTHING_LEARNED,
    Candidate,
    Learned,
    MatchMethod,
    MatchQuery,
    MatchResult,
    Vendor,
)
from services.vendor_matching.lexicon import MCC_CATEGORIES
from services.vendor_matching.normalise import card_acceptor_name, compact, descriptor_tokens
from services.vendor_matching.text_index import Evidence, TextIndex
from services.vendor_matching.trades import (
    CATEGORY_WORDS,
    CUT_PLACES,
    FORMAT_WORD_CUTS,
    FORMAT_WORDS,
    TRADE_WORDS,
    ends_with_place,
    is_format_word_typo,
)

_NameKind = Literal["name", "alias"]
_Tokens = tuple[str, ...]
_NO_CATEGORIES: Final = frozenset[str]()
_NOBODY: Final = frozenset[str]()
# `SCHOO` at the end of a descriptor cut at its field's width is `SCHOOL`; a
# shorter stump (`CONTR`, `GREE`) begins too many other words.
_MIN_CUT_TRADE_WORD: Final = 5
_MIN_CUT_TRADE_SHARE: Final = 0.6
_CUT_TRADE_WORDS: Final = {
    word[:end]: trades
    for word, trades in sorted(TRADE_WORDS.items())
    for end in range(_MIN_CUT_TRADE_WORD, len(word))
    if end >= _MIN_CUT_TRADE_SHARE * len(word)
}
# Channels whose descriptor may use the acquirer's fixed layout (None: not said).
_CARD_CHANNELS: Final = frozenset({None, "card"})
# Letters left of a word cut by the field's width or of a bank's suffix (`(CA`).
_MAX_STUB_LENGTH: Final = 2
_COUNTRY_SUFFIXES: Final = ("ZAF", "ZA")
_WORD_MEMO_SIZE: Final = 65_536
# How a descriptor's words stand with its best vendor.
_Fit = Literal["explained", "distinctive", "other_trade"]


class VendorConflictError(ValueError):
    """Two vendors claim the same vendor id, merchant id or user code."""


@dataclass(frozen=True, slots=True)
class MatchingSettings:
    """Thresholds on the 0..100 confidence scale."""

    accept_threshold: int = 80
    review_threshold: int = 50
    # A descriptor keeping a word its vendor does not explain (`TEMPEST SURF SHOP`
    # for the car hire) may be another business sharing the name: it is accepted
    # only this far above the accept threshold (None: no margin). A branch
    # missing from the gazetteer (places.py) or a trading name missing from the
    # aliases then goes to review too, hence the lists' size.
    distinctive_word_margin: int | None = 8
    # A best guess this close to the runner-up is a question for a person.
    ambiguity_margin: int = 5
    max_candidates: int = 3
    cache_size: int = 65_536

    def __post_init__(self) -> None:
        if not 0 < self.review_threshold <= self.accept_threshold <= 100:
            raise ValueError("need 0 < review_threshold <= accept_threshold <= 100")
        if self.ambiguity_margin < 0 or self.max_candidates < 1 or self.cache_size < 0:
            raise ValueError("ambiguity_margin, max_candidates and cache_size must be positive")
        if self.distinctive_word_margin is not None and self.distinctive_word_margin < 0:
            raise ValueError("distinctive_word_margin must not be negative")


def _stands_for_own(found: Sequence[tuple[str, float, bool]], own: frozenset[str]) -> bool:
    """Whether two words run together read best as the vendor's own: `DIS CHEM` as
    `DISCHEM`, but not `NANDOS BAR` as `NANDOS` + another vendor's `BAR`."""
    mine = others = -1.0  # none found: similarities are never negative
    for word, similarity, _ in found:
        if word in own:
            mine = max(mine, similarity)
        else:
            others = max(others, similarity)
    return mine >= 0.0 and others < mine


def _says_kind_of_outlet(token: str) -> bool:
    """A stub of a letter or two, or a kind of outlet (`HYPER`), maybe with a slip
    (`SERIVCE`): words that never tell one business from another."""
    return len(token) <= _MAX_STUB_LENGTH or token in FORMAT_WORDS or is_format_word_typo(token)


def _candidate(vendor_id: str, confidence: int) -> Candidate:
    """`Candidate(vendor_id, confidence)`, made as the named tuple's own `__new__` makes
    it but without calling that Python function, a frame that costs compiled code more
    than ranking the few scored vendors does."""
    return tuple.__new__(Candidate, (vendor_id, confidence))


def _certain(vendor_id: str, method: MatchMethod) -> MatchResult:
    """The answer naming a vendor for certain."""
    return MatchResult(vendor_id, method, 100, (Candidate(vendor_id, 100),))


def _key(code: str) -> str:
    return code.strip().upper()


def _claim(index: dict[str, str], code: str, vendor_id: str, what: str) -> None:
    owner = index.setdefault(_key(code), vendor_id)
    if owner != vendor_id:
        raise VendorConflictError(f"{what} {code!r} belongs to both {owner!r} and {vendor_id!r}")


def _name_part(query: MatchQuery) -> str:
    """The descriptor without the acquirer's city field when it may be a card's."""
    if query.channel in _CARD_CHANNELS:
        return card_acceptor_name(query.descriptor)
    return query.descriptor


def learning_key(query: MatchQuery) -> str:
    """The normalised descriptor a reviewer's decision on this query is remembered by."""
    return " ".join(descriptor_tokens(_name_part(query)))


class MatchingEngine:
    """Indexes of one vendor master; answers `match` from memory."""

    def __init__(
        self,
        *,
        vendors: Sequence[Vendor],
        by_merchant_id: dict[str, str],
        by_user_code: dict[str, str],
        by_name: dict[str, tuple[MatchResult, ...]],
        text: TextIndex,
        settings: MatchingSettings,
        learned: Learned = NOTHING_LEARNED,
    ) -> None:
        self._vendors = {vendor.vendor_id: vendor for vendor in vendors}
        self._learned = learned
        self._by_merchant_id = by_merchant_id
        self._by_user_code = by_user_code
        # Each normalised name's owners as the answer naming each, built once: an exact
        # hit (four in ten descriptors) allocates nothing.
        self._by_name = by_name
        self._text = text
        self.settings = settings
        self._categories = {vendor.vendor_id: vendor.category for vendor in vendors}
        self._own_words = text.words_by_vendor()
        self._match_descriptor: Callable[[str, frozenset[str]], MatchResult] = self._descriptor
        self._match_words: Callable[[_Tokens, frozenset[str]], MatchResult] = self._words
        # What a word says on its own is judged once (a memo per word, like the text index's).
        self._says_kind_of_outlet = lru_cache(maxsize=_WORD_MEMO_SIZE)(_says_kind_of_outlet)
        self._caches: tuple[Any, ...] = ()
        if settings.cache_size:
            descriptors = lru_cache(maxsize=settings.cache_size)(self._descriptor)
            words = lru_cache(maxsize=settings.cache_size)(self._words)
            self._match_descriptor, self._match_words = descriptors, words
            self._caches = (descriptors, words)

    @classmethod
    def build(
        cls,
        vendors: Iterable[Vendor],
        settings: MatchingSettings | None = None,
        learned: Learned = NOTHING_LEARNED,
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
            by_name={
                key: tuple(_certain(vendor_id, kind) for vendor_id, kind in sorted(kinds.items()))
                for key, kinds in by_name.items()
            },
            text=TextIndex(forms),
            settings=settings or MatchingSettings(),
            learned=learned,
        )

    def with_learned(self, learned: Learned) -> MatchingEngine:
        """The same vendor master with other reviewers' lessons (no re-indexing)."""
        return self._sharing_indexes(self.settings, learned)

    def with_settings(self, settings: MatchingSettings) -> MatchingEngine:
        """The same vendor master with other thresholds or cache size (no re-indexing)."""
        return self._sharing_indexes(settings, self._learned)

    def _sharing_indexes(self, settings: MatchingSettings, learned: Learned) -> MatchingEngine:
        return MatchingEngine(
            vendors=list(self._vendors.values()),
            by_merchant_id=self._by_merchant_id,
            by_user_code=self._by_user_code,
            by_name=self._by_name,
            text=self._text,
            settings=settings,
            learned=learned,
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
                return _certain(vendor_id, "merchant_id")
        if query.user_code:
            vendor_id = self._by_user_code.get(_key(query.user_code))
            if vendor_id is not None:
                return _certain(vendor_id, "user_code")
        categories = MCC_CATEGORIES.get((query.mcc or "").strip(), _NO_CATEGORIES)
        return self._match_descriptor(_name_part(query), categories)

    def match_many(self, queries: Iterable[MatchQuery]) -> list[MatchResult]:
        """Match a batch; repeated descriptors are answered from the cache."""
        return [self.match(query) for query in queries]

    def cache_clear(self) -> None:
        """Forget remembered answers (for measuring; answers never go stale)."""
        for cache in self._caches:
            cache.cache_clear()
        self._says_kind_of_outlet.cache_clear()
        self._text.cache_clear()

    def _descriptor(self, descriptor: str, categories: frozenset[str]) -> MatchResult:
        return self._match_words(descriptor_tokens(descriptor), categories)

    def _words(self, tokens: tuple[str, ...], categories: frozenset[str]) -> MatchResult:
        """What a reviewer said, then the exact name or alias, then the scored words."""
        if not tokens:
            return NO_MATCH
        rejected = _NOBODY
        learned = self._learned
        if learned.confirmed or learned.rejected:
            key = " ".join(tokens)
            rejected = learned.rejected.get(key, _NOBODY)
            confirmed = learned.confirmed.get(key)
            if confirmed in self._vendors and confirmed not in rejected:
                return _certain(confirmed, "alias")
        owners = self._by_name.get("".join(tokens), ())
        if rejected:
            owners = tuple(owner for owner in owners if owner.vendor_id not in rejected)
        if len(owners) == 1:
            return owners[0]
        scores = self._text.score(tokens)
        if not scores:
            return NO_MATCH
        return self._decide(self._ranked(scores, rejected), categories, scores, tokens)

    def _ranked(self, scores: dict[str, Evidence], rejected: frozenset[str]) -> list[Candidate]:
        """The scored vendors best first (ties by vendor id), as far as a decision reads:
        those within the ambiguity margin of the best, and the shortlist's worth."""
        order = sorted(
            [
                (-round(100 * evidence.score), vendor_id)
                for vendor_id, evidence in scores.items()
                if vendor_id not in rejected
            ]
        )
        if not order:
            return []
        settings = self.settings
        close = -order[0][0] - settings.ambiguity_margin
        ranked: list[Candidate] = []
        for negated, vendor_id in order:
            if len(ranked) >= settings.max_candidates and -negated < close:
                break
            ranked.append(_candidate(vendor_id, -negated))
        return ranked

    def _conclusive(
        self, scores: dict[str, Evidence], best: Candidate, tokens: tuple[str, ...]
    ) -> bool:
        if not scores[best.vendor_id].conclusive:
            return False
        fit = self._fit(best.vendor_id, tokens)
        if fit == "distinctive":
            settings = self.settings
            margin = settings.distinctive_word_margin
            return margin is None or best.confidence >= settings.accept_threshold + margin
        return fit == "explained"

    def _fit(self, vendor_id: str, tokens: tuple[str, ...]) -> _Fit:
        """Whether the vendor explains every word of the descriptor.

        A word is explained when it stands for one of the vendor's own words
        (alone or run together with the next, cut short or with a slip), says
        what kind of outlet it is (`HYPER`, `EXPRESS`, `STORE`; `FORMAT_WORDS`),
        names a line of the vendor's category (`MENSWEAR` for a retailer, `UNIT
        TRUSTS` for an insurer; `CATEGORY_WORDS`), is a stub of a letter or two,
        or belongs to a place cut short at the end (`GREEN PO`, `CRADLESTON`,
        `SHEPSTONZA`); the last word may also be any known word cut by the
        field's width. A trade word (`FERRIES`) is explained only by the
        vendor's own names or its category's lines: one of another trade than the
        vendor's makes it `other_trade` (never accepted), one of the same trade
        `distinctive`, like any other unexplained word (`SURF`, `CRICKET`).
        """
        own = self._own_words.get(vendor_id, _NOBODY)
        explained = self._explain_own(own, tokens)
        if not all(explained):
            self._explain_cut_place(tokens, explained)
        fit: _Fit = "explained"
        category = self._categories[vendor_id]
        lines = CATEGORY_WORDS.get(category, _NOBODY)
        last = len(tokens) - 1
        for number, token in enumerate(tokens):
            trades = TRADE_WORDS.get(token)
            if trades is None and number == last:
                trades = _CUT_TRADE_WORDS.get(token)  # the field ended mid-word
            if trades is not None and token not in own and category not in trades:
                return "other_trade"
            if explained[number] or token in lines:
                continue
            if trades is not None:
                if token not in FORMAT_WORDS:  # `CAFE` for a grocer is a kind of outlet
                    fit = "distinctive"
            elif not (
                self._says_kind_of_outlet(token) or (number == last and self._cut_word(token))
            ):
                fit = "distinctive"
        return fit

    def _explain_own(self, own: frozenset[str], tokens: tuple[str, ...]) -> list[bool]:
        """Which words stand for one of the vendor's own, alone or with the next."""
        text = self._text
        count = len(tokens)
        explained = [False] * count
        for number, token in enumerate(tokens):
            if number + 1 < count and _stands_for_own(text.lookup(token + tokens[number + 1]), own):
                explained[number] = explained[number + 1] = True
            elif not explained[number]:
                explained[number] = token in own or any(w in own for w, _, _ in text.lookup(token))
        return explained

    def _cut_word(self, token: str) -> bool:
        return token in FORMAT_WORD_CUTS or self._text.begins_a_word(token)

    @staticmethod
    def _explain_cut_place(tokens: tuple[str, ...], explained: list[bool]) -> None:
        """Mark the words of a place cut short at the end of the descriptor (or just
        before stubs), a country code run into it taken off."""
        end = len(tokens)
        while end and len(tokens[end - 1]) <= _MAX_STUB_LENGTH:
            end -= 1  # stubs are explained anyway
        if not end:
            return
        last = tokens[end - 1]
        for suffix in _COUNTRY_SUFFIXES:
            if last.endswith(suffix) and len(last) > len(suffix) + _MAX_STUB_LENGTH:
                last = last[: -len(suffix)]
                break
        tail = (*tokens[: end - 1], last)
        for start in range(end):
            if tail[start:] in CUT_PLACES:
                explained[start:end] = [True] * (end - start)
                return
        if ends_with_place(last):
            explained[end - 1] = True

    def _decide(
        self,
        ranked: list[Candidate],
        categories: frozenset[str],
        scores: dict[str, Evidence],
        tokens: tuple[str, ...],
    ) -> MatchResult:
        """Accept a clear, conclusive winner, queue a close call or a weak one, ignore the
        rest."""
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
        if (
            len(close) == 1
            and best.confidence >= settings.accept_threshold
            and self._conclusive(scores, best, tokens)
        ):
            return MatchResult(best.vendor_id, "fuzzy", best.confidence, shortlist)
        return MatchResult(None, "review", best.confidence, shortlist)
