"""Turn a raw statement descriptor into the words that can name a vendor.

`normalise_descriptor("POS PURCHASE WOOLIES SANDTON CITY JHB ZA")` gives
`"WOOLWORTHS"`. Vendor names and aliases go through the same function, so both
sides of a comparison speak the same dialect. The result is idempotent:
normalising a normalised string changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from services.vendor_matching.lexicon import (
    ABBREVIATIONS,
    COUNTRY_CODES_ALPHA2,
    COUNTRY_CODES_ALPHA3,
    LOCATIONS,
    NOISE_PHRASES,
)

_Phrase = tuple[str, ...]

# Dates such as 2024-01-15, 15/01/2024, 15.01 and 15 JAN 2024.
_DATE: Final = re.compile(
    r"\b\d{4}-\d{2}-\d{2}\b"
    r"|\b\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?\b"
    r"|\b\d{1,2}\s?(?:JAN(?:UARY)?|FEB(?:RUARY)?|MAR(?:CH)?|APR(?:IL)?|MAY|JUNE?|JULY?"
    r"|AUG(?:UST)?|SEPT?(?:EMBER)?|OCT(?:OBER)?|NOV(?:EMBER)?|DEC(?:EMBER)?)\b"
    r"(?:\s?\d{2,4}\b)?"
)
_DATE_TOKEN: Final = re.compile(
    r"\d{1,2}(?:JAN|FEB|MAR|APR|MAY|JUNE?|JULY?|AUG|SEPT?|OCT|NOV|DEC)(?:\d{2,4})?"
)
_BRANCH_NUMBER: Final = re.compile(r"([A-Z]{2,})\d{3,}|\d{3,}([A-Z]{2,})")
_APOSTROPHES: Final = re.compile(r"['\u2018\u2019`]")
_NOT_WORD: Final = re.compile(r"[^A-Z0-9]+")
_MAX_PASSES: Final = 8
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


_REMOVALS: Final = _phrase_table({_split(p): () for p in (*NOISE_PHRASES, *LOCATIONS)})
_EXPANSIONS: Final = _phrase_table({_split(k): _split(v) for k, v in ABBREVIATIONS.items()})


def _fold(text: str) -> str:
    """Uppercase ASCII: accents dropped (CAFÉ -> CAFE), other scripts spaced out."""
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
        return len(token) >= 4 and not token.strip("X")
    if _DATE_TOKEN.fullmatch(token):
        return True
    letters = sum("A" <= char <= "Z" for char in token)
    return digits >= letters or letters <= 1


def _drop_branch_number(token: str) -> str:
    """`PNPFAM1234` -> `PNPFAM`, `9789OUDTSHOORN` -> `OUDTSHOORN`.

    Three or more digits glued to a word are a store number (or the acquirer's
    fixed-width fields running into each other), not part of the name.
    """
    match = _BRANCH_NUMBER.fullmatch(token)
    if match is None:
        return token
    return match.group(1) or match.group(2)


def _rewrite(tokens: _Phrase, table: dict[str, tuple[tuple[_Phrase, _Phrase], ...]]) -> _Phrase:
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


def _clean(tokens: _Phrase) -> _Phrase:
    """Repeat the word-level rules until nothing changes (removals expose new phrases)."""
    for _ in range(_MAX_PASSES):
        before = tokens
        tokens = tuple(_drop_branch_number(t) for t in tokens if not is_reference(t))
        tokens = _rewrite(tokens, _EXPANSIONS)
        tokens = _rewrite(tokens, _REMOVALS)
        if tokens == before:
            break
    return tokens


def descriptor_tokens(text: str) -> _Phrase:
    """The words of a descriptor that can name a vendor, in order."""
    folded = _APOSTROPHES.sub("", _DATE.sub(" ", _fold(text))).replace("&", " AND ")
    return _clean(tuple(_NOT_WORD.sub(" ", folded).split()))


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
