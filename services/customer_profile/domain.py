"""Pure rules of the customer profile: which change wins, the cash-back account, texts."""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

FALLBACK_LANGUAGE = "en"
DECIMAL_MARK_KEY = "format.decimal_mark"  # data too: a new language brings its own mark
# Details that name something (a points currency, a tier) are shown by their translated name.
NAMED_DETAILS = {"unit": "unit", "tier": "tier", "previous_tier": "tier"}

C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class Account:
    account_no: str
    type: str


def cashback_account(accounts: Iterable[Account]) -> str | None:
    """The first cheque account receives cash-back (the bank's rule); None when there is none."""
    return next((a.account_no for a in accounts if a.type == "cheque"), None)


@dataclass(frozen=True, slots=True)
class Outcome(Generic[C]):
    """The change that leaves the profile as it ends up, and how many changes applied."""

    winner: C | None
    applied: int


def winning_change(known_at: datetime | None, changes: Iterable[tuple[datetime, C]]) -> Outcome[C]:
    """Apply changes in delivery order; one older than (or as old as) the state is ignored.

    The bank may deliver a customer's changes late or out of order; `changed_at` decides.
    """
    current, winner, applied = known_at, None, 0
    for changed_at, change in changes:
        if current is None or changed_at > current:
            current, winner, applied = changed_at, change, applied + 1
    return Outcome(winner, applied)


def choose_text(
    texts: Mapping[tuple[str, str], str], key: str, language: str
) -> tuple[str, str] | None:
    """(text, language) of a key in the customer's language, else in English; None if neither."""
    for candidate in (language, FALLBACK_LANGUAGE):
        found = texts.get((key, candidate))
        if found is not None:
            return found, candidate
    return None


def format_amount(amount_cents: int, decimal_mark: str = ".") -> str:
    """Cents as a decimal amount with the language's decimal mark (250,50 in af)."""
    sign = "-" if amount_cents < 0 else ""
    units, cents = divmod(abs(amount_cents), 100)
    return f"{sign}{units}{decimal_mark}{cents:02d}"


def text_in(texts: Mapping[tuple[str, str], str], key: str, language: str, default: str) -> str:
    """A key's text in the language (English fallback), or `default` when it has none."""
    chosen = choose_text(texts, key, language)
    return default if chosen is None else chosen[0]


class _Lenient(dict[str, Any]):
    """A placeholder the details lack renders empty instead of failing the whole view."""

    def __missing__(self, key: str) -> str:
        return ""


def render(template: str, values: Mapping[str, Any]) -> str:
    """Fill `{name}` placeholders; unknown names render empty, a broken template as it is."""
    lenient = _Lenient({k: "" if v is None else v for k, v in values.items()})
    try:
        return string.Formatter().vformat(template, (), lenient).strip()
    except (ValueError, IndexError, AttributeError):
        return template


def describe(
    texts: Mapping[tuple[str, str], str], key: str, language: str, details: Mapping[str, Any]
) -> str:
    """An activity's description in the customer's language (English when not translated)."""
    values = dict(details)
    if isinstance(details.get("amount_cents"), int):
        mark = text_in(texts, DECIMAL_MARK_KEY, language, ".")
        values["amount"] = format_amount(details["amount_cents"], mark)
    for name, namespace in NAMED_DETAILS.items():
        value = details.get(name)
        if isinstance(value, str):
            values[name] = text_in(texts, f"{namespace}.{value}", language, value)
    code = details.get("reason_code")
    if isinstance(code, str):  # a decline reason: the catalogue's text, else the one sent
        values["reason"] = text_in(texts, f"reason.{code}", language, details.get("reason") or code)
    chosen = choose_text(texts, key, language)
    return key if chosen is None else render(chosen[0], values)
