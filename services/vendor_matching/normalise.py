"""Turn a raw statement descriptor into the words that can name a vendor.

`normalise_descriptor("POS PURCHASE WOOLIES SANDTON CITY JHB ZA")` gives
`"WOOLWORTHS"`. Vendor names and aliases go through the same function, so both
sides of a comparison speak the same dialect. The result is idempotent:
normalising a normalised string changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final

from services.vendor_matching.lexicon import (
    ABBREVIATIONS,
    COUNTRY_CODES_ALPHA2,
    COUNTRY_CODES_ALPHA3,
    LOCATIONS,
    MONTHS,
    NOISE_PHRASES,
    PROCESSOR_CODES,
)

_Phrase = tuple[str, ...]

# Month names after a day (`* 24 AUG`, `15 JAN 2024`) and currencies before an
# amount (`R 123.45`) are dates and amounts; numbers alone are references.
_CURRENCIES: Final = frozenset({"R", "ZAR", "USD", "EUR", "GBP"})
_MAX_DAY_DIGITS: Final = 2
_CONTEXTUAL: Final = MONTHS | _CURRENCIES
_DATE_TOKEN: Final = re.compile(
    r"\d{1,2}(?:JAN|FEB|MAR|APR|MAY|JUNE?|JULY?|AUG|SEPT?|OCT|NOV|DEC)(?:\d{2,4})?"
)
# `YOCO *`, `ZAPPER1*`, `IKH*`, `SQ *`: a processor's code before the merchant's name.
_PROCESSOR: Final = re.compile(rf"\b(?:{'|'.join(PROCESSOR_CODES)})\d*\s*\*")
_BRANCH_NUMBER: Final = re.compile(r"([A-Z]{2,})\d{3,}|\d{3,}([A-Z]{2,})")
_MAX_PASSES: Final = 8
_ASCII_CONTROLS: Final = dict.fromkeys((*range(32), 127), " ")
_TYPOGRAPHIC_APOSTROPHES: Final = {0x2018: "'", 0x2019: "'"}
# After folding (ASCII): letters and digits stay, apostrophes go (`NANDO'S`), `&` is
# a word, everything else separates words. A byte table: `bytes.translate` is a plain
# array lookup, `str.translate` a dictionary lookup a character.
_APOSTROPHES: Final = b"'`"
_WORD_BYTES: Final = bytes(
    code if (65 <= code <= 90 or 48 <= code <= 57) else 32 for code in range(256)
)
# Words repeat from descriptor to descriptor: each is judged once.
_WORD_CACHE_SIZE: Final = 131_072
ACCEPTOR_LAYOUT_LENGTH: Final = 40


def _phrase_table(
    phrases: dict[_Phrase, _Phrase],
) -> dict[str, tuple[tuple[_Phrase, _Phrase], ...]]:
    """Index phrases by their first word, longest first, for greedy matching."""
    table: dict[str, list[tuple[_Phrase, _Phrase]]] = {}
    for key, value in phrases.items():
        table.setdefault(key[0], []).append((key, value))
    return {
        first: tuple(sorted(entries, key=lambda entry: (-len(entry[0]), entry[0])))
        for first, entries in table.items()
    }


def _split(text: str) -> _Phrase:
    return tuple(text.split())


# Abbreviations are expanded and noise removed in one pass; at each word an
# abbreviation is tried first (`VIRGIN ACT` is expanded before `ACT` could go as
# noise), then noise, longest phrase first.
_REWRITES: Final = {
    first: expansions + removals
    for expansions_table, removals_table in [
        (
            _phrase_table({_split(k): _split(v) for k, v in ABBREVIATIONS.items()}),
            _phrase_table({_split(p): () for p in (*NOISE_PHRASES, *LOCATIONS)}),
        )
    ]
    for first in sorted(expansions_table.keys() | removals_table.keys())
    for expansions in [expansions_table.get(first, ())]
    for removals in [removals_table.get(first, ())]
}


def _fold(text: str) -> str:
    """Uppercase ASCII: accents dropped (CAFÉ -> CAFE), other scripts spaced out."""
    if text.isascii():  # nearly every descriptor: no Unicode work to do
        upper = text.upper()
        return upper if upper.isprintable() else upper.translate(_ASCII_CONTROLS)
    text = text.translate(_TYPOGRAPHIC_APOSTROPHES)
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).upper())
    kept = (char for char in decomposed if not unicodedata.combining(char))
    return "".join(char if char.isascii() and char.isprintable() else " " for char in kept)


def is_reference(token: str) -> bool:
    """A word that is a number, a reference, a card mask, a date or a branch code.

    `000123`, `S1234`, `XXXXXX1234`, `XXXX`, `15JAN` and `N1` are references;
    `1LIFE` and `SIXTY60` are not: digits that do not outnumber the letters are
    part of a name.
    """
    digits = sum(char in "0123456789" for char in token)
    if digits == 0:
        return _is_card_mask(token)
    if _DATE_TOKEN.fullmatch(token):
        return True
    letters = sum("A" <= char <= "Z" for char in token)
    return digits >= letters or letters <= 1


def _is_card_mask(token: str) -> bool:
    """`XXXX`, `XXXXXX`: the hidden digits of a card number."""
    return len(token) >= 4 and not token.strip("X")


def _drop_branch_number(token: str) -> str:
    """`PNPFAM1234` -> `PNPFAM`, `9789OUDTSHOORN` -> `OUDTSHOORN`.

    Three or more digits glued to a word are a store number (or the acquirer's
    fixed-width fields running into each other), not part of the name.
    """
    match = _BRANCH_NUMBER.fullmatch(token)
    if match is None:
        return token
    return match.group(1) or match.group(2)


def _kept_word(token: str) -> str | None:
    """The word without a glued store number, or None for a reference."""
    if token.isalpha():  # most words: no digits, so no store number to drop
        return None if _is_card_mask(token) else token
    return _kept_word_with_digits(token)


@lru_cache(maxsize=_WORD_CACHE_SIZE)
def _kept_word_with_digits(token: str) -> str | None:
    return None if is_reference(token) else _drop_branch_number(token)


def _rewrite(tokens: _Phrase, table: dict[str, tuple[tuple[_Phrase, _Phrase], ...]]) -> _Phrase:
    if not any(token in table for token in tokens):
        return tokens
    out: list[str] = []
    i = 0
    while i < len(tokens):
        for key, value in table.get(tokens[i], ()):
            if tokens[i : i + len(key)] == key:
                out.extend(value)
                i += len(key)
                break
        else:
            out.append(tokens[i])
            i += 1
    return tuple(out)


def _kept_words(raw: list[str]) -> _Phrase:
    """The words left once dates, amounts, references and store numbers are gone."""
    if _CONTEXTUAL.isdisjoint(raw):  # no month or currency: each word on its own
        kept_words = [_kept_word(token) for token in raw]
        return tuple([word for word in kept_words if word is not None])
    kept: list[str] = []
    last = len(raw) - 1
    for number, token in enumerate(raw):
        if token in _CONTEXTUAL:
            if token in MONTHS and number:
                day = raw[number - 1]
                if day.isdigit() and len(day) <= _MAX_DAY_DIGITS:
                    continue
            if token in _CURRENCIES and number < last and raw[number + 1].isdigit():
                continue
        word = _kept_word(token)
        if word is not None:
            kept.append(word)
    return tuple(kept)


def _clean(tokens: _Phrase) -> _Phrase:
    """Repeat the phrase rules until nothing changes (removals expose new phrases).
    Kept words stay kept, and an expansion brings only lexicon words."""
    for _ in range(_MAX_PASSES):
        before = tokens
        tokens = _rewrite(tokens, _REWRITES)
        if tokens == before:
            break
    return tokens


def descriptor_tokens(text: str) -> _Phrase:
    """The words of a descriptor that can name a vendor, in order."""
    folded = _fold(text)
    if "*" in folded:
        folded = _PROCESSOR.sub(" ", folded)
    return _clean(_kept_words(_split_words(folded)))


def _split_words(folded: str) -> list[str]:
    """The words of folded (ASCII) text: runs of letters and digits, apostrophes
    dropped, `&` a word of its own (`AND`)."""
    if "&" in folded:
        folded = folded.replace("&", " AND ")
    return folded.encode("ascii").translate(_WORD_BYTES, _APOSTROPHES).decode("ascii").split()


def card_acceptor_name(descriptor: str) -> str:
    """The name part of a card descriptor in the fixed 40-character acquirer layout.

    ISO 8583 field 43 is name (25) + city (13) + country (2) on Visa and name (22)
    + space + city (13) + space + country (3) on Mastercard. The city part is
    dropped because fields run into each other (`PNP EXP WOODLANDS NO 97OUDTSHOORN`)
    and towns outnumber any list of them. Other text is returned unchanged.
    """
    if len(descriptor) != ACCEPTOR_LAYOUT_LENGTH:
        return descriptor
    upper = descriptor.upper()
    if upper[36] == " " and upper[37:] in COUNTRY_CODES_ALPHA3 and upper[22] == " ":
        return descriptor[:22]
    # A letter before the code may be a word's end (`...HOUSE`); only ZA is then safe.
    if upper[38:] in COUNTRY_CODES_ALPHA2 and (upper[37] == " " or upper[38:] == "ZA"):
        return descriptor[:25]
    return descriptor


def normalise_descriptor(text: str) -> str:
    """The descriptor as uppercase words without noise, locations or references."""
    return " ".join(descriptor_tokens(text))


def compact(text: str) -> str:
    """The normalised words run together: `PICK N PAY` and `PICKNPAY` compare equal."""
    return text.replace(" ", "")
