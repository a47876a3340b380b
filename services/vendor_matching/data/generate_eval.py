"""Generate `descriptors_eval.csv`, the labelled set the matcher is measured on.

Deterministic (fixed seed). Run from the repository root:

    .venv/bin/python -m services.vendor_matching.data.generate_eval

Card rows follow the 40-character ISO 8583 field 43 layout (name 25, city 13,
country 2), so long names are cut mid-word, or are the line a bank prints on
the customer's statement (`POS Purchase`, `Fuel Purchase`, `Recurring Card
Purchase:` before the acquirer's name cut at 19-25 characters, a payment
processor's `Yoco *` or `Zapper1*`, and a card mask, date, `(Card 1234)` or
amount after it, cut at 40); debit-order rows carry a bank prefix, the
originator's 10-character short name and a reference. Noise is added the way
it shows up on statements: branch and city names, store numbers, typos, title
case, unknown merchant ids and user codes. Unknown merchants get the same
noise. Rows from `descriptors_handwritten.csv` are appended as written.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from services.vendor_matching.data import data_path, spellings, spellings_extended
from services.vendor_matching.data.spellings import BRANCHES, CITIES
from services.vendor_matching.domain import Vendor
from services.vendor_matching.vendors_csv import parse_vendor_csv

SEED: Final = 20_240_601
COLUMNS: Final = (
    "descriptor",
    "channel",
    "merchant_id",
    "user_code",
    "expected_vendor_id",
    "noise",
)
DESCRIPTOR_LENGTH: Final = 40
NAME_FIELD: Final = 25
CITY_FIELD: Final = 13
_KEYBOARD_NEIGHBOURS: Final = {
    "A": "SQ",
    "B": "VN",
    "C": "XV",
    "D": "SF",
    "E": "WR",
    "F": "DG",
    "G": "FH",
    "H": "GJ",
    "I": "UO",
    "J": "HK",
    "K": "JL",
    "L": "K",
    "M": "N",
    "N": "BM",
    "O": "IP",
    "P": "O",
    "R": "ET",
    "S": "AD",
    "T": "RY",
    "U": "YI",
    "V": "CB",
    "W": "QE",
    "Y": "TU",
}
CARD_SPELLINGS: Final = spellings.CARD_SPELLINGS | spellings_extended.CARD_SPELLINGS
SHORT_NAMES: Final = spellings.SHORT_NAMES | spellings_extended.SHORT_NAMES
UNKNOWN_CARD_MERCHANTS: Final = (
    spellings.UNKNOWN_CARD_MERCHANTS + spellings_extended.UNKNOWN_CARD_MERCHANTS_EXTENDED
)
UNKNOWN_PROCESSOR_MERCHANTS: Final = (
    spellings.UNKNOWN_PROCESSOR_MERCHANTS + spellings_extended.UNKNOWN_PROCESSOR_MERCHANTS_EXTENDED
)
UNKNOWN_ACCOUNT_LINES: Final = (
    spellings.UNKNOWN_ACCOUNT_LINES + spellings_extended.UNKNOWN_ACCOUNT_LINES_EXTENDED
)
CARD_ROWS_PER_VENDOR: Final = 6
STATEMENT_SHARE: Final = 0.35
_DEBIT_PREFIXES: Final = (
    "DEBIT ORDER",
    "D/O",
    "MAGTAPE DEBIT",
    "Magtape Debit",
    "NAEDO",
    "DEBICHECK",
    "Debicheck",
    "Eft Debit Order Payment ():",
    "AEDO",
    "",
)
# What banks print before the acquirer's name on a statement line.
_PURCHASE_PREFIXES: Final = ("POS Purchase", "POS PURCHASE (EFFEC )", "POS PURCHASE", "")
_PREFIXES_BY_CATEGORY: Final = {
    "fuel": ("Fuel Purchase", "FUEL PURCHASE", "POS Purchase"),
    "streaming": ("Recurring Card Purchase:", "Online Purchase:", "POS Purchase"),
    "travel": ("Online Purchase:", "POS Purchase", ""),
}
_PROCESSORS: Final = ("Yoco *", "Zapper *", "Zapper1*", "SnapScan ", "Ikh*", "Hpy*", "Dashpay*")
_PROCESSED_CATEGORIES: Final = frozenset({"restaurants", "entertainment", "retail"})
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov")
_EFT_TEMPLATES: Final = ("IB PAYMENT TO {}", "EFT PMT {}", "INTERNET PMT {}", "PAYMENT TO {}")


@dataclass(frozen=True, slots=True)
class Row:
    descriptor: str
    channel: str
    merchant_id: str = ""
    user_code: str = ""
    expected_vendor_id: str = ""
    noise: str = ""


class _Noise:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - test data, not security

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def pick(self, options: tuple[str, ...]) -> str:
        return self.rng.choice(options)

    def typo(self, text: str) -> str:
        """One slip in a word of six letters or more: swap, drop, double or neighbour key."""
        words = text.split(" ")
        long_words = [i for i, word in enumerate(words) if len(word) >= 6 and word.isalpha()]
        if not long_words:
            return text
        i = self.rng.choice(long_words)
        word = words[i]
        at = self.rng.randrange(1, len(word) - 1)
        kind = self.rng.choice(("swap", "drop", "double", "neighbour"))
        if kind == "swap":
            word = word[: at - 1] + word[at] + word[at - 1] + word[at + 1 :]
        elif kind == "drop":
            word = word[:at] + word[at + 1 :]
        elif kind == "double":
            word = word[:at] + word[at] + word[at:]
        else:
            neighbours = _KEYBOARD_NEIGHBOURS.get(word[at].upper(), "E")
            word = word[:at] + self.rng.choice(neighbours) + word[at + 1 :]
        words[i] = word
        return " ".join(words)

    def reference(self) -> str:
        digits = self.rng.choice((6, 7, 8, 10))
        number = "".join(self.rng.choice("0123456789") for _ in range(digits))
        style = self.rng.randrange(4)
        if style == 0:
            return f"{number[:6]}/{self.rng.randrange(1, 13):02d}"
        if style == 1:
            return f"POL {number}"
        if style == 2:
            return f"ACC {number}"
        return number

    def mid(self) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(15))


def _field_43(name: str, city: str, *, mastercard: bool = False) -> str:
    """The acquirer layout: Visa name 25 + city 13 + ZA, Mastercard 22 + city 13 + ZAF."""
    if mastercard:
        return f"{name[:22]:<22} {city[:CITY_FIELD]:<{CITY_FIELD}} ZAF"
    return f"{name[:NAME_FIELD]:<{NAME_FIELD}}{city[:CITY_FIELD]:<{CITY_FIELD}}ZA"


def _card_row(vendor: Vendor, noise: _Noise) -> Row:
    spelling = noise.pick(CARD_SPELLINGS[vendor.vendor_id])
    tags: list[str] = []
    if noise.chance(0.12):
        typo = noise.typo(spelling)
        if typo != spelling:
            spelling = typo
            tags.append("typo")
    online = "." in spelling or "*" in spelling or spelling != spelling.upper()
    if online:
        descriptor = spelling if noise.chance(0.5) else f"{spelling} {noise.pick(CITIES)}"
        tags.append("online")
    else:
        name = spelling
        if noise.chance(0.6):
            name = f"{name} {noise.pick(BRANCHES)}"
            tags.append("branch")
        if noise.chance(0.25):
            number = noise.rng.randrange(1, 9999)
            name = f"{name} {noise.pick(('#', 'S', 'NO ', ''))}{number}"
            tags.append("store_no")
        mastercard = noise.chance(0.3)
        if len(name) > (22 if mastercard else NAME_FIELD):
            tags.append("truncated")
        descriptor = _field_43(name, noise.pick(CITIES), mastercard=mastercard)
        if noise.chance(0.3):
            descriptor = " ".join(descriptor.split())
    merchant_id = ""
    if noise.chance(0.3):
        known = vendor.merchant_ids and noise.chance(0.65)
        merchant_id = noise.pick(vendor.merchant_ids) if known else noise.mid()
        tags.append("known_mid" if known else "unknown_mid")
    return Row(
        descriptor[:DESCRIPTOR_LENGTH],
        "card",
        merchant_id,
        "",
        vendor.vendor_id,
        " ".join(tags) or "plain",
    )


def _statement_line(name: str, prefixes: tuple[str, ...], noise: _Noise, tags: list[str]) -> str:
    """The line a bank prints: its prefix, the acquirer's name (cut at 19-25), a suffix."""
    cut = noise.rng.randint(19, NAME_FIELD)
    if len(name) > cut:
        name = name[:cut].rstrip()
        tags.append("truncated")
    prefix = noise.pick(prefixes)
    if prefix:
        tags.append("bank_prefix")
    last4 = f"{noise.rng.randrange(10_000):04d}"
    when = f"{noise.rng.randint(1, 28)} {noise.pick(_MONTHS)}"
    amount = f"R{noise.rng.randint(5, 2_500)}.{noise.rng.randrange(100):02d}"
    suffix, kind = noise.rng.choice(
        [
            (f"458712*{last4} {when}", "card_mask date"),
            (f"* {when}", "date"),
            (f"(Card {last4})", "bank_suffix"),
            ("(Card )", "bank_suffix"),
            (f"CARD NO. {last4}", "bank_suffix"),
            (amount, "amount"),
            ("", ""),
        ]
    )
    if noise.chance(0.4):  # banking apps show the acquirer's name in title case
        name = name.title()
        tags.append("title_case")
    head = " ".join(part for part in (prefix, name) if part)
    if len(head) > DESCRIPTOR_LENGTH and "truncated" not in tags:
        tags.append("truncated")
    if suffix and len(head) + 2 < DESCRIPTOR_LENGTH:
        tags.extend(kind.split())
    line = " ".join(part for part in (head, suffix) if part)
    return line[:DESCRIPTOR_LENGTH].rstrip()


