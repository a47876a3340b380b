"""Inverted indexes over vendor names for matching free-text descriptors.

The old statement reader compared each descriptor with every vendor. Here a
descriptor's words are looked up in a word index (exact), a prefix index
(truncations, abbreviations) and a deletion-neighbourhood index (typos); only the vendor
names that share a word with the descriptor are scored, so the work grows with
the few names that could match, not with the size of the vendor master.

A vendor name's score is how much of it the descriptor covers (words weighted
by rarity, IDF), lowered a little for descriptor words the name leaves
unexplained. Scores are floats in 0..1 here; the engine turns them into
integer percentages. A score is also marked *conclusive* or not: when some
descriptor words stay unexplained (`PETROS BARBER`, `VIVA MEXICO`), the name
must have been found through two of its words, or through one that is neither
an everyday word nor a short word with a slip in it; otherwise a person should
look.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, TypeVar, final

from services.vendor_matching.lexicon import COMMON_WORDS, GENERIC_WORDS
from services.vendor_matching.similarity import (
    MIN_PREFIX_LENGTH,
    MIN_TYPO_LENGTH,
    allowed_typos,
    deletion_neighbourhood,
    prefix_similarity,
    typo_similarity,
)

# A descriptor word no vendor uses weighs this share of the rarest vendor word.
UNKNOWN_WORD_WEIGHT: Final = 0.6
# One-letter words (`PICK N PAY`, `CELL C`) say little on their own, and
# generic words (`MARKET`, `INSURANCE`) little about which vendor it is.
SHORT_WORD_FACTOR: Final = 0.25
GENERIC_WORD_FACTOR: Final = 0.3
# An everyday word (`GAME`, `TOTAL`) explains only this share of its weight in
# a descriptor: `GAME RANGERS ASSOC` is probably not the retailer.
COMMON_WORD_FACTOR: Final = 0.5
# How much unexplained descriptor words can lower a score. Branch and mall
# names are common, so this is mild.
UNEXPLAINED_PENALTY: Final = 0.35
# Adjacent descriptor words are also tried run together (`DIS CHEM` -> `DISCHEM`).
MAX_COMPOUND_WORDS: Final = 3
# A glued short name split into vendor words (`SANLAMLIFE`, `FOSCHINIAC`).
SPLIT_SIMILARITY: Final = 0.9
MIN_SPLIT_HEAD: Final = 4
MIN_GLUED_LENGTH: Final = 8
MAX_PADDING: Final = 2
# When every descriptor word belongs to a name, words missing only from the
# end of the name (`DISCOVERY` for `DISCOVERY HEALTH`) count for this share:
# names are cut short far more often than they lose a word in the middle.
TAIL_CREDIT: Final = 0.25
# Words in more vendor names than this (and generic words) do not on their own
# make a name worth scoring: without one of its rarer words a name cannot
# reach the review threshold anyway, and `TRADERS` would otherwise pull in
# thousands of names.
FREQUENT_WORD_VENDORS: Final = 20
FREQUENT_WORD_SHARE: Final = 0.01
# A slip in a word this long still names it; a shorter word one edit away from a
# vendor's (`PETROS` and `PEDROS`, `CANSA` and `CANVA`) may be another word.
SURE_TYPO_LENGTH: Final = 8
_LOOKUP_CACHE_SIZE: Final = 65_536
# The typo search first checks a word's first and last letters against the indexed
# variants' (no shorter than MIN_TYPO_LENGTH - 1).
_END_LENGTH: Final = MIN_TYPO_LENGTH - 1

_Tokens = tuple[str, ...]
_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class _Form:
    """One way of writing a vendor's name, as weighted words."""

    vendor_id: str
    tokens: _Tokens
    weights: tuple[float, ...]
    total: float


# A vendor word found in the descriptor: similarity, the descriptor's word
# positions as a bit mask, and whether it is more than a slip in a short word.
_Hit = tuple[float, int, bool]


@final
class Evidence:
    """A vendor's score for a descriptor and whether it may be accepted without a person.

    A plain class, not a named tuple: compiled, making one is a C call, not a Python one.
    """

    __slots__ = ("conclusive", "score")

    def __init__(self, score: float, conclusive: bool) -> None:
        self.score = score
        self.conclusive = conclusive


