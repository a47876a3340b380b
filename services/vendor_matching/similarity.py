"""How alike two words are: truncations, abbreviations and typos.

Similarities are in 0..1 (internal arithmetic only; results leave the engine
as integer percentages).
"""

from __future__ import annotations

from typing import Final

MIN_PREFIX_LENGTH: Final = 3
# A prefix must keep half the word: `ACT` may stand for `ACTIVE`, but `STAR`
# is not `STARBUCKS`.
MIN_PREFIX_RATIO: Final = 0.5
# Shorter words are too often other real words (`BOLD` is not `BOLT`).
MIN_TYPO_LENGTH: Final = 5
TWO_TYPO_LENGTH: Final = 9


def deletion_neighbourhood(word: str) -> frozenset[str]:
    """The word and every way of deleting one letter from it."""
    return frozenset({word, *(word[:i] + word[i + 1 :] for i in range(len(word)))})


def prefix_similarity(part: str, whole: str) -> float:
    """How well `part`, cut short, stands for `whole` (0 if it cannot)."""
    if len(part) < MIN_PREFIX_LENGTH or len(part) >= len(whole) or not whole.startswith(part):
        return 0.0
    ratio = len(part) / len(whole)
    if ratio < MIN_PREFIX_RATIO:
        return 0.0
    return 0.6 + 0.4 * ratio


def allowed_typos(length: int) -> int:
    """Edits tolerated in a word of this length: none below 5 letters, one, then two from 9."""
    if length < MIN_TYPO_LENGTH:
        return 0
    return 1 if length < TWO_TYPO_LENGTH else 2


def _without_common_ends(a: str, b: str) -> tuple[str, str]:
    """Both words without the letters they begin and end with alike.

    An optimal alignment matches those letters to each other (no edit, and no swap,
    can straddle them), so the distance is that of what is left: a slip of the
    finger leaves a letter or two, and the alignment table shrinks to a few cells.
    """
    shorter = min(len(a), len(b))
    start = 0
    while start < shorter and a[start] == b[start]:
        start += 1
    end = 0
    while end < shorter - start and a[len(a) - 1 - end] == b[len(b) - 1 - end]:
        end += 1
    return a[start : len(a) - end], b[start : len(b) - end]


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (transpositions count once), capped at limit+1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    a, b = _without_common_ends(a, b)
    if not a or not b:
        return min(len(a) + len(b), limit + 1)
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                best = min(best, previous2[j - 2] + 1)
            current[j] = best
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


def typo_similarity(typed: str, word: str) -> float:
    """Similarity of a mistyped word to the real one (0 if too far apart)."""
    limit = allowed_typos(min(len(typed), len(word)))
    if limit == 0:
        return 0.0
    distance = edit_distance(typed, word, limit)
    if distance > limit:
        return 0.0
    # One slip in a long word is still strong evidence: half a letter's worth.
    return 1.0 - distance / (2 * max(len(typed), len(word)))
