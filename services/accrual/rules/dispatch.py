"""The agreement dispatcher: which agreement and which posting rules apply to an activity."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from services.accrual.rules.calendar import local_date
from services.accrual.rules.model import (
    Activity,
    Agreement,
    CustomerClass,
    Exclusion,
    PostingRule,
    Programme,
)

ACCOUNT_EVENTS = {
    "eft": "eft_payment",
    "debit_order": "debit_order",
    "transfer": "transfer",
    "fee": "fee",
    "atm": "cash_withdrawal",
}


class AmbiguousAgreementError(ValueError):
    """Two equally specific agreements serve the same class on the same day."""


def event_type(activity: Activity) -> str | None:
    """The event type rules are keyed by; None for what never earns (refunds, credits)."""
    if activity.kind not in {"purchase", "payment"} or activity.direction != "debit":
        return None
    if activity.source == "card":
        return "card_purchase"
    if activity.source == "debit_order":
        return "debit_order"
    return ACCOUNT_EVENTS.get(activity.channel or "", "account_payment")


def agreement_for(programme: Programme, customer: CustomerClass, day: date) -> Agreement | None:
    """The most specific agreement serving the class on that day."""
    serving = [a for a in programme.agreements if a.serves(customer, day)]
    if not serving:
        return None
    best = max(a.specificity for a in serving)
    chosen = [a for a in serving if a.specificity == best]
    if len(chosen) > 1:
        names = ", ".join(a.id for a in chosen)
        raise AmbiguousAgreementError(f"agreements {names} all serve {customer} on {day}")
    return chosen[0]


@dataclass(frozen=True, slots=True)
class Dispatch:
    """Where an activity lands: its day, event type, agreement, and a rule per currency."""

    day: date
    event: str | None
    customer: CustomerClass
    agreement: Agreement | None = None
    rules: dict[str, PostingRule] = field(default_factory=dict)
    excluded_by: Exclusion | None = None


def dispatch(programme: Programme, customer: CustomerClass | None, activity: Activity) -> Dispatch:
    """Dispatch by the activity's own date (`transaction_at`), never by processing time."""
    customer = customer or programme.default_class
    day = local_date(activity.transaction_at, programme.timezone)
    event = event_type(activity)
    if event is None:
        return Dispatch(day, event, customer)
    for exclusion in programme.exclusions:
        if exclusion.when.matches(activity):
            return Dispatch(day, event, customer, excluded_by=exclusion)
    agreement = agreement_for(programme, customer, day)
    if agreement is None:
        return Dispatch(day, event, customer)
    rules = {
        r.currency: r for r in agreement.rules if r.event == event and r.effective.contains(day)
    }
    return Dispatch(day, event, customer, agreement, rules)
