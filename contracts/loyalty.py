"""Our own topics between the services (unknown fields are an error on these)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
)

from contracts.common import AmountCents, Currency, CustomerNo, OwnMessage

PointsCurrency = Annotated[
    Literal["points", "tier_points"],
    Field(
        description="points are spendable; tier_points only qualify for tiers.",
        examples=["points"],
    ),
]


def _non_zero(points: int) -> int:
    if points == 0:
        raise ValueError("points must not be zero")
    return points


SignedPoints = Annotated[
    StrictInt,
    AfterValidator(_non_zero),
    Field(description="Signed, never zero: credits positive, debits negative.", examples=[25]),
]


# The example of every timestamp field of these messages.
EXAMPLE_TIME = "2026-11-20T08:15:30+02:00"


class TransactionEnriched(OwnMessage):
    """loyalty.transaction.enriched.v1: every bank transaction with its vendor (or none)."""

    source: Literal["card", "account", "debit_order"] = Field(
        description="Which ESB topic it came from.", examples=["card"]
    )
    source_message_id: str = Field(
        description="message_id of the bank's message.", examples=["c0a8012e"]
    )
    transaction_id: str = Field(
        max_length=40, description="The bank's transaction id.", examples=["CT20261120000123"]
    )
    status: Literal["authorized", "posted", "reversed", "unpaid"] = Field(
        description="Card status; account lines are posted; unpaid: a debit order the bank "
        "could not collect (earns nothing, kept for the activity history).",
        examples=["posted"],
    )
    kind: Literal["purchase", "refund", "payment", "reversal"] = Field(
        description="purchase/refund for cards; payment/reversal for accounts and debit orders.",
        examples=["purchase"],
    )
    original_transaction_id: str | None = Field(
        description="For refunds and reversals: the transaction they undo.", examples=[None]
    )
    customer_no: CustomerNo
    account_no: str | None = Field(
        description="Account, for account and debit-order sources.", examples=[None, "4071234567"]
    )
    amount_cents: AmountCents
    currency: Currency
    transaction_at: AwareDatetime = Field(
        description="When the customer transacted.", examples=[EXAMPLE_TIME]
    )
    descriptor: str = Field(
        description="Statement descriptor.", examples=["WOOLWORTHS SANDTON CITY JHB ZA"]
    )
    mcc: str | None = Field(description="Merchant category code (cards).", examples=["5411"])
    channel: str | None = Field(
        description="card, debit_order, or the account channel (eft, transfer, ...).",
        examples=["card"],
    )
    direction: Literal["debit", "credit"] = Field(
        description="debit: money left the customer's account.", examples=["debit"]
    )
    vendor_id: str | None = Field(
        description="The recognised vendor, if any.", examples=["woolworths", None]
    )
    vendor_name: str | None = Field(description="Its display name.", examples=["Woolworths"])
    vendor_category: str | None = Field(description="Its category.", examples=["groceries"])
    partner: StrictBool = Field(
        description="Whether the vendor is a programme partner.", examples=[True]
    )
    match_method: Literal[
        "merchant_id", "user_code", "alias", "name", "fuzzy", "review", "none"
    ] = Field(
        description="How the vendor was recognised; review: a person is asked; none: unknown.",
        examples=["merchant_id"],
    )
    match_confidence: StrictInt = Field(
        ge=0, le=100, description="Confidence of the match, 0..100.", examples=[100]
    )


class PointsPosted(OwnMessage):
    """loyalty.points.posted.v1: a points lot credit, reversal or adjustment from accrual."""

    posting_id: str = Field(
        description="Unique per posting; the wallet applies it once.",
        examples=["earn:card:CT20261120000123:points"],
    )
    customer_no: CustomerNo
    currency: PointsCurrency
    points: SignedPoints = Field(
        description="Signed, never zero: credits positive, reversals and negative "
        "adjustments negative.",
        examples=[25, -10],
    )
    kind: Literal["earn", "reversal", "adjustment", "confirmation"] = Field(
        description="Why the points moved.", examples=["earn"]
    )
    source_transaction_id: str | None = Field(
        description="The bank transaction, if any.", examples=["CT20261120000123", None]
    )
    reverses_posting_id: str | None = Field(
        description="The posting a reversal takes back.", examples=[None]
    )
    expires_at: date | None = Field(
        description="Expiry of the lot a credit creates; null: never expires.",
        examples=["2027-11-30", None],
    )
    rule_id: str | None = Field(
        description="The posting rule applied.", examples=["flat-points-per-r10"]
    )
    rule_version: StrictInt | None = Field(description="Its version.", examples=[1])
    earned_at: AwareDatetime = Field(
        description="When the activity happened.", examples=[EXAMPLE_TIME]
    )
    actor: str | None = Field(description="For adjustments: who.", examples=[None, "ops.jdb"])
    reason: str | None = Field(
        description="For adjustments: why.", examples=[None, "goodwill: missed partner bonus"]
    )


class PendingPointsChanged(OwnMessage):
    """loyalty.points.pending.v1: potential points created, confirmed or cancelled."""

    customer_no: CustomerNo
    transaction_id: str = Field(description="The card transaction.", examples=["CT20261120000123"])
    state: Literal["created", "confirmed", "cancelled"] = Field(
        description="created on authorization; confirmed on posting; cancelled on reversal "
        "or lapse.",
        examples=["created"],
    )
    points: StrictInt = Field(ge=0, description="Points pending.", examples=[25])
    currency: PointsCurrency
    changed_at: AwareDatetime = Field(
        description="When the state changed.", examples=[EXAMPLE_TIME]
    )


class AdjustmentRequested(OwnMessage):
    """loyalty.points.adjustment-requested.v1: an operator's manual adjustment."""

    adjustment_id: str = Field(description="Unique per adjustment.", examples=["ADJ-000123"])
    customer_no: CustomerNo
    currency: PointsCurrency
    points: SignedPoints = Field(
        description="Signed, never zero: positive credits, negative debits.", examples=[500]
    )
    actor: str = Field(min_length=1, description="Who asked.", examples=["ops.jdb"])
    reason_code: str = Field(min_length=1, description="Reason code.", examples=["goodwill"])
    reason_text: str = Field(description="Free text.", examples=["Missed partner bonus"])
    requested_at: AwareDatetime = Field(
        description="When the operator asked.", examples=[EXAMPLE_TIME]
    )