def _statement_row(vendor: Vendor, noise: _Noise) -> Row:
    spelling = noise.pick(CARD_SPELLINGS[vendor.vendor_id])
    tags: list[str] = ["statement"]
    if noise.chance(0.1):
        typo = noise.typo(spelling)
        if typo != spelling:
            spelling = typo
            tags.append("typo")
    name = spelling
    if "." not in name and "*" not in name and noise.chance(0.4):
        name = f"{name} {noise.pick(BRANCHES)}"
        tags.append("branch")
    if vendor.category in _PROCESSED_CATEGORIES and "*" not in name and noise.chance(0.2):
        name = f"{noise.pick(_PROCESSORS)}{name}"
        tags.append("processor")
    prefixes = _PREFIXES_BY_CATEGORY.get(vendor.category, _PURCHASE_PREFIXES)
    descriptor = _statement_line(name, prefixes, noise, tags)
    return Row(descriptor, "", "", "", vendor.vendor_id, " ".join(tags))


def _debit_order_row(vendor: Vendor, noise: _Noise) -> Row:
    short = noise.pick(SHORT_NAMES[vendor.vendor_id])
    tags = ["short_name"]
    prefix = noise.pick(_DEBIT_PREFIXES)
    descriptor = " ".join(part for part in (prefix, short, noise.reference()) if part)
    user_code = ""
    if noise.chance(0.35):
        known = vendor.user_codes and noise.chance(0.7)
        user_code = noise.pick(vendor.user_codes) if known else f"{noise.rng.randrange(10000):04d}"
        tags.append("known_user_code" if known else "unknown_user_code")
    if noise.chance(0.15):
        descriptor, user_code = short, user_code or ""
        tags.append("file_record")
    return Row(
        descriptor[:DESCRIPTOR_LENGTH],
        "debit_order",
        "",
        user_code,
        vendor.vendor_id,
        " ".join(tags),
    )


