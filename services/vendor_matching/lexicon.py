"""Word lists for reading South African statement descriptors.

Data, not logic: `normalise.py` applies these lists. Every entry is written
already normalised (uppercase ASCII letters and digits, single spaces), and a
multi-word entry is matched token by token, never inside a word, so `CAPE TOWN`
removes the city but leaves `CAPE UNION MART` alone.
"""

from __future__ import annotations

from services.vendor_matching.places import PLACES


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words a bank, acquirer or payment processor adds around the merchant's name.
NOISE_PHRASES: tuple[str, ...] = (
    # how the transaction was made
    "DEBIT ORDER",
    "D O",
    "STOP ORDER",
    "MAGTAPE",
    "NAEDO",
    "AEDO",
    "DEBICHECK",
    "DEBIT",
    "CREDIT",
    "ORDER",
    "POS PURCHASE",
    "CARD PURCHASE",
    "FUEL PURCHASE",
    "RECURRING",
    # `POS PURCHASE (EFFEC 24/08/2024)`: the effective date's label
    "EFFEC",
    "EFFECTIVE",
    "POS",
    "PURCHASE",
    "PURCH",
    "CARD",
    "EFT",
    "IB",
    "INTERNET",
    "ONLINE",
    "PAYMENT",
    "PAYMT",
    "PMT",
    "PYMT",
    "INSTALMENT",
    "SETTLEMENT",
    "REF",
    "REFERENCE",
    "INT",
    "ACT",
    "ACC",
    "ACCT",
    "ACCOUNT",
    "NO",
    "NR",
    "POLICY",
    "POL",
    "PREMIUM",
    "PREM",
    "CONTRIBUTION",
    "CONTRIB",
    "SUBSCRIPTION",
    "SUBS",
    "MONTHLY",
    "MEMBERSHIP",
    # payment processors that prefix the merchant (`YOCO *JOES COFFEE`); their
    # short codes (`IKH*`, `SQ *`) are removed only before a `*`, see PROCESSOR_CODES
    "YOCO",
    "PAYU",
    "PAYFAST",
    "PAYPAL",
    "SNAPSCAN",
    "ZAPPER",
    "IKHOKHA",
    "PAYGATE",
    "DASHPAY",
    # web addresses (`NETFLIX.COM`, `TAKEALOT.CO.ZA`)
    "WWW",
    "HTTP",
    "HTTPS",
    "COM",
    "CO",
    "NET",
    "ORG",
    # company forms
    "PTY LTD",
    "PTY",
    "LTD",
    "LIMITED",
    "CC",
    "INC",
    # country
    "SOUTH AFRICA",
    "ZA",
    "ZAF",
    "ZAR",
    "RSA",
    "SA",
    # small words
    "THE",
    "AND",
    "OF",
    "AT",
    "TO",
    "FOR",
)

# Payment processors' codes printed before a `*` and the merchant's name
# (`IKH*KASI KOTA`, `SQ *BLUE BOTTLE`, `ZAPPER1*HARBOUR HOUSE`). Too short to
# remove wherever they appear: `SQ` or `HPY` may be part of a name.
PROCESSOR_CODES: tuple[str, ...] = (
    "YOCO",
    "ZAPPER",
    "SNAPSCAN",
    "PAYFAST",
    "IKHOKHA",
    "IKH",
    "HPY",
    "DASHPAY",
    "SQ",
    "PAYPAL",
    "PAYU",
    "PAYGATE",
    "PP",
)