class ExpiryBucket(BaseModel):
    """Points of the customer's open lots that expire on one day."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    expires_at: date = Field(
        description="The day the lots expire (usable up to and including it).",
        examples=["2027-11-30"],
    )
    points: StrictInt = Field(gt=0, description="Points expiring that day.", examples=[120])


NEXT_EXPIRIES = 3  # buckets a balance change carries at most


class LotSummary(BaseModel):
    """One open lot of the customer's wallet: points credited together, spent first-expiring
    first."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lot_id: StrictInt = Field(gt=0, description="The wallet's id of the lot.", examples=[4711])
    starting: StrictInt = Field(gt=0, description="Points the lot was opened with.", examples=[500])
    current: StrictInt = Field(ge=0, description="Points still in the lot.", examples=[120])
    expires_at: date | None = Field(
        description="The day the lot expires (usable up to and including it); null: never.",
        examples=["2027-11-30"],
    )
    source: str = Field(
        min_length=1,
        description="What opened the lot: the posting id of the credit.",
        examples=["POS-0001-20261120-0042"],
    )


OPEN_LOTS = 20  # lots a balance change carries at most


class BalanceChanged(OwnMessage):
    """loyalty.wallet.balance-changed.v1: a customer's wallet balance moved."""

    customer_no: CustomerNo
    currency: PointsCurrency
    change: StrictInt = Field(description="Signed change of the balance.", examples=[-500])
    balance: StrictInt = Field(description="Balance after (may be negative).", examples=[1250])
    held: StrictInt = Field(ge=0, description="Points held after.", examples=[0])
    cause: Literal[
        "earn", "reversal", "redemption", "hold", "capture", "void", "lapse", "cancel",
        "expiry", "adjustment",
    ] = Field(description="What moved it.", examples=["redemption"])  # fmt: skip
    reference: str = Field(
        description="Posting id, request id or run id.", examples=["POS-0001-20261120-0042"]
    )
    occurred_at: AwareDatetime = Field(
        description="When the balance moved.", examples=[EXAMPLE_TIME]
    )
    next_expiries: list[ExpiryBucket] | None = Field(
        default=None,
        max_length=NEXT_EXPIRIES,
        description="After the change: the points of the open, unexpired lots of this "
        "currency by expiry day, soonest first, at most 3 days (lots that never expire are "
        "not listed). Null: not stated (a producer before this field).",
        examples=[[{"expires_at": "2027-11-30", "points": 120}]],
    )
    open_lots: list[LotSummary] | None = Field(
        default=None,
        max_length=OPEN_LOTS,
        description="After the change: the open lots of this currency (points left, not "
        "expired), soonest expiry first, lots that never expire last, ties by lot id. Capped "
        "at the first 20; open_lots_total says how many there are in all. Null: not stated "
        "(a producer before this field).",
        examples=[[{"lot_id": 4711, "starting": 500, "current": 120,
                    "expires_at": "2027-11-30", "source": "POS-0001-20261120-0042"}]],
    )  # fmt: skip
    open_lots_total: StrictInt | None = Field(
        default=None,
        ge=0,
        description="How many open lots the account has in all (open_lots lists at most 20 "
        "of them). Null: not stated (a producer before this field).",
        examples=[1],
    )


