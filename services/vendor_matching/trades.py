"""Words that say what trade a business is in, and the vendor categories each fits.

Data for the engine: a descriptor that names another trade than its best
vendor's (`PEDROS PANELBEATERS` for a restaurant, `AVIS PRINTING` for car hire)
is a question for a person, never a match. A trade word of the vendor's own
trade that its names do not carry (`INTERCAPE FERRIES` for the coach line) is a
distinctive word like any other the vendor leaves unexplained (see the engine);
the words here that explain instead (kinds of outlet, a line of the vendor's
category, places cut short) are what tells a branch of the vendor from another
business sharing its name.
"""

from __future__ import annotations

from services.vendor_matching.lexicon import GENERIC_WORDS, LOCATIONS
from services.vendor_matching.similarity import (
    MIN_TYPO_LENGTH,
    deletion_neighbourhood,
    typo_similarity,
)


def _trades(table: dict[str, str]) -> dict[str, frozenset[str]]:
    return {
        word: frozenset(categories.split())
        for words, categories in table.items()
        for word in words.split()
    }


TRADE_WORDS: dict[str, frozenset[str]] = _trades(
    {
        "CAFE CAFFE COFFEE BAKERY BAKERS DELI DELICATESSEN GRILL KITCHEN RESTAURANT PIZZERIA "
        "SUSHI TAKEAWAY TAKEAWAYS BISTRO BAR PUB TAVERN BURGERS SEAFOOD CATERERS CATERING": (
            "restaurants groceries travel entertainment"
        ),
        "BUTCHERY BUTCHER BUTCHERS FISHERIES FISHMONGER GREENGROCER SPAZA FARM FARMS": (
            "groceries"
        ),
        "SALON SALONS BARBER BARBERS BARBERSHOP NAILS SPA HAIRDRESSER HAIRDRESSERS": "services",
        "DENTAL DENTIST DENTISTS DOCTOR CLINIC OPTOMETRIST OPTOMETRISTS VET VETS VETERINARY "
        "PHYSIO PHYSIOTHERAPY HOSPITAL CHIROPRACTOR": "pharmacy medical_aid",
        "PHARMACY PHARMACIES CHEMIST": "pharmacy groceries retail medical_aid",
        "ACADEMY SCHOOL SCHOOLS COLLEGE CRECHE PRESCHOOL UNIVERSITY TUITION UNIFORMS "
        "MONTESSORI": "education",
        "AUTOMOTIVE PANELBEATERS PANELBEATER MOTORS TYRES TYRE SPARES TRAILERS CARWASH "
        "MECHANICS AUTOBODY GARAGE": "automotive fuel",
        "PLUMBING PLUMBERS PLUMBER ELECTRICAL ELECTRICIANS ELECTRICIAN PRINTING PRINTERS SIGNS "
        "ENGINEERING CONSTRUCTION CONTRACTORS LOCKSMITH LOCKSMITHS ATTORNEYS ATTORNEY LAWYERS "
        "ACCOUNTANTS AUDITORS ARCHITECTS PHOTOGRAPHY PHOTO CLEANERS CLEANING LAUNDRY "
        "LAUNDROMAT CHURCH MINISTRIES CHARITY": "services",
        "TRANSPORT LOGISTICS REMOVALS COURIERS HIRE RENTAL RENTALS": "services travel",
        "HARDWARE TILES PAINT FLOORING FASHION BOUTIQUE LEATHER TAILOR TAILORS TOYS FURNITURE "
        "JEWELLERS JEWELLERY OPTICAL": "retail",
        "FLORIST FLORISTS FLOWERS CLOTHING": "retail groceries",
        "GUESTHOUSE GUEST LODGE LODGES HOTEL HOTELS TOURS SAFARIS SAFARI FERRY FERRIES": (
            "travel entertainment"
        ),
        "CLUB": "fitness entertainment restaurants travel",
        "GYM GYMNASTICS FITNESS YOGA PILATES DANCE": "fitness entertainment education",
        "SECURITY ALARMS": "security",
        "CELLULAR CELL PHONES": "telecoms retail",
        "INSURANCE ASSURANCE BROKERS": "insurance medical_aid",
    }
)

