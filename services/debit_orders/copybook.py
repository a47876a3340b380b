"""Record layouts read from the bank's copybooks (shipped beside this module), once, at import.

The copybooks in `copybooks/` are byte-identical copies of the bank's normative ones. This
reader knows only the subset they use: fixed-format source (columns 7-72), levels 01 (a
record, optionally REDEFINES another), 05 (an elementary field with a PICTURE) and 88
(condition values, quoted literals); pictures X(n), 9(n), S9(n), with V9(n) or V99..
implied decimals, DISPLAY or COMP-3; FILLER. Anything else is a CopybookError, never a
guess. A layout is data (name, kind, digits, scale, sign, offset, length of each field): the
codec never hard-codes an offset, and every record type is checked to be exactly LRECL long.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final, Literal

COPYBOOKS: Final = Path(__file__).parent / "copybooks"
DOEXEC_LRECL: Final = 150
LYCRED_LRECL: Final = 120

Kind = Literal["alnum", "zoned", "packed"]

_STATEMENT = re.compile(
    r"^(?P<level>\d\d)\s+(?P<name>[A-Z0-9][A-Z0-9-]*)"
    r"(?:\s+REDEFINES\s+(?P<redefines>[A-Z0-9-]+))?"
    r"(?:\s+PIC(?:TURE)?\s+(?:IS\s+)?(?P<pic>\S+))?"
    r"(?:\s+(?:USAGE\s+(?:IS\s+)?)?(?P<usage>COMP-3|PACKED-DECIMAL|DISPLAY))?"
    r"(?:\s+VALUES?\s+(?:ARE\s+|IS\s+)?(?P<values>.+))?$"
)
_PICTURE = re.compile(
    r"^(?P<sign>S)?(?P<type>[X9])(?:\((?P<n>\d+)\)|(?P<repeat>[X9]*))"
    r"(?:V(?:9\((?P<scale_n>\d+)\)|(?P<scale>9+)))?$"
)
_LITERALS = re.compile(r"\s*'([^']*)'\s*")
_DECLARED_LRECL = re.compile(r"LRECL=(\d+)")


class CopybookError(ValueError):
    """The copybook uses something this reader does not understand, or does not add up."""


@dataclass(frozen=True, slots=True)
class Field:
    """One elementary field: where it sits in the record and how its bytes read."""

    name: str
    kind: Kind
    digits: int  # characters, for alnum; digits including the implied decimals otherwise
    scale: int  # implied decimal places (V99 -> 2): the value is an integer of 10**-scale
    signed: bool
    offset: int
    length: int
    picture: str = ""  # as written, e.g. "S9(11)V99 COMP-3", for error messages
    values: tuple[str, ...] = ()  # the 88-level conditions' values, if any
    end: int = field(init=False, compare=False)
    is_filler: bool = field(init=False, compare=False)
    # PIC 9(8) named ...-DATE: YYYYMMDD, 00000000 meaning none (the bank's convention).
    is_date: bool = field(init=False, compare=False)

    def __post_init__(self) -> None:
        # Plain attributes, not properties: the codec reads them for every field of every
        # record of files with millions of records.
        object.__setattr__(self, "end", self.offset + self.length)
        object.__setattr__(self, "is_filler", self.name.startswith("FILLER"))
        is_date = self.kind == "zoned" and self.digits == 8 and self.name.endswith("-DATE")
        object.__setattr__(self, "is_date", is_date)


@dataclass(frozen=True)
class Layout:
    """One 01-level record: its fields in order, fillers included, covering all lrecl bytes."""

    name: str
    lrecl: int
    fields: tuple[Field, ...]
    redefines: str | None = None
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)
    data_fields: tuple[Field, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})
        object.__setattr__(self, "data_fields", tuple(f for f in self.fields if not f.is_filler))

    @property
    def length(self) -> int:
        return self.lrecl


@dataclass
class _Record:
    name: str
    redefines: str | None
    fields: list[Field]


def _statements(text: str) -> tuple[list[str], list[str]]:
    """(statements, comment lines): columns 8-72 joined and split at terminating periods."""
    body: list[str] = []
    comments: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        indicator = line[6:7]
        if indicator in {"*", "/"}:
            comments.append(line)
            continue
        if indicator not in {"", " "}:
            raise CopybookError(f"line {number}: indicator {indicator!r} is not supported")
        body.append(line[7:72])
    joined = " ".join(body)
    statements = [" ".join(s.split()) for s in re.split(r"\.(?=\s|$)", joined)]
    return [s for s in statements if s], comments


def _field(name: str, pic: str, usage: str | None, offset: int) -> Field:
    match = _PICTURE.match(pic)
    if match is None:
        raise CopybookError(f"{name}: unsupported picture {pic!r}")
    n = int(match["n"]) if match["n"] else 1 + len(match["repeat"] or "")
    if match["repeat"] and set(match["repeat"]) != {match["type"]}:
        raise CopybookError(f"{name}: unsupported picture {pic!r}")
    scale = int(match["scale_n"]) if match["scale_n"] else len(match["scale"] or "")
    packed = usage in {"COMP-3", "PACKED-DECIMAL"}
    picture = f"{pic} COMP-3" if packed else pic
    if match["type"] == "X":
        if packed or match["sign"] or scale:
            raise CopybookError(f"{name}: PIC X takes no sign, implied decimals or COMP-3")
        return Field(name, "alnum", n, 0, signed=False, offset=offset, length=n, picture=pic)
    digits = n + scale
    signed = match["sign"] is not None
    if packed:
        return Field(name, "packed", digits, scale, signed, offset, digits // 2 + 1, picture)
    if signed:
        # A signed zoned field carries its sign in the last byte's zone; the bank's files
        # have none, so meeting one means the copybook changed: say so rather than misread.
        raise CopybookError(f"{name}: signed zoned decimals are not supported")
    return Field(name, "zoned", digits, scale, signed=False, offset=offset, length=digits,
                 picture=picture)  # fmt: skip


def _condition_values(name: str, text: str | None) -> tuple[str, ...]:
    literals = _LITERALS.findall(text or "")
    if not literals or _LITERALS.sub("", text or "").strip():
        raise CopybookError(f"88 {name}: only quoted literal values are supported: {text!r}")
    return tuple(literals)


def _entry(records: list[_Record], match: re.Match[str], statement: str) -> None:
    """Add one 01, 05 or 88 entry to the records read so far."""
    level, name = match["level"], match["name"]
    if level == "01":
        if match["pic"] or match["values"]:
            raise CopybookError(f"01 {name}: elementary records are not supported")
        if match["redefines"] and match["redefines"] not in {r.name for r in records}:
            raise CopybookError(f"01 {name} redefines unknown record {match['redefines']}")
        records.append(_Record(name, match["redefines"], []))
        return
    if not records:
        raise CopybookError(f"{level} {name} outside any 01 record")
    fields = records[-1].fields
    if level == "88":
        if not fields:
            raise CopybookError(f"88 {name} before any field")
        values = fields[-1].values + _condition_values(name, match["values"])
        fields[-1] = replace(fields[-1], values=values)
    elif level == "05" and match["pic"] and not match["redefines"] and not match["values"]:
        offset = sum(f.length for f in fields)
        label = f"FILLER-{offset}" if name == "FILLER" else name
        fields.append(_field(label, match["pic"], match["usage"], offset))
    else:
        raise CopybookError(f"unsupported entry (only 05 elementary items): {statement!r}")


def parse_copybook(text: str) -> dict[str, Layout]:
    """Every 01-level record of the copybook, with its elementary fields in order.

    When the copybook's comments declare `LRECL=n`, every record must be exactly n bytes.
    """
    statements, comments = _statements(text)
    declared = {int(m) for line in comments for m in _DECLARED_LRECL.findall(line)}
    if len(declared) > 1:
        raise CopybookError(f"the comments declare more than one LRECL: {sorted(declared)}")
    records: list[_Record] = []
    for statement in statements:
        match = _STATEMENT.match(statement)
        if match is None:
            raise CopybookError(f"cannot read: {statement!r}")
        _entry(records, match, statement)
    layouts: dict[str, Layout] = {}
    for record in records:
        lrecl = sum(f.length for f in record.fields)
        if declared and lrecl not in declared:
            raise CopybookError(
                f"{record.name} is {lrecl} bytes, the copybook declares LRECL={declared.pop()}"
            )
        layouts[record.name] = Layout(record.name, lrecl, tuple(record.fields), record.redefines)
    return layouts


def load_copybook(name: str, lrecl: int) -> dict[str, Layout]:
    """The shipped copybook `name`, every record of it checked to be exactly lrecl bytes."""
    found = parse_copybook((COPYBOOKS / f"{name}.cpy").read_text(encoding="ascii"))
    if not found:
        raise CopybookError(f"{name}.cpy has no 01 records")
    for layout in found.values():
        if layout.lrecl != lrecl:
            raise CopybookError(f"{name}: {layout.name} is {layout.lrecl} bytes, not {lrecl}")
    return found


# Parsed once, at import: a copybook that does not add up stops the service from starting.
DOEXEC: Final = load_copybook("DOEXEC", DOEXEC_LRECL)
LYCRED: Final = load_copybook("LYCRED", LYCRED_LRECL)


def doexec() -> dict[str, Layout]:
    """DO-RECORD, DO-HEADER-REC, DO-DETAIL-REC and DO-TRAILER-REC, each exactly 150 bytes."""
    return DOEXEC


def lycred() -> dict[str, Layout]:
    """LY-RECORD, LY-HEADER-REC, LY-DETAIL-REC and LY-TRAILER-REC, each exactly 120 bytes."""
    return LYCRED