# Cities, suburbs, malls and provinces that acquirers print after the name.
_LOCATIONS: tuple[str, ...] = (
    "JHB",
    "JOHANNESBURG",
    "JOBURG",
    "JNB",
    "CPT",
    "CAPE TOWN",
    "KAAPSTAD",
    "DBN",
    "DURBAN",
    "PTA",
    "PRETORIA",
    "TSHWANE",
    "SANDTON CITY",
    "SANDTON",
    "ROSEBANK",
    "MENLYN",
    "MENLYN PARK",
    "CENTURION",
    "MIDRAND",
    "FOURWAYS",
    "RANDBURG",
    "BRYANSTON",
    "BEDFORDVIEW",
    "EASTGATE",
    "ROODEPOORT",
    "SOWETO",
    "BENONI",
    "BOKSBURG",
    "KEMPTON PARK",
    "GERMISTON",
    "ALBERTON",
    "KRUGERSDORP",
    "VEREENIGING",
    "VANDERBIJLPARK",
    "POTCHEFSTROOM",
    "RUSTENBURG",
    "POLOKWANE",
    "MBOMBELA",
    "NELSPRUIT",
    "BLOEMFONTEIN",
    "BFN",
    "KIMBERLEY",
    "GQEBERHA",
    "PORT ELIZABETH",
    "PLZ",
    "EAST LONDON",
    "KNYSNA",
    "STELLENBOSCH",
    "PAARL",
    "SOMERSET WEST",
    "CLAREMONT",
    "BELLVILLE",
    "CANAL WALK",
    "TYGER VALLEY",
    "V AND A WATERFRONT",
    "WATERFRONT",
    "CAVENDISH",
    "UMHLANGA",
    "BALLITO",
    "PIETERMARITZBURG",
    "PMB",
    "RICHARDS BAY",
    "MTHATHA",
    "HATFIELD",
    "BROOKLYN",
    "MALL OF AFRICA",
    "CRESTA",
    "CLEARWATER",
    "KILLARNEY",
    "MELROSE ARCH",
    "HYDE PARK",
    "BRAAMFONTEIN",
    "NORTHCLIFF",
    "ORT TAMBO",
    "OR TAMBO",
    "KING SHAKA",
    "MALL",
    "CENTRE",
    "CENTER",
    "CTR",
    "SHOPPING CENTRE",
    "GAUTENG",
    "WESTERN CAPE",
    "KWAZULU NATAL",
    "GP",
    "WC",
    "KZN",
    "EC",
    "FS",
    "NW",
    "MP",
    "LP",
)
LOCATIONS: tuple[str, ...] = tuple(dict.fromkeys((*_LOCATIONS, *PLACES)))

# Month names, dropped after a day number (`* 24 AUG`, `15 JAN 2024`).
MONTHS: frozenset[str] = _words(
    "JAN JANUARY FEB FEBRUARY MAR MARCH APR APRIL MAY JUN JUNE JUL JULY AUG AUGUST "
    "SEP SEPT SEPTEMBER OCT OCTOBER NOV NOVEMBER DEC DECEMBER"
)

# Countries at the end of a card descriptor in the acquirer's fixed layout.
COUNTRY_CODES_ALPHA2: frozenset[str] = _words(
    "ZA NA BW LS SZ ZW MZ MU KE NG GB IE NL DE FR LU SE EE US CA AU AE SG IN CN"
)
COUNTRY_CODES_ALPHA3: frozenset[str] = _words(
    "ZAF NAM BWA LSO SWZ ZWE MOZ MUS KEN NGA GBR IRL NLD DEU FRA LUX SWE EST USA"
)

# Abbreviations printed on statements, mapped to the words in vendor names.
# Neither side may contain another key, a noise word or a location: the
# normaliser relies on that to be idempotent (a test checks it).
ABBREVIATIONS: dict[str, str] = {
    "WOOLIES": "WOOLWORTHS",
    "WOOLWTHS": "WOOLWORTHS",
    "PNP": "PICK N PAY",
    "PICKNPAY": "PICK N PAY",
    "P N P": "PICK N PAY",
    "CHKRS": "CHECKERS",
    # SPAR's store formats are SPAR to a loyalty programme
    "SUPERSPAR": "SPAR",
    "SUPER SPAR": "SPAR",
    "KWIKSPAR": "SPAR",
    "KWIK SPAR": "SPAR",
    "VODA": "VODACOM",
    "OLDMUT": "OLD MUTUAL",
    "OLD MUT": "OLD MUTUAL",
    "DISC": "DISCOVERY",
    "DISCVRY": "DISCOVERY",
    "VIRGIN ACT": "VIRGIN ACTIVE",
    "VIRGINACT": "VIRGIN ACTIVE",
    "MULTICH": "MULTICHOICE",
    "MCHOICE": "MULTICHOICE",
    "NFLX": "NETFLIX",
    "UBEREATS": "UBER EATS",
    "MCD": "MCDONALDS",
    "MCDS": "MCDONALDS",
    "MC DONALDS": "MCDONALDS",
    "MRP": "MR PRICE",
    "DCHEM": "DISCHEM",
    "TKLT": "TAKEALOT",
    "SNLM": "SANLAM",
    # generic words
    "OM": "OLD MUTUAL",
    "INS": "INSURANCE",
    "ASSUR": "ASSURANCE",
    "MED": "MEDICAL",
    "HLTH": "HEALTH",
    "SUPERMKT": "SUPERMARKET",
    "MKT": "MARKET",
    "PHARM": "PHARMACY",
    "INTL": "INTERNATIONAL",
    "WHOUSE": "WAREHOUSE",
    "WHSE": "WAREHOUSE",
    "CLD": "CLOUD",
}