# Words that, for a vendor of the category, say which of its lines or outlets
# it is (`DUNNS MENSWEAR`, `MIDAS AUTO PARTS`, `ADOBE CREATIVE CLD`, `OLD MUTUAL
# UNIT TRUSTS`) rather than name another business. Kept narrow: a trade word for
# another product than the vendor's (`FERRIES` for a coach line, `TOYS` or
# `BAR` for any retailer or restaurant) stays distinctive; a vendor that trades
# under such a word says so in its aliases (`HAMLEYS TOYS`).
CATEGORY_WORDS: dict[str, frozenset[str]] = {
    category: frozenset(words.split())
    for category, words in {
        "retail": "MENSWEAR LADIESWEAR WOMENSWEAR KIDSWEAR SCHOOLWEAR FOOTWEAR OUTLET FACTORY "
        "DEPOT CLEARANCE",
        "automotive": "AUTO PARTS SPARES ACCESSORIES FITMENT CENTRE",
        "streaming": "CREATIVE CLOUD PRO PLUS PREMIUM FAMILY PLAN APP APPS STORAGE DIGITAL "
        "BILL BILLING MUSIC VIDEO",
        "entertainment": "CONCESSIONS CONCESSION KIOSK TICKETING",
        "insurance": "UNIT TRUSTS TRUST INVESTMENTS INVESTMENT INVEST RETIREMENT ANNUITY "
        "SAVINGS WEALTH COVER",
        "medical_aid": "PLAN PLANS CONTRIBUTIONS",
        "telecoms": "FIBRE FIBER DATA AIRTIME PREPAID CONTRACT BROADBAND WIFI LTE DSL ADSL",
        "travel": "TRIP TRIPS RIDE RIDES FLIGHT FLIGHTS FARE FARES RESERVATION RESERVATIONS",
        "restaurants": "DRIVETHRU THRU",
    }.items()
}

# Words that say what kind of outlet a vendor's branch is (`PNP HYPER`, `JET
# STORE`, `CHECKERS LIQUORSHOP`): they never tell one business from another.
FORMAT_WORDS: frozenset[str] = GENERIC_WORDS

_KNOWN_KINDS: frozenset[str] = FORMAT_WORDS | frozenset(TRADE_WORDS)
_MIN_CUT: int = 3
# The last word of a descriptor cut by its field's width (`LIQUORSHO`, `CONTR`,
# `CONCESS`).
FORMAT_WORD_CUTS: frozenset[str] = frozenset(
    word[:end]
    for word in _KNOWN_KINDS.union(*CATEGORY_WORDS.values())
    for end in range(_MIN_CUT, len(word))
)
_NEAR_KINDS: dict[str, frozenset[str]] = {}
for _word in sorted(_KNOWN_KINDS):
    if len(_word) >= MIN_TYPO_LENGTH:
        for _variant in deletion_neighbourhood(_word):
            _NEAR_KINDS[_variant] = _NEAR_KINDS.get(_variant, frozenset()) | {_word}


def is_format_word_typo(token: str) -> bool:
    """A kind-of-business word with a slip in it (`SERIVCE`, `BEATUY`)."""
    if len(token) < MIN_TYPO_LENGTH:
        return False
    return any(
        typo_similarity(token, word) > 0.0
        for variant in deletion_neighbourhood(token)
        for word in _NEAR_KINDS.get(variant, ())
    )


def _cut_places() -> frozenset[tuple[str, ...]]:
    """Every place phrase cut after any letter: `GREEN PO`, `CRADLESTON`; but a
    trade word is read as the trade, not as a place cut short (`BAR` is not
    `BARBERTON`)."""
    cut: set[tuple[str, ...]] = set()
    for place in LOCATIONS:
        words = tuple(place.split())
        for number, word in enumerate(words):
            cut.update(
                (*words[:number], word[:end])
                for end in range(1, len(word) + 1)
                if end == len(word) or word[:end] not in TRADE_WORDS
            )
    return frozenset(cut)


# A branch or town at the end of a descriptor, cut by the acquirer's field.
CUT_PLACES: frozenset[tuple[str, ...]] = _cut_places()
_ONE_WORD_PLACES: frozenset[str] = frozenset(place for place in LOCATIONS if " " not in place)
_MIN_GLUED_HEAD: int = 1
_MIN_GLUED_PLACE: int = 3


def ends_with_place(token: str) -> bool:
    """A name field run into the town field: `CONSTANTIADURBAN`, `27KLERKSDORP`."""
    return any(
        token[cut:] in _ONE_WORD_PLACES
        for cut in range(_MIN_GLUED_HEAD, len(token) - _MIN_GLUED_PLACE + 1)
    )
