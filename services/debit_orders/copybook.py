"""Record layouts read from the bank's copybooks (shipped beside this module), once.

Only the subset the bank's files use: levels 01/05/88, PIC X(n), 9(n), S9(n)V99, COMP-3,
REDEFINES and FILLER. A layout is data: field name, kind, digits, scale, sign, offset and
length; the codec never hard-codes an offset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Literal

COPYBOOKS = Path(__file__).parent / "copybooks"
Kind = Literal["alnum", "zoned", "packed"]

_STATEMENT = re.compile(
    r"^(?P<level>\d\d)\s+(?P<name>[A-Z0-9-]+)"
    r"(?:\s+REDEFINES\s+(?P<redefines>[A-Z0-9-]+))?"
    r"(?:\s+PIC\s+(?P<pic>\S+))?"
    r"(?:\s+(?P<usage>COMP-3))?"
    r"(?:\s+VALUE\s+(?P<values>.+))?$"
)
_PICTURE = re.compile(r"^(?P<sign>S)?(?P<type>[X9])\((?P<n>\d+)\)(?:V(?P<scale>9+))?$")


class CopybookError(ValueError):
    """The copybook uses something this reader does not understand."""


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind
    digits: int  # characters for alnum
    scale: int
    signed: bool
    offset: int
    length: int
    values: tuple[str, ...] = ()  # the 88-level conditions' values, if any


@dataclass(frozen=True)
class Layout:
    name: str
    fields: tuple[Field, ...]
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    @property
    def length(self) -> int:
        return sum(f.length for f in self.fields)


def _statements(text: str) -> list[str]:
    """Join continuation lines into period-terminated statements, dropping comments."""
    body = []
    for line in text.splitlines():
        if len(line) > 6 and line[6] == "*":
            continue
        body.append(line[7:72] if len(line) > 7 else "")
    joined = " ".join(body)
    return [s.strip() for s in re.split(r"\.(?=\s|$)", joined) if s.strip()]


def _field(name: str, pic: str, usage: str | None, offset: int) -> Field:
    match = _PICTURE.match(pic)
    if match is None:
        raise CopybookError(f"unsupported picture {pic!r} for {name}")
    n = int(match["n"])
    scale = len(match["scale"] or "")
    if match["type"] == "X":
        if usage or match["sign"] or scale:
            raise CopybookError(f"{name}: alphanumeric fields take no sign, scale or COMP-3")
        return Field(name, "alnum", n, 0, signed=False, offset=offset, length=n)
    digits = n + scale
    signed = match["sign"] is not None
    if usage == "COMP-3":
        return Field(name, "packed", digits, scale, signed, offset, digits // 2 + 1)
    if signed:
        raise CopybookError(f"{name}: signed zoned decimals are not used by the bank's files")
    return Field(name, "zoned", digits, scale, signed=False, offset=offset, length=digits)


def parse_copybook(text: str) -> dict[str, Layout]:
    """Every 01-level record of the copybook, with its elementary fields in order."""
    layouts: dict[str, Layout] = {}
    current: str | None = None
    fields: list[Field] = []

    def close() -> None:
        if current is not None:
            layouts[current] = Layout(current, tuple(fields))

    for statement in _statements(text):
        match = _STATEMENT.match(" ".join(statement.split()))
        if match is None:
            raise CopybookError(f"cannot read: {statement!r}")
        level = match["level"]
        if level == "01":
            close()
            current, fields = match["name"], []
        elif level == "88":
            values = tuple(re.findall(r"'([^']*)'", match["values"] or ""))
            if not fields:
                raise CopybookError(f"88 level {match['name']} before any field")
            last = fields[-1]
            fields[-1] = replace(last, values=last.values + values)
        elif match["pic"]:
            offset = sum(f.length for f in fields)
            name = match["name"]
            if name == "FILLER":
                name = f"FILLER-{offset}"
            fields.append(_field(name, match["pic"], match["usage"], offset))
    close()
    return layouts


@cache
def layouts(copybook: str) -> dict[str, Layout]:
    return parse_copybook((COPYBOOKS / f"{copybook}.cpy").read_text(encoding="ascii"))


DOEXEC_LRECL = 150
LYCRED_LRECL = 120


def doexec() -> dict[str, Layout]:
    """DO-HEADER-REC, DO-DETAIL-REC and DO-TRAILER-REC, each exactly 150 bytes."""
    found = layouts("DOEXEC")
    _check_lengths(found, DOEXEC_LRECL)
    return found


def lycred() -> dict[str, Layout]:
    """LY-HEADER-REC, LY-DETAIL-REC and LY-TRAILER-REC, each exactly 120 bytes."""
    found = layouts("LYCRED")
    _check_lengths(found, LYCRED_LRECL)
    return found


def _check_lengths(found: dict[str, Layout], lrecl: int) -> None:
    for layout in found.values():
        if layout.length != lrecl:
            raise CopybookError(f"{layout.name} is {layout.length} bytes, expected {lrecl}")
