"""Simulated bank customers: South African names, languages, segments, accounts and mandates."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Final, Literal

from shared.simulator.vendors import SimVendor, debit_order_vendors

Language = Literal["en", "af"]
Segment = Literal["retail", "premier", "private", "business"]
AccountType = Literal["cheque", "savings", "credit_card"]

EN_FIRST: Final = (
    "Thabo", "Sipho", "Nomvula", "Lerato", "Zanele", "Kagiso", "Lindiwe", "Themba", "Ayanda",
    "Bongani", "Naledi", "Palesa", "Mandla", "Nokuthula", "Tshepo", "Refilwe", "Sibusiso",
    "Thandeka", "Khanyisile", "Mpho", "Busisiwe", "Lwazi", "Karabo", "Dineo", "Priya",
    "Rajesh", "Ashwin", "Fatima", "Yusuf", "Michael", "Sarah", "David", "Jessica", "Craig",
    "Nicole", "Siyabonga", "Nthabiseng", "Kabelo", "Ntombi", "Vusi",
)  # fmt: skip
EN_LAST: Final = (
    "Nkosi", "Dlamini", "Ndlovu", "Khumalo", "Mokoena", "Mahlangu", "Mthembu", "Zulu",
    "Naidoo", "Pillay", "Govender", "Moodley", "Patel", "Smith", "Jones", "Brown", "Molefe",
    "Sithole", "Cele", "Ngcobo", "Mabaso", "Radebe", "Tshabalala", "Maseko", "Baloyi",
    "Mkhize", "Nxumalo", "Chetty", "Reddy", "Taylor", "Mathebula", "Shabalala",
)  # fmt: skip
AF_FIRST: Final = (
    "Annelie", "Johan", "Pieter", "Marietjie", "Hendrik", "Elize", "Jaco", "Francois", "Riaan",
    "Liezl", "Anneke", "Wynand", "Schalk", "Karin", "Gerhard", "Elna", "Ruan", "Marthinus",
    "Sunette", "Christo", "Danie", "Retha", "Jannie", "Lize", "Tiaan", "Chantelle", "Faghmie",
    "Shireen", "Reginald", "Mariska", "Dewald", "Ilse",
)  # fmt: skip
AF_LAST: Final = (
    "van der Merwe", "Botha", "Pretorius", "Smit", "du Plessis", "Nel", "van Wyk", "Venter",
    "Steyn", "Fourie", "Coetzee", "Joubert", "du Toit", "le Roux", "Kruger", "Swanepoel",
    "Viljoen", "Jacobs", "Hendricks", "Petersen", "Adams", "Meyer", "Oosthuizen", "Erasmus",
    "Bezuidenhout", "Engelbrecht", "Cloete", "Januarie", "Olivier", "de Villiers",
)  # fmt: skip

AF_SHARE: Final = 0.4
SEGMENTS: Final[tuple[tuple[Segment, float], ...]] = (
    ("retail", 0.75),
    ("premier", 0.15),
    ("private", 0.04),
    ("business", 0.06),
)
MEMBER_SHARE: Final = 0.8
DEBIT_BIN: Final = "402167"
CREDIT_BIN: Final = "458712"


@dataclass(frozen=True)
class Account:
    account_no: str
    type: AccountType


@dataclass(frozen=True)
class Mandate:
    """A recurring debit order: the same vendor, reference and amount every month."""

    vendor: SimVendor
    descriptor: str
    amount_cents: int


@dataclass
class Customer:
    customer_no: str
    first_name: str
    last_name: str
    language: Language
    segment: Segment
    member: bool
    accounts: list[Account]
    card_refs: list[str]
    mandates: list[Mandate] = field(default_factory=list)

    @property
    def bank_accounts(self) -> list[Account]:
        """Accounts with statement lines (cheque and savings)."""
        return [a for a in self.accounts if a.type != "credit_card"]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _masked_pan(rng: random.Random, bin_: str) -> str:
    return f"{bin_}******{_digits(rng, 4)}"


def lognormal_cents(rng: random.Random, median_cents: int, sigma: float) -> int:
    """A realistic price: log-normal around the median, at least R1, whole cents."""
    return max(100, round(median_cents * rng.lognormvariate(0, sigma)))


def mandate_descriptor(rng: random.Random, template: str) -> str:
    phone = "0" + rng.choice("678") + rng.choice("1234") + _digits(rng, 7)
    return template.format(
        ref6=_digits(rng, 6), ref8=_digits(rng, 8), mm=f"{rng.randint(1, 12):02d}", phone=phone
    )[:40]


def _accounts(rng: random.Random, segment: Segment) -> tuple[list[Account], list[str]]:
    accounts: list[Account] = []
    cards: list[str] = []
    if segment == "business" or rng.random() < 0.9:
        accounts.append(Account("40" + _digits(rng, 8), "cheque"))
        cards.append(_masked_pan(rng, DEBIT_BIN))
    if rng.random() < (0.5 if accounts else 1.0):
        accounts.append(Account("90" + _digits(rng, 8), "savings"))
    credit_share = {"retail": 0.3, "premier": 0.7, "private": 0.9, "business": 0.5}[segment]
    if rng.random() < credit_share:
        accounts.append(Account("5" + _digits(rng, 12), "credit_card"))
        cards.append(_masked_pan(rng, CREDIT_BIN))
    if not cards:  # a savings-only customer still has a debit card on the savings account
        cards.append(_masked_pan(rng, DEBIT_BIN))
    return accounts, cards


def _mandates(rng: random.Random) -> list[Mandate]:
    vendors = debit_order_vendors()
    chosen = rng.sample(vendors, k=min(len(vendors), rng.choice((0, 1, 1, 2, 2, 3, 4))))
    return [
        Mandate(
            vendor,
            mandate_descriptor(rng, rng.choice(vendor.debit_order_descriptors)),
            lognormal_cents(rng, vendor.median_cents, vendor.sigma),
        )
        for vendor in chosen
    ]


def generate_customers(rng: random.Random, n: int) -> list[Customer]:
    """n distinct customers (about 60% English and 40% Afrikaans speakers)."""
    seen: set[str] = set()
    customers: list[Customer] = []
    segments, weights = zip(*SEGMENTS, strict=True)
    while len(customers) < n:
        customer_no = str(rng.randrange(10**9, 10**10))
        if customer_no in seen:
            continue
        seen.add(customer_no)
        language: Language = "af" if rng.random() < AF_SHARE else "en"
        first, last = (AF_FIRST, AF_LAST) if language == "af" else (EN_FIRST, EN_LAST)
        segment: Segment = rng.choices(segments, weights)[0]
        accounts, cards = _accounts(rng, segment)
        customers.append(
            Customer(
                customer_no=customer_no,
                first_name=rng.choice(first),
                last_name=rng.choice(last),
                language=language,
                segment=segment,
                member=rng.random() < MEMBER_SHARE,
                accounts=accounts,
                card_refs=cards,
                mandates=_mandates(rng) if any(a.type == "cheque" for a in accounts) else [],
            )
        )
    return customers