def _eft_row(vendor: Vendor, noise: _Noise) -> Row:
    name = vendor.name.upper() if noise.chance(0.5) else noise.pick(SHORT_NAMES[vendor.vendor_id])
    template = noise.pick(_EFT_TEMPLATES)
    descriptor = f"{template.format(name)} {noise.reference()}"
    return Row(descriptor[:DESCRIPTOR_LENGTH], "eft", "", "", vendor.vendor_id, "eft")


def _unknown_rows(noise: _Noise) -> list[Row]:
    rows: list[Row] = []
    for merchant in UNKNOWN_CARD_MERCHANTS:
        for _ in range(2):
            name = merchant
            if noise.chance(0.5):
                name = f"{name} {noise.pick(BRANCHES)}"
            descriptor = _field_43(name, noise.pick(CITIES), mastercard=noise.chance(0.3))
            merchant_id = noise.mid() if noise.chance(0.3) else ""
            rows.append(Row(descriptor, "card", merchant_id, "", "", "unknown"))
    rows += [
        Row(f"{m} {noise.pick(CITIES)}"[:DESCRIPTOR_LENGTH], "card", "", "", "", "unknown")
        for m in UNKNOWN_PROCESSOR_MERCHANTS
    ]
    for merchant in (*UNKNOWN_CARD_MERCHANTS, *UNKNOWN_PROCESSOR_MERCHANTS):
        tags = ["unknown", "statement"]
        descriptor = _statement_line(merchant, _PURCHASE_PREFIXES, noise, tags)
        rows.append(Row(descriptor, "", "", "", "", " ".join(tags)))
    rows += _lookalike_rows(
        (
            *((m, "lookalike") for m in spellings_extended.LOOKALIKE_MERCHANTS),
            *((m, "lookalike second") for m in spellings_extended.LOOKALIKE_MERCHANTS_SECOND),
        ),
        noise,
    )
    for channel, line in UNKNOWN_ACCOUNT_LINES:
        descriptor = line if noise.chance(0.5) else f"{line} {noise.reference()}"
        rows.append(Row(descriptor[:DESCRIPTOR_LENGTH], channel, "", "", "", "unknown"))
    # Added last so that the rows before them stay as they were.
    held_out = ((m, "lookalike third") for m in spellings_extended.LOOKALIKE_MERCHANTS_THIRD)
    return rows + _lookalike_rows(held_out, noise)