# A descriptor word that stands for a vendor word: how similar, and whether the
# resemblance is more than a slip in a short word.
_Found = tuple[str, float, bool]


def _remember(memo: dict[str, _V], word: str, value: _V) -> None:
    """Keep a word's answer, starting the memo afresh when it is full: words repeat,
    so the few thousand in use are soon back, and memory stays bounded."""
    if len(memo) >= _LOOKUP_CACHE_SIZE:
        memo.clear()
    memo[word] = value


def _word_factor(token: str) -> float:
    if len(token) == 1:
        return SHORT_WORD_FACTOR
    return GENERIC_WORD_FACTOR if token in GENERIC_WORDS else 1.0


def _with_joined_forms(
    forms: Iterable[tuple[str, _Tokens]],
) -> tuple[list[tuple[str, _Tokens]], dict[str, int]]:
    """Every form plus its words run together (`PICK N PAY` -> `PICKNPAY`), and for
    each word the shortest prefix that may stand for it: a prefix of a run-together
    name must reach past its first word (`VIRGINACT` is `VIRGINACTIVE`, `CITY` alone
    is not `CITYLODGE`)."""
    named = {(vendor_id, tokens) for vendor_id, tokens in forms if tokens}
    min_prefix: dict[str, int] = {}
    for vendor_id, tokens in list(named):
        if len(tokens) > 1:
            joined = "".join(tokens)
            named.add((vendor_id, (joined,)))
            floor = max(MIN_PREFIX_LENGTH, len(tokens[0]) + 1)
            min_prefix[joined] = min(min_prefix.get(joined, floor), floor)
    for _, tokens in named:
        for token in tokens:
            if len(tokens) > 1 or token not in min_prefix:
                min_prefix[token] = MIN_PREFIX_LENGTH
    return sorted(named), min_prefix


