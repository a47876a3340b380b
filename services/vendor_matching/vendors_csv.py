"""Read the vendor master CSV that `loyalty vendors import FILE.csv` loads.

Pure: takes the file's lines, returns the good vendors and one `RowError` per
bad row (with the line number a person sees in an editor) so that a few bad
rows never stop the good ones.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from services.vendor_matching.domain import Vendor
from services.vendor_matching.normalise import compact, normalise_descriptor

HEADER: Final = (
    "vendor_id",
    "name",
    "category",
    "partner",
    "accepts_redemptions",
    "merchant_ids",
    "user_codes",
    "aliases",
)
LIST_SEPARATOR: Final = "|"
_VENDOR_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_CATEGORY: Final = re.compile(r"[a-z][a-z0-9_]{0,39}")
_MERCHANT_ID: Final = re.compile(r"[A-Za-z0-9]{1,20}")
_USER_CODE: Final = re.compile(r"[A-Za-z0-9]{1,4}")
_MAX_NAME: Final = 120
_BOOLEANS: Final = {"true": True, "false": False}


@dataclass(frozen=True, slots=True)
class RowError:
    line_no: int
    reason: str


class _RowInvalidError(ValueError):
    pass


def _boolean(field: str, value: str) -> bool:
    if value not in _BOOLEANS:
        raise _RowInvalidError(f"{field} must be true or false, not {value!r}")
    return _BOOLEANS[value]


def _items(field: str, value: str, pattern: re.Pattern[str] | None = None) -> tuple[str, ...]:
    if not value:
        return ()
    items = tuple(item.strip() for item in value.split(LIST_SEPARATOR))
    for item in items:
        if not item:
            raise _RowInvalidError(f"{field} has an empty item")
        if pattern is not None and not pattern.fullmatch(item):
            raise _RowInvalidError(f"{field} item {item!r} is not valid")
    if len(set(items)) != len(items):
        raise _RowInvalidError(f"{field} lists an item twice")
    return items


def _vendor(cells: list[str]) -> Vendor:
    if len(cells) != len(HEADER):
        raise _RowInvalidError(f"expected {len(HEADER)} columns, found {len(cells)}")
    vendor_id, name, category, partner, accepts, merchant_ids, user_codes, aliases = (
        cell.strip() for cell in cells
    )
    if not _VENDOR_ID.fullmatch(vendor_id):
        raise _RowInvalidError(
            f"vendor_id {vendor_id!r} must be 1-64 letters, digits or _.:- "
            "starting with a letter or digit"
        )
    if not name or len(name) > _MAX_NAME:
        raise _RowInvalidError(f"name must be 1-{_MAX_NAME} characters")
    if not normalise_descriptor(name):
        raise _RowInvalidError(f"name {name!r} has no words a statement could show")
    if not _CATEGORY.fullmatch(category):
        raise _RowInvalidError(f"category {category!r} must be a lowercase word like groceries")
    alias_items = _items("aliases", aliases)
    for alias in alias_items:
        if len(alias) > _MAX_NAME or not normalise_descriptor(alias):
            raise _RowInvalidError(f"alias {alias!r} has no words a statement could show")
    return Vendor(
        vendor_id=vendor_id,
        name=name,
        category=category,
        partner=_boolean("partner", partner),
        accepts_redemptions=_boolean("accepts_redemptions", accepts),
        merchant_ids=tuple(
            mid.upper() for mid in _items("merchant_ids", merchant_ids, _MERCHANT_ID)
        ),
        user_codes=tuple(code.upper() for code in _items("user_codes", user_codes, _USER_CODE)),
        aliases=alias_items,
    )


def _records(lines: Iterable[str]) -> Iterator[tuple[int, list[str] | str]]:
    """CSV records (or why a record is not CSV) with the line each starts on."""
    reader = csv.reader(lines, strict=True)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield start, f"not valid CSV: {error}"
        else:
            yield start, cells
        start = reader.line_num + 1


class _Claims:
    """Keys that must belong to one vendor only, and the line that took each."""

    def __init__(self) -> None:
        self._owners: dict[tuple[str, str], tuple[str, int]] = {}

    def conflicts(self, vendor: Vendor) -> str | None:
        for key in self._keys(vendor):
            owner = self._owners.get(key)
            if owner is not None and owner[0] != vendor.vendor_id:
                what, value = key
                return f"{what} {value!r} already belongs to {owner[0]} (line {owner[1]})"
        return None

    def take(self, vendor: Vendor, line_no: int) -> None:
        for key in self._keys(vendor):
            self._owners.setdefault(key, (vendor.vendor_id, line_no))

    @staticmethod
    def _keys(vendor: Vendor) -> Iterator[tuple[str, str]]:
        yield from (("merchant id", mid.upper()) for mid in vendor.merchant_ids)
        yield from (("user code", code.upper()) for code in vendor.user_codes)
        for text in (vendor.name, *vendor.aliases):
            yield ("name or alias", compact(normalise_descriptor(text)))


def parse_vendor_csv(lines: Iterable[str]) -> tuple[list[Vendor], list[RowError]]:
    """The valid vendors of a vendor master CSV and an error for each invalid row.

    The header must be exactly `vendor_id,name,...,aliases`; without it nothing
    is read. A vendor id, merchant id, user code or normalised name/alias
    already taken by an earlier row of the file makes the later row an error.
    """
    vendors: list[Vendor] = []
    errors: list[RowError] = []
    records = _records(lines)
    header = next(records, None)
    if header is None:
        return [], [RowError(1, "the file is empty; expected a header row")]
    cells = [] if isinstance(header[1], str) else [cell.strip() for cell in header[1]]
    if cells and cells[0].startswith("\ufeff"):
        cells[0] = cells[0][1:]
    if tuple(cells) != HEADER:
        return [], [RowError(header[0], f"header must be exactly {','.join(HEADER)}")]
    first_line: dict[str, int] = {}
    claims = _Claims()
    for line_no, row in records:
        if isinstance(row, str):
            errors.append(RowError(line_no, row))
            continue
        if all(not cell.strip() for cell in row):
            continue
        try:
            vendor = _vendor(row)
        except _RowInvalidError as error:
            errors.append(RowError(line_no, str(error)))
            continue
        if vendor.vendor_id in first_line:
            reason = f"vendor_id {vendor.vendor_id!r} already appears on line "
            errors.append(RowError(line_no, reason + str(first_line[vendor.vendor_id])))
            continue
        conflict = claims.conflicts(vendor)
        if conflict is not None:
            errors.append(RowError(line_no, conflict))
            continue
        first_line[vendor.vendor_id] = line_no
        claims.take(vendor, line_no)
        vendors.append(vendor)
    return vendors, errors


def conflicts_with_master(existing: Iterable[Vendor], incoming: Iterable[Vendor]) -> dict[str, str]:
    """Incoming vendors whose keys another vendor keeps after the upsert, with why.

    An incoming vendor replaces the stored one with the same id, so only keys of
    vendors the import leaves alone (or of earlier incoming rows) can clash.
    """
    arriving = list(incoming)
    replaced = {vendor.vendor_id for vendor in arriving}
    claims = _Claims()
    for vendor in existing:
        if vendor.vendor_id not in replaced:
            claims.take(vendor, 0)
    conflicts: dict[str, str] = {}
    for vendor in arriving:
        conflict = claims.conflicts(vendor)
        if conflict is None:
            claims.take(vendor, 0)
        else:
            conflicts[vendor.vendor_id] = conflict.replace(" (line 0)", " (stored)")
    return conflicts