# Words that say what kind of business it is rather than which one. In a
# vendor's name they weigh little (`FOOD LOVERS` is enough for `FOOD LOVERS
# MARKET`); in a descriptor they are matched only exactly (`SHOP` must not be
# read as a cut-off `SHOPRITE`).
GENERIC_WORDS: frozenset[str] = _words(
    """
    MARKET STORE STORES SHOP SHOPS SUPERSTORE SUPERSTORES SUPERMARKET HYPER EXPRESS FOOD
    FOODS PHARMACY PHARMACIES CHEMIST INSURANCE ASSURANCE INSURERS LIFE MEDICAL SCHEME
    FUND GROUP HOLDINGS HOTEL HOTELS CINEMA CINEMAS AIRWAYS AIRLINE AIRLINES ENERGY
    ENERGIES FUEL GARAGE SERVICE SERVICES STATION MOBILE CAFE RESTAURANT PIZZA STEAK
    RANCH RANCHES GRILL KITCHEN FITNESS GYM WAREHOUSE CORPORATION CORP COMPANY TRADING
    DIRECT CONVENIENCE LIQUOR LIQUORSHOP CLOTHING HOME SPORT SPORTS KIDS BEAUTY DELIVERY
    BOOKING TICKETS PROVIDER SUBSCRIPTION SOLUTIONS INTERNATIONAL
    """
)

# Everyday words that are also brand names (`GAME`, `SHELL`, `TOTAL`): many
# unrelated businesses use them too, so in a descriptor they explain less, and
# a descriptor with other unexplained words goes to review instead.
COMMON_WORDS: frozenset[str] = _words(
    """
    GAME GAMES RAIN TOTAL SHELL BOLT LIFT LIBERTY MOMENTUM PLANET ZONE KING QUEEN BUDGET
    OCEAN CITY TOWN ROAD VIRGIN ACTIVE SELECT STAR SUN SUNNY BLUE GREEN RED GOLD GOLDEN
    SILVER ROYAL CROWN PRIME PROTEA SPUR CLICKS BUILDERS BOXER CAPE UNION MART PEP
    SANTA ASTRON CONNECTION INCREDIBLE DELIGHT BASKET BEAN WILD EXPRESS FIRST ONE NEW
    BEST GOOD HAPPY SMART FRESH QUICK TOP TOPS PARK LAKE HILL VALLEY RIVER MOUNTAIN
    SEA BAY BEACH COAST SOUTH NORTH EAST WEST CENTRAL METRO UNITED NATIONAL PEOPLE
    FAMILY LUCKY MAGIC PREMIER ELITE PLATINUM DIAMOND EAGLE LION TIGER ROSE LILY
    ORANGE APPLE BERRY CHERRY OLIVE COFFEE TEA BREAD CORNER VILLAGE GARDEN HOUSE
    VIVA GEMS JET DOVES DOVE PUMA SWITCH NAKED PINEAPPLE ZOOM LINK ALPHA FIRST METRO
    """
)


# Merchant category codes (ISO 18245) to our vendor categories. Used only to
# break a near tie between two vendors, never to create a match.
MCC_CATEGORIES: dict[str, frozenset[str]] = {
    "5411": frozenset({"groceries"}),
    "5422": frozenset({"groceries"}),
    "5499": frozenset({"groceries"}),
    "5921": frozenset({"groceries"}),
    "5541": frozenset({"fuel"}),
    "5542": frozenset({"fuel"}),
    "5812": frozenset({"restaurants"}),
    "5813": frozenset({"restaurants"}),
    "5814": frozenset({"restaurants"}),
    "5912": frozenset({"pharmacy"}),
    "4812": frozenset({"telecoms"}),
    "4814": frozenset({"telecoms"}),
    "4899": frozenset({"streaming", "telecoms"}),
    "5815": frozenset({"streaming"}),
    "5817": frozenset({"streaming"}),
    "6300": frozenset({"insurance", "medical_aid"}),
    "7997": frozenset({"fitness"}),
    "3000": frozenset({"travel"}),
    "4511": frozenset({"travel"}),
    "4121": frozenset({"travel"}),
    "7011": frozenset({"travel"}),
    "5311": frozenset({"retail"}),
    "5651": frozenset({"retail"}),
    "5691": frozenset({"retail"}),
    "5732": frozenset({"retail"}),
    "5200": frozenset({"retail"}),
    "5399": frozenset({"retail"}),
    "7832": frozenset({"entertainment"}),
}
