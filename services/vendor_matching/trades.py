"""Words that say what trade a business is in, and the vendor categories each fits.

Data for the engine: a descriptor that names another trade than its best
vendor's (`PEDROS PANELBEATERS` for a restaurant, `AVIS PRINTING` for car hire)
is a question for a person, never a match.
"""

from __future__ import annotations


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