class TextIndex:
    """Scores vendors against the words of a normalised descriptor."""

    def __init__(self, forms: Iterable[tuple[str, _Tokens]]) -> None:
        named, min_prefix = _with_joined_forms(forms)
        vendors_by_token: dict[str, set[str]] = {}
        for vendor_id, tokens in named:
            for token in tokens:
                vendors_by_token.setdefault(token, set()).add(vendor_id)
        vendor_count = max(1, len({vendor_id for vendor_id, _ in named}))
        self._idf = {
            token: _word_factor(token) * (1.0 + math.log(vendor_count / len(ids)))
            for token, ids in vendors_by_token.items()
        }
        self._unknown_weight = UNKNOWN_WORD_WEIGHT * (1.0 + math.log(vendor_count))
        self._forms = tuple(
            _Form(vendor_id, tokens, weights, sum(weights))
            for vendor_id, tokens in named
            for weights in [tuple(self._idf[token] for token in tokens)]
        )
        frequent = max(FREQUENT_WORD_VENDORS, FREQUENT_WORD_SHARE * vendor_count)
        weak = {
            t for t, ids in vendors_by_token.items() if len(ids) > frequent or t in GENERIC_WORDS
        }
        postings: dict[str, list[int]] = {token: [] for token in vendors_by_token}
        for number, form in enumerate(self._forms):
            anchors = [token for token in form.tokens if token not in weak] or form.tokens
            for token in dict.fromkeys(anchors):
                postings[token].append(number)
        self._postings = {token: tuple(numbers) for token, numbers in postings.items()}
        prefixes: dict[str, list[str]] = {}
        near: dict[str, list[str]] = {}
        for token in sorted(self._postings):
            for end in range(min_prefix[token], len(token)):
                prefixes.setdefault(token[:end], []).append(token)
            if len(token) >= MIN_TYPO_LENGTH:
                for variant in deletion_neighbourhood(token):
                    near.setdefault(variant, []).append(token)
        self._prefixes = {prefix: tuple(tokens) for prefix, tokens in prefixes.items()}
        self._near = {variant: tuple(tokens) for variant, tokens in near.items()}
        self._near_heads = frozenset(variant[:_END_LENGTH] for variant in near)
        self._near_tails = frozenset(variant[-_END_LENGTH:] for variant in near)
        self._rows = tuple(
            (form.vendor_id, tuple(zip(form.tokens, form.weights, strict=True)), form.total)
            for form in self._forms
        )
        # Per-word memos: plain dictionaries, not `lru_cache`, whose call and
        # bookkeeping cost more than a compiled dictionary lookup on the hot path.
        self._found: dict[str, tuple[_Found, ...]] = {}
        self._analysed: dict[str, tuple[tuple[_Found, ...], float]] = {}

    @property
    def form_count(self) -> int:
        return len(self._forms)

    def cache_clear(self) -> None:
        """Forget the remembered word lookups (for measuring)."""
        self._found.clear()
        self._analysed.clear()

    def words_by_vendor(self) -> dict[str, frozenset[str]]:
        """Every word of each vendor's names and aliases."""
        words: dict[str, set[str]] = {}
        for form in self._forms:
            words.setdefault(form.vendor_id, set()).update(form.tokens)
        return {vendor_id: frozenset(found) for vendor_id, found in words.items()}

    def begins_a_word(self, word: str) -> bool:
        """Whether `word` may be a vendor word cut short (`CONNE` for `CONNECTION`)."""
        return word in self._prefixes

    def lookup(self, word: str) -> tuple[_Found, ...]:
        """Vendor words that `word` may stand for, with their similarity (remembered)."""
        found = self._found.get(word)
        if found is None:
            found = self._lookup(word)
            _remember(self._found, word, found)
        return found

    def analyse(self, word: str) -> tuple[tuple[_Found, ...], float]:
        """The vendor words a descriptor word may stand for, and its weight (remembered)."""
        analysed = self._analysed.get(word)
        if analysed is None:
            analysed = self._analyse(word)
            _remember(self._analysed, word, analysed)
        return analysed

    def _lookup(self, word: str) -> tuple[_Found, ...]:
        """Vendor words that `word` may stand for, with their similarity."""
        found: dict[str, tuple[float, bool]] = {}
        if word in self._postings:
            found[word] = (1.0, True)
        if word in GENERIC_WORDS:
            return tuple((token, *rest) for token, rest in found.items())
        for token in self._prefixes.get(word, ()):
            found.setdefault(token, (prefix_similarity(word, token), True))
        if not found:
            found.update((token, (similarity, True)) for token, similarity in self._split(word))
        if word not in self._postings:
            sure = len(word) >= SURE_TYPO_LENGTH
            for token, similarity in self._typos(word):
                found.setdefault(token, (similarity, sure))
        return tuple((token, *rest) for token, rest in sorted(found.items()))

    def _typos(self, word: str) -> list[tuple[str, float]]:
        """Vendor words a slip of the finger away (`WOOLWROTHS` -> `WOOLWORTHS`).

        Symmetric deletion: two words one edit apart (substitution, insertion,
        deletion or swap) share a variant with one letter deleted, so a handful
        of dictionary lookups finds every candidate whatever the vocabulary size.
        (Long words may be accepted two edits away, when such a variant is shared.)
        """
        if not allowed_typos(len(word)):
            return []
        near = self._near
        # The variants are looked up as they are cut, not gathered in a set first:
        # this runs for every new word, and most variants find nothing.
        candidates: set[str] = set()
        whole, cuts = self._typo_cuts(word)
        if whole:
            candidates.update(near.get(word, ()))
        for cut in cuts:
            candidates.update(near.get(word[:cut] + word[cut + 1 :], ()))
        scored = ((token, typo_similarity(word, token)) for token in sorted(candidates))
        return [(token, similarity) for token, similarity in scored if similarity > 0.0]

    def _typo_cuts(self, word: str) -> tuple[bool, range]:
        """Whether the word itself, and which of its one-letter deletions, may be an
        indexed variant.

        A deletion after the first four letters keeps them, one before the last four
        keeps those: when no indexed variant begins (or ends) like the word, only the
        deletions within its first (or last) four letters are worth looking up. Most
        new words are runs of descriptor words, and this spares most of their lookups.
        """
        length = len(word)
        head_known = word[:_END_LENGTH] in self._near_heads
        tail_known = word[-_END_LENGTH:] in self._near_tails
        first = 0 if tail_known else max(0, length - _END_LENGTH)
        last = length if head_known else min(_END_LENGTH, length)
        return head_known and tail_known, range(first, last)

    def _split(self, word: str) -> list[tuple[str, float]]:
        """A short name glued from two vendor words (`SANLAMLIFE`) or padded with a
        letter or two (`FOSCHINIAC`), longest vendor word first."""
        for cut in range(len(word) - 1, MIN_SPLIT_HEAD - 1, -1):
            head, tail = word[:cut], word[cut:]
            if head not in self._postings:
                continue
            if tail in self._postings:
                return [(head, SPLIT_SIMILARITY), (tail, SPLIT_SIMILARITY)]
            if len(tail) <= MAX_PADDING and len(word) >= MIN_GLUED_LENGTH:
                return [(head, SPLIT_SIMILARITY)]
        return []

    def _weight(self, matches: tuple[_Found, ...], word: str) -> float:
        """How much a descriptor word needs explaining: as much as the vendor word
        it resembles most, or a fixed weight if it resembles none."""
        if not matches:
            return self._unknown_weight * _word_factor(word)
        _, token = max((similarity, token) for token, similarity, _ in matches)
        return self._idf[token] * (COMMON_WORD_FACTOR if token in COMMON_WORDS else 1.0)

    def _analyse(self, word: str) -> tuple[tuple[_Found, ...], float]:
        """The vendor words a descriptor word may stand for, and its weight."""
        matches = self.lookup(word)
        return matches, self._weight(matches, word)

    def _hits(self, tokens: _Tokens) -> tuple[dict[str, _Hit], list[float]]:
        """The vendor words found (at which word positions, as a bit mask) and the
        weight of each descriptor word. Runs of up to three words are also tried
        together (`DIS CHEM` -> `DISCHEM`)."""
        hits: dict[str, _Hit] = {}
        weights: list[float] = []
        count = len(tokens)
        for start in range(count):
            matches, weight = self.analyse(tokens[start])
            weights.append(weight)
            mask = 1 << start
            joined = tokens[start]
            for end in range(start, min(start + MAX_COMPOUND_WORDS, count)):
                if end > start:
                    joined += tokens[end]
                    mask |= 1 << end
                    matches = self.lookup(joined)
                for token, similarity, sure in matches:
                    known = hits.get(token)
                    if known is None or similarity > known[0]:
                        hits[token] = (similarity, mask, sure)
                    elif similarity == known[0]:
                        hits[token] = (similarity, known[1] | mask, sure)
        return hits, weights

    def score(self, tokens: _Tokens) -> dict[str, Evidence]:
        """Each plausible vendor's score in 0..1 for these descriptor words."""
        hits, weights = self._hits(tokens)
        if not hits:
            return {}
        descriptor_total = sum(weights)
        every_word = (1 << len(tokens)) - 1
        postings = self._postings
        if len(hits) == 1:
            numbers: Iterable[int] = postings[next(iter(hits))]  # already in order
        else:
            numbers = sorted({number for token in hits for number in postings[token]})
        unexplained_by_mask: dict[int, float] = {}
        scores: dict[str, Evidence] = {}
        rows = self._rows
        for number in numbers:
            vendor_id, words, total = rows[number]
            covered = tail = 0.0
            explained = sure_hits = 0
            telling = False
            for token, weight in words:
                hit = hits.get(token)
                if hit is None:
                    tail += weight
                    continue
                similarity, mask, sure = hit
                covered += weight * similarity
                explained |= mask
                tail = 0.0
                if sure:
                    sure_hits += 1
                    telling = telling or token not in COMMON_WORDS
            whole = explained == every_word
            if whole:
                covered += TAIL_CREDIT * tail
                unexplained = 0.0
            else:
                unexplained = unexplained_by_mask.get(explained, -1.0)
                if unexplained < 0.0:
                    kept = sum(w for p, w in enumerate(weights) if explained >> p & 1)
                    unexplained = unexplained_by_mask[explained] = 1.0 - kept / descriptor_total
            score = covered / total * (1.0 - UNEXPLAINED_PENALTY * unexplained)
            known = scores.get(vendor_id)
            if known is None or score > known.score:
                # Everyday words together (`CAPE UNION MART`) name a vendor as well.
                scores[vendor_id] = Evidence(score, whole or telling or sure_hits > 1)
        return scores