class CashbackPayoutRequested(OwnMessage):
    """loyalty.cashback.payout-requested.v1: money to pay into a customer's account."""

    payout_id: str = Field(description="Unique per payout.", examples=["PO-000000000042"])
    customer_no: CustomerNo
    account_no: str = Field(
        max_length=13, pattern=r"^\d+$", description="Account to credit.", examples=["4071234567"]
    )
    amount_cents: AmountCents
    currency: Currency
    points: StrictInt = Field(gt=0, description="Points redeemed for it.", examples=[500])
    reference: str = Field(
        max_length=20,
        description="Loyalty reference the bank echoes back on queries (LYCRED).",
        examples=["LYPO000000000042"],
    )
    narrative: str = Field(
        max_length=30,
        description="Statement narrative, in the customer's language.",
        examples=["Belonings kontant terug"],
    )
    language: str = Field(description="Language of the narrative (ISO 639-1).", examples=["af"])
    requested_at: AwareDatetime = Field(
        description="When the payout was requested.", examples=[EXAMPLE_TIME]
    )


class ProfileChanged(OwnMessage):
    """loyalty.customer.profile-changed.v1: who the customer is, for the other services."""

    customer_no: CustomerNo
    status: Literal["active", "closed"] = Field(description="Status.", examples=["active"])
    loyalty_member: StrictBool = Field(description="Member of the programme.", examples=[True])
    first_name: str = Field(description="First name.", examples=["Annelie"])
    last_name: str = Field(description="Last name.", examples=["van der Merwe"])
    preferred_language: str = Field(description="ISO 639-1.", examples=["af"])
    segment: str = Field(description="Bank segment.", examples=["retail"])
    tier: str = Field(description="Programme tier.", examples=["blue"])
    cashback_account_no: str | None = Field(
        description="The first cheque account; null: no cash-back possible.",
        examples=["4071234567", None],
    )
    profile_version: StrictInt = Field(
        ge=1, description="Increases with every change; keep the highest.", examples=[3]
    )
    changed_at: AwareDatetime = Field(
        description="When the profile changed.", examples=[EXAMPLE_TIME]
    )


class VendorChanged(OwnMessage):
    """loyalty.vendor.changed.v1: the vendor master changed (keyed by vendor_id)."""

    vendor_id: str = Field(description="Vendor.", examples=["woolworths"])
    name: str = Field(description="Display name.", examples=["Woolworths"])
    category: str = Field(description="Category.", examples=["groceries"])
    partner: StrictBool = Field(description="Programme partner.", examples=[True])
    accepts_redemptions: StrictBool = Field(description="Accepts redemptions.", examples=[True])
    active: StrictBool = Field(description="Active.", examples=[True])
    changed_at: AwareDatetime = Field(
        description="When the vendor master changed.", examples=[EXAMPLE_TIME]
    )


class ReviewCandidate(BaseModel):
    """A vendor the descriptor may belong to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    vendor_id: str = Field(description="A possible vendor.", examples=["checkers"])
    confidence: StrictInt = Field(ge=0, le=100, description="Confidence 0..100.", examples=[72])


class MatchReviewRequested(OwnMessage):
    """loyalty.match.review-requested.v1: a person should decide which vendor this is."""

    review_id: str = Field(
        description="Unique per review.", examples=["review:card:CT20261120000123:posted"]
    )
    customer_no: CustomerNo
    source: str = Field(description="card, account or debit_order.", examples=["card"])
    transaction_id: str = Field(description="The bank transaction.", examples=["CT20261120000123"])
    descriptor: str = Field(
        description="The descriptor to judge.", examples=["CHKRS HYPER MENLYN PTA ZA"]
    )
    candidates: list[ReviewCandidate] = Field(
        description="Best guesses, most likely first.",
        examples=[[{"vendor_id": "checkers", "confidence": 72}]],
    )


class MatchReviewDecided(OwnMessage):
    """loyalty.match.review-decided.v1: the reviewer's decision."""

    review_id: str = Field(
        description="The review.", examples=["review:card:CT20261120000123:posted"]
    )
    customer_no: CustomerNo
    decision: Literal["confirm", "reject"] = Field(
        description="confirm: vendor_id is right; reject: none of the candidates.",
        examples=["confirm"],
    )
    vendor_id: str | None = Field(description="The vendor confirmed.", examples=["checkers"])
    actor: str = Field(description="Who decided.", examples=["ops.jdb"])
    decided_at: AwareDatetime = Field(
        description="When the reviewer decided.", examples=[EXAMPLE_TIME]
    )