def _lookalike_rows(merchants: Iterable[tuple[str, str]], noise: _Noise) -> list[Row]:
    """Each merchant in the acquirer's layout and as a bank statement line."""
    rows: list[Row] = []
    for merchant, held_out in merchants:
        name = f"{merchant} {noise.pick(BRANCHES)}" if noise.chance(0.5) else merchant
        descriptor = _field_43(name, noise.pick(CITIES), mastercard=noise.chance(0.3))
        rows.append(Row(descriptor, "card", "", "", "", f"unknown {held_out}"))
        tags = ["unknown", *held_out.split(), "statement"]
        descriptor = _statement_line(merchant, _PURCHASE_PREFIXES, noise, tags)
        rows.append(Row(descriptor, "", "", "", "", " ".join(tags)))
    return rows


def generate(vendors: list[Vendor], seed: int = SEED) -> list[Row]:
    """The generated rows: known vendors through every channel they use, and unknowns."""
    noise = _Noise(seed)
    rows: list[Row] = []
    for vendor in vendors:
        if vendor.vendor_id in CARD_SPELLINGS:
            rows += [
                _statement_row(vendor, noise)
                if noise.chance(STATEMENT_SHARE)
                else _card_row(vendor, noise)
                for _ in range(CARD_ROWS_PER_VENDOR)
            ]
        if vendor.vendor_id in SHORT_NAMES:
            rows += [_debit_order_row(vendor, noise) for _ in range(4)]
            rows.append(_eft_row(vendor, noise))
    rows += _unknown_rows(noise)
    return rows


def _handwritten() -> list[Row]:
    with data_path("descriptors_handwritten.csv").open(newline="", encoding="utf-8") as file:
        return [Row(**record) for record in csv.DictReader(file)]


def render(rows: list[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            (
                row.descriptor,
                row.channel,
                row.merchant_id,
                row.user_code,
                row.expected_vendor_id,
                row.noise,
            )
        )
    return out.getvalue()


def main() -> None:
    with data_path("vendors.csv").open(newline="", encoding="utf-8") as file:
        vendors, errors = parse_vendor_csv(file)
    if errors:
        raise SystemExit(f"vendors.csv has errors: {errors}")
    rows = generate(vendors) + _handwritten()
    data_path("descriptors_eval.csv").write_text(render(rows), encoding="utf-8")
    print(f"wrote {len(rows)} rows")


if __name__ == "__main__":
    main()
