"""The console's words about a customer, shown in the customer's language.

Texts are catalogue data like every customer-facing text (keys `console.*`, seeded in en and
af by migrations 0004 and 0005; a new language is `loyalty translations import`); these
English words are the fallback when the catalogue has none.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.customer_profile.domain import render, text_in

ENGLISH = {
    "profile": "Profile",
    "customer_no": "Customer number",
    "name": "Name",
    "language": "Language",
    "status": "Status",
    "member": "Programme member",
    "yes": "Yes",
    "no": "No",
    "segment": "Segment",
    "accounts": "Accounts",
    "cashback_account": "Cash-back account",
    "tier": "Tier",
    "tier_progress": "{points} tier points in the last {months} months",
    "to_next_tier": "{points} tier points to {tier}",
    "top_tier": "Highest tier",
    "at_risk_until": "Goes down a tier after {date} unless more tier points are earned",
    "balances": "Points",
    "currency": "Currency",
    "balance": "Balance",
    "held": "Held",
    "pending": "Pending",
    "expiries": "Next expiries",
    "expires_on": "Expires on",
    "lots": "Lots",
    "lot": "Lot",
    "lot_starting": "Starting points",
    "lot_current": "Points left",
    "lot_expires": "Expires",
    "lot_source": "Source",
    "never": "Never",
    "lots_shown": "The first {shown} of {total} lots",
    "activity": "Activity",
    "date": "Date",
    "type": "Type",
    "points": "Points",
    "description": "Description",
    "reason": "Reason",
    "redemptions": "Redemptions",
    "vendor": "Vendor",
    "request": "Request",
    "state": "State",
    "none": "None",
    "state.redeemed": "Redeemed",
    "state.held": "Held",
    "state.captured": "Settled",
    "state.voided": "Released",
    "state.cancelled": "Cancelled",
    "state.declined": "Declined",
    "status.active": "Active",
    "status.closed": "Closed",
}


class Labels:
    """`labels["balance"]` in the language; `labels.fill("tier_progress", points=...)`."""

    def __init__(self, texts: Mapping[tuple[str, str], str], language: str) -> None:
        self.texts, self.language = texts, language

    def __getitem__(self, name: str) -> str:
        return text_in(self.texts, f"console.{name}", self.language, ENGLISH.get(name, name))

    def text(self, key: str, default: str) -> str:
        """Any catalogue text (`unit.points`, `tier.gold`) in the language."""
        return text_in(self.texts, key, self.language, default)

    def fill(self, name: str, **values: object) -> str:
        return render(self[name], values)
