"""Transactions and small programmes for accrual tests, with only the fields a case cares about."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from fractions import Fraction

from services.accrual.programmes import default_document
from services.accrual.rules.loader import compile_programme, with_versions
from services.accrual.rules.model import (
    Activity,
    Agreement,
    Condition,
    CustomerClass,
    DateRange,
    ExpiryPolicy,
    Multiplier,
    PeriodCap,
    PostingRule,
    Programme,
    Promotion,
)

NOV = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
RETAIL_BLUE = CustomerClass("retail", "blue")
_ids = itertools.count(1)


def default_programme() -> Programme:
    programme = compile_programme(default_document())
    return with_versions(programme, dict.fromkeys(programme.rules(), 1), 1)


def card(amount_cents: int, *, at: datetime = NOV, status: str = "posted", kind: str = "purchase",
         tx: str | None = None, original: str | None = None, customer: str = "C1",
         vendor: str | None = None, category: str | None = None, partner: bool = False,
         mcc: str | None = "5411") -> Activity:  # fmt: skip
    return Activity(
        source="card",
        transaction_id=tx or f"CT{next(_ids):06d}",
        status=status,
        kind=kind,
        customer_no=customer,
        amount_cents=amount_cents,
        transaction_at=at,
        direction="credit" if kind == "refund" else "debit",
        channel="card",
        mcc=mcc,
        vendor_id=vendor,
        vendor_category=category,
        partner=partner,
        original_transaction_id=original,
    )


def account(amount_cents: int, *, channel: str = "eft", at: datetime = NOV,
            kind: str = "payment", tx: str | None = None, original: str | None = None,
            customer: str = "C1", direction: str = "debit") -> Activity:  # fmt: skip
    return Activity(
        source="account",
        transaction_id=tx or f"AT{next(_ids):06d}",
        status="posted",
        kind=kind,
        customer_no=customer,
        amount_cents=amount_cents,
        transaction_at=at,
        direction=direction,
        channel=channel,
        original_transaction_id=original,
    )


def debit_order(amount_cents: int, *, partner: bool = True, tx: str | None = None,
                status: str = "posted", kind: str = "payment", original: str | None = None,
                customer: str = "C1", at: datetime = NOV) -> Activity:  # fmt: skip
    return Activity(
        source="debit_order",
        transaction_id=tx or f"DO-20261120-{next(_ids)}",
        status=status,
        kind=kind,
        customer_no=customer,
        amount_cents=amount_cents,
        transaction_at=at,
        direction="credit" if kind == "reversal" else "debit",
        channel="debit_order",
        vendor_id="discovery_health" if partner else "gym",
        vendor_category="medical_aid",
        partner=partner,
        original_transaction_id=original,
    )


def rule(rule_id: str = "r", *, event: str = "card_purchase", currency: str = "points",
         points: int = 1, per: int = 1000, start: date | None = None, end: date | None = None,
         **extra: object) -> PostingRule:  # fmt: skip
    return PostingRule(
        id=rule_id, event=event, currency=currency, points=points, per_amount_cents=per,
        version=1, effective=DateRange(start, end), **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def programme(*rules: PostingRule, segments: frozenset[str] | None = None) -> Programme:
    return Programme(
        name="test",
        timezone="Africa/Johannesburg",
        default_class=RETAIL_BLUE,
        currencies={"points": ExpiryPolicy(12), "tier_points": ExpiryPolicy(None)},
        agreements=(Agreement("all", rules, segments=segments),),
        version=1,
    )


def multiplier(mid: str, factor: str, **when: object) -> Multiplier:
    return Multiplier(mid, Condition(**when), Fraction(factor))  # type: ignore[arg-type]


def promotion(pid: str, start: date, end: date, **kwargs: object) -> Promotion:
    return Promotion(pid, DateRange(start, end), **kwargs)  # type: ignore[arg-type]


def month_cap(points: int) -> PeriodCap:
    return PeriodCap("month", points)
