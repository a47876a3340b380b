"""Argument types shared by the command line's parsers: numbers with a lower bound."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

N = TypeVar("N", int, float)


def number(kind: type[N], valid: Callable[[N], bool], wanted: str) -> Callable[[str], N]:
    """An argparse type: `kind` parsed from the text, refused unless `valid` (`must be
    {wanted}`)."""

    def parse(text: str) -> N:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not valid(value):
            raise argparse.ArgumentTypeError(f"must be {wanted}, not {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def positive(kind: type[N]) -> Callable[[str], N]:
    return number(kind, lambda v: v > 0, "more than 0")


def not_negative(kind: type[N]) -> Callable[[str], N]:
    return number(kind, lambda v: v >= 0, "0 or more")
