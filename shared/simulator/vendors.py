"""The simulator's vendors: real South African brands, their merchant ids and descriptors.

The rows that `loyalty vendors import` loads (`vendor_rows()`) and the details only the
simulator needs (merchant category codes, branch names, how a statement line reads, what a
purchase costs) live together so that the simulated bank and the vendor master agree.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

CSV_HEADER: Final = (
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

MALLS: Final = (
    ("SANDTON CITY", "JHB"),
    ("ROSEBANK", "JHB"),
    ("EASTGATE", "JHB"),
    ("CLEARWATER", "RDP"),
    ("MALL OF AFRICA", "MIDRAND"),
    ("MENLYN", "PTA"),
    ("BROOKLYN", "PTA"),
    ("CANAL WALK", "CPT"),
    ("V&A WATERFRONT", "CPT"),
    ("CAVENDISH", "CPT"),
    ("TYGER VALLEY", "BELLVILLE"),
    ("GATEWAY", "UMHLANGA"),
    ("PAVILION", "DBN"),
    ("WALMER PARK", "GQEBERHA"),
    ("LOFTUS PARK", "PTA"),
    ("MIMOSA MALL", "BFN"),
)
FORECOURTS: Final = (
    ("N1 CITY", "CPT"),
    ("ULTRA CITY MIDRAND", "MIDRAND"),
    ("WILLIAM NICOL", "JHB"),
    ("RIVONIA RD", "JHB"),
    ("N3 HARRISMITH", "HARRISMITH"),
    ("KILLARNEY", "JHB"),
    ("MAIN RD CLAREMONT", "CPT"),
    ("UMHLANGA RIDGE", "DBN"),
    ("ATTERBURY", "PTA"),
    ("N2 SOMERSET WEST", "SOMERSET W"),
)


@dataclass(frozen=True)
class SimVendor:
    """A vendor as the bank sees it (descriptors, codes, prices) and as the master lists it."""

    vendor_id: str
    name: str
    category: str
    partner: bool = False
    accepts_redemptions: bool = False
    # How the card system prints it: "{prefix} {branch} {city} ZA", or fixed online lines.
    card_prefixes: tuple[str, ...] = ()
    online_descriptors: tuple[str, ...] = ()
    branches: tuple[tuple[str, str], ...] = MALLS
    mcc: str | None = None
    # Debit orders: templates with {ref6}, {ref8}, {mm}, {phone}; ACB user codes.
    debit_order_descriptors: tuple[str, ...] = ()
    user_codes: tuple[str, ...] = ()
    eft_descriptors: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    # A typical purchase: median and spread (log-normal sigma), in cents.
    median_cents: int = 25_000
    sigma: float = 0.8
    listed: bool = True  # False: a merchant the vendor master does not know
    weight: float = 1.0  # how often customers shop there, relative to the others

    @property
    def merchant_ids(self) -> tuple[str, ...]:
        """One acquirer merchant id per branch, then one per online descriptor."""
        physical = len(self.branches) if self.card_prefixes else 0
        return _merchant_ids(self.vendor_id, physical + len(self.online_descriptors))


@cache
def _merchant_ids(vendor_id: str, count: int) -> tuple[str, ...]:
    # Stable across runs and machines: Random seeded with a string hashes it with SHA-512.
    rng = random.Random(f"merchant-ids:{vendor_id}")  # noqa: S311 (not security)
    return tuple(f"{rng.randrange(10**14, 10**15)}" for _ in range(count))


VENDORS: Final[tuple[SimVendor, ...]] = (
    SimVendor(
        "woolworths", "Woolworths", "groceries", partner=True, accepts_redemptions=True,
        card_prefixes=("WOOLWORTHS", "WW FOOD", "WOOLIES"), mcc="5411",
        online_descriptors=("WOOLWORTHS ONLINE CPT ZA", "WOOLIESDASH CPT ZA"),
        eft_descriptors=("IB PAYMENT WOOLWORTHS CARD",), aliases=("WOOLIES", "WW FOOD"),
        median_cents=42_000, sigma=0.9, weight=3.0,
    ),
    SimVendor(
        "pick_n_pay", "Pick n Pay", "groceries", partner=True, accepts_redemptions=True,
        card_prefixes=("PICK N PAY", "PNP FAMILY", "PNP HYPER", "PNP EXPRESS"), mcc="5411",
        online_descriptors=("PNP ASAP ONLINE CPT ZA",), aliases=("PNP", "PICK N PAY HYPER"),
        median_cents=38_000, sigma=0.9, weight=3.0,
    ),
    SimVendor(
        "checkers", "Checkers", "groceries", partner=True, accepts_redemptions=True,
        card_prefixes=("CHECKERS", "CHECKERS HYPER"), mcc="5411",
        online_descriptors=("CHECKERS SIXTY60 CPT ZA",), aliases=("SIXTY60", "CHECKERS HYPER"),
        median_cents=36_000, sigma=0.9, weight=2.5,
    ),
    SimVendor(
        "spar", "SPAR", "groceries", card_prefixes=("SPAR", "SUPERSPAR", "KWIKSPAR"),
        mcc="5411", aliases=("SUPERSPAR", "KWIKSPAR"), median_cents=21_000, weight=1.5,
    ),
    SimVendor(
        "engen", "Engen", "fuel", partner=True, accepts_redemptions=True,
        card_prefixes=("ENGEN", "ENGEN QUICKSHOP"), branches=FORECOURTS, mcc="5541",
        aliases=("ENGEN QUICKSHOP",), median_cents=65_000, sigma=0.4, weight=2.0,
    ),
    SimVendor(
        "shell", "Shell", "fuel", card_prefixes=("SHELL", "SHELL SELECT"),
        branches=FORECOURTS, mcc="5541", aliases=("SHELL SELECT",),
        median_cents=70_000, sigma=0.4, weight=1.5,
    ),
    SimVendor(
        "sasol", "Sasol", "fuel", card_prefixes=("SASOL", "SASOL DELIGHT"),
        branches=FORECOURTS, mcc="5541", median_cents=60_000, sigma=0.4, weight=1.0,
    ),
    SimVendor(
        "vodacom", "Vodacom", "telecoms", partner=True, accepts_redemptions=True,
        card_prefixes=("VODACOM", "VODASHOP"), mcc="4814",
        online_descriptors=("VODACOM ONLINE MIDRAND ZA", "VODAPAY AIRTIME MIDRAND ZA"),
        debit_order_descriptors=("DEBIT ORDER VODACOM {ref8}", "VODACOM CONTRACT {phone}"),
        user_codes=("0451", "0452"), aliases=("VODASHOP", "VODAPAY"),
        median_cents=29_900, sigma=0.6, weight=1.2,
    ),
    SimVendor(
        "mtn", "MTN", "telecoms", card_prefixes=("MTN STORE",), mcc="4814",
        online_descriptors=("MTN ONLINE AIRTIME ZA",),
        debit_order_descriptors=("DEBIT ORDER MTN SP {ref8}",), user_codes=("0617",),
        median_cents=24_900, sigma=0.6, weight=0.8,
    ),
    SimVendor(
        "takealot", "Takealot", "online_retail", partner=True, accepts_redemptions=True,
        online_descriptors=("TAKEALOT.COM CPT ZA", "TAKEALOT CAPE TOWN ZA", "MR D FOOD CPT ZA"),
        eft_descriptors=("EFT TAKEALOT ORDER {ref8}",), mcc="5399",
        aliases=("TAKEALOT.COM", "MR D FOOD"), median_cents=55_000, sigma=1.0, weight=1.5,
    ),
    SimVendor(
        "dis_chem", "Dis-Chem", "pharmacy", partner=True, accepts_redemptions=True,
        card_prefixes=("DIS-CHEM", "DISCHEM PHARM"), mcc="5912",
        aliases=("DISCHEM", "DIS CHEM"), median_cents=32_000, sigma=0.8, weight=1.3,
    ),
    SimVendor(
        "clicks", "Clicks", "pharmacy", partner=True, accepts_redemptions=True,
        card_prefixes=("CLICKS",), mcc="5912", online_descriptors=("CLICKS ONLINE ZA",),
        median_cents=24_000, sigma=0.8, weight=1.5,
    ),
    SimVendor(
        "nandos", "Nando's", "restaurants", partner=True, accepts_redemptions=True,
        card_prefixes=("NANDOS",), mcc="5812", aliases=("NANDOS",),
        median_cents=22_000, sigma=0.5, weight=1.2,
    ),
    SimVendor(
        "kfc", "KFC", "restaurants", card_prefixes=("KFC",), mcc="5814",
        median_cents=12_000, sigma=0.5, weight=1.0,
    ),
    SimVendor(
        "spur", "Spur Steak Ranches", "restaurants", card_prefixes=("SPUR",), mcc="5812",
        aliases=("SPUR",), median_cents=48_000, sigma=0.5, weight=0.6,
    ),
    SimVendor(
        "mr_price", "Mr Price", "clothing", partner=True, accepts_redemptions=True,
        card_prefixes=("MR PRICE", "MRP HOME", "MR PRICE SPORT"), mcc="5651",
        aliases=("MRP", "MRP HOME"), median_cents=45_000, sigma=0.7, weight=1.0,
    ),
    SimVendor(
        "builders", "Builders", "hardware", card_prefixes=("BUILDERS WAREHOUSE", "BUILDERS EXP"),
        mcc="5200", aliases=("BUILDERS WAREHOUSE",), median_cents=68_000, sigma=1.0, weight=0.6,
    ),
    SimVendor(
        "ster_kinekor", "Ster-Kinekor", "entertainment", partner=True,
        card_prefixes=("STER KINEKOR",), mcc="7832", median_cents=19_000, sigma=0.4, weight=0.4,
    ),
    SimVendor(
        "netflix", "Netflix", "entertainment", online_descriptors=("NETFLIX.COM LOS GATOS US",),
        mcc="4899", median_cents=19_900, sigma=0.2, weight=0.5,
    ),
    SimVendor(
        "multichoice", "MultiChoice DStv", "entertainment",
        debit_order_descriptors=("DEBIT ORDER MULTICHOICE {ref8}", "DSTV SUBS {ref8}"),
        user_codes=("0312",), aliases=("DSTV", "MULTICHOICE"), median_cents=54_900, sigma=0.4,
    ),
    SimVendor(
        "virgin_active", "Virgin Active", "fitness", partner=True,
        card_prefixes=("VIRGIN ACTIVE",), mcc="7997",
        debit_order_descriptors=("DEBIT ORDER VIRGIN ACT {ref6}/{mm}", "VIRGIN ACTIVE SA {ref8}"),
        user_codes=("0123",), aliases=("VIRGIN ACT",), median_cents=79_900, sigma=0.3,
        weight=0.3,
    ),
    SimVendor(
        "planet_fitness", "Planet Fitness", "fitness",
        debit_order_descriptors=("DEBIT ORDER PLANET FIT {ref6}/{mm}",), user_codes=("0788",),
        aliases=("PLANET FIT",), median_cents=59_900, sigma=0.3,
    ),
    SimVendor(
        "discovery", "Discovery", "insurance",
        debit_order_descriptors=("DEBIT ORDER DISCOVERY {ref8}", "DISC HEALTH {ref8}"),
        user_codes=("0201", "0202"), aliases=("DISC HEALTH",), median_cents=310_000, sigma=0.5,
    ),
    SimVendor(
        "outsurance", "OUTsurance", "insurance", debit_order_descriptors=("OUTSURANCE {ref8}",),
        user_codes=("0555",), median_cents=120_000, sigma=0.5,
    ),
    SimVendor(
        "old_mutual", "Old Mutual", "insurance",
        debit_order_descriptors=("DEBIT ORDER OLDMUTUAL {ref8}",), user_codes=("0104",),
        aliases=("OLDMUTUAL", "OM LIFE"), median_cents=85_000, sigma=0.5,
    ),
    SimVendor(
        "telkom", "Telkom", "telecoms", debit_order_descriptors=("TELKOM DEBIT ORDER {ref8}",),
        user_codes=("0400",), median_cents=69_900, sigma=0.4,
    ),
    SimVendor(
        "city_of_joburg", "City of Johannesburg", "utilities",
        eft_descriptors=("IB PAYMENT CITY OF JHB {ref8}", "COJ RATES {ref8}"),
        aliases=("COJ",), median_cents=180_000, sigma=0.5,
    ),
    # Merchants the vendor master does not list: they still flow through, without a vendor.
    SimVendor(
        "unlisted_uber", "Uber", "transport", online_descriptors=("UBER *TRIP HELP.UBER.COM",),
        mcc="4121", median_cents=9_500, sigma=0.6, listed=False, weight=1.0,
    ),
    SimVendor(
        "unlisted_spaza", "Spaza shops", "groceries",
        card_prefixes=("MAMAS KITCHEN", "SIPHOS SPAZA", "CORNER CAFE"),
        branches=(("SOWETO", "JHB"), ("KHAYELITSHA", "CPT"), ("UMLAZI", "DBN")), mcc="5499",
        median_cents=6_000, sigma=0.7, listed=False, weight=0.8,
    ),
)  # fmt: skip

BY_ID: Final = {vendor.vendor_id: vendor for vendor in VENDORS}


def card_vendors() -> tuple[SimVendor, ...]:
    return tuple(v for v in VENDORS if v.card_prefixes or v.online_descriptors)


def debit_order_vendors() -> tuple[SimVendor, ...]:
    return tuple(v for v in VENDORS if v.debit_order_descriptors)


def eft_vendors() -> tuple[SimVendor, ...]:
    return tuple(v for v in VENDORS if v.eft_descriptors)


def redemption_vendors() -> tuple[SimVendor, ...]:
    return tuple(v for v in VENDORS if v.accepts_redemptions)


def vendor_rows() -> list[dict[str, str]]:
    """The vendor master rows for `loyalty vendors import`, in CSV_HEADER order."""
    return [
        {
            "vendor_id": v.vendor_id,
            "name": v.name,
            "category": v.category,
            "partner": str(v.partner).lower(),
            "accepts_redemptions": str(v.accepts_redemptions).lower(),
            "merchant_ids": LIST_SEPARATOR.join(v.merchant_ids),
            "user_codes": LIST_SEPARATOR.join(v.user_codes),
            "aliases": LIST_SEPARATOR.join(v.aliases),
        }
        for v in VENDORS
        if v.listed
    ]


def write_vendor_csv(path: Path) -> Path:
    """Write vendor_rows() as the import CSV (lists separated by `|`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=CSV_HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(vendor_rows())
    return path
