"""Our own topics between the services."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.common import AmountCents, Currency, CustomerNo, OwnMessage, StrictBool

PointsCurrency = Literal["points", "tier_points"]


class TransactionEnriched(OwnMessage):
    """loyalty.transaction.enriched.v1: every bank transaction with its vendor (or none)."""

    source: Literal["card", "account", "debit_order"] = Field(description="Which ESB topic.")
    source_message_id: str = Field(description="message_id of the bank's message.")
    transaction_id: str = Field(max_length=40, description="The bank's transaction id.")
    status: Literal["authorized", "posted", "reversed", "unpaid"] = Field(
        description="unpaid: a debit order the bank could not collect (earns nothing)."
    )
    kind: Literal["purchase", "refund", "payment", "reversal"] = Field(description="Kind.")
    original_transaction_id: str | None = Field(description="For refunds and reversals.")
    customer_no: CustomerNo
    account_no: str | None = Field(description="Account, for account and debit-order sources.")
    amount_cents: AmountCents
    currency: Currency
    transaction_at: AwareDatetime = Field(description="When the customer transacted.")
    descriptor: str = Field(description="Statement descriptor.")
    mcc: str | None = Field(description="Merchant category code (cards).")
    channel: str | None = Field(description="card, debit_order, or the account channel.")
    direction: Literal["debit", "credit"] = Field(description="debit: money left the account.")
    vendor_id: str | None = Field(description="The recognised vendor, if any.")
    vendor_name: str | None = Field(description="Its display name.")
    vendor_category: str | None = Field(description="Its category.")
    partner: StrictBool = Field(description="Whether the vendor is a programme partner.")
    match_method: Literal[
        "merchant_id", "user_code", "alias", "name", "fuzzy", "review", "none"
    ] = Field(description="How the vendor was recognised.")
    match_confidence: int = Field(ge=0, le=100, description="Confidence 0..100.")


class PointsPosted(OwnMessage):
    """loyalty.points.posted.v1: a points lot credit, reversal or adjustment from accrual."""

    posting_id: str = Field(description="Unique per posting; the wallet applies it once.")
    customer_no: CustomerNo
    currency: PointsCurrency = Field(description="Which points currency.")
    points: int = Field(strict=True, description="Signed: credits positive, reversals negative.")
    kind: Literal["earn", "reversal", "adjustment", "confirmation"] = Field(description="Why.")
    source_transaction_id: str | None = Field(description="The bank transaction, if any.")
    reverses_posting_id: str | None = Field(description="The posting a reversal takes back.")
    expires_at: date | None = Field(description="Expiry of the lot a credit creates.")
    rule_id: str | None = Field(description="The posting rule applied.")
    rule_version: int | None = Field(description="Its version.")
    earned_at: AwareDatetime = Field(description="When the activity happened.")
    actor: str | None = Field(description="For adjustments: who.")
    reason: str | None = Field(description="For adjustments: why.")


class PendingPointsChanged(OwnMessage):
    """loyalty.points.pending.v1: potential points created, confirmed or cancelled."""

    customer_no: CustomerNo
    transaction_id: str = Field(description="The card transaction.")
    state: Literal["created", "confirmed", "cancelled"] = Field(description="State.")
    points: int = Field(ge=0, description="Points pending.")
    currency: PointsCurrency = Field(description="Currency.")
    changed_at: AwareDatetime = Field(description="When.")


class AdjustmentRequested(OwnMessage):
    """loyalty.points.adjustment-requested.v1: an operator's manual adjustment."""

    adjustment_id: str = Field(description="Unique per adjustment.")
    customer_no: CustomerNo
    currency: PointsCurrency = Field(description="Currency.")
    points: int = Field(strict=True, description="Signed, non-zero.")
    actor: str = Field(min_length=1, description="Who asked.")
    reason_code: str = Field(min_length=1, description="Reason code.")
    reason_text: str = Field(description="Free text.")
    requested_at: AwareDatetime = Field(description="When.")


class BalanceChanged(OwnMessage):
    """loyalty.wallet.balance-changed.v1: a customer's wallet balance moved."""

    customer_no: CustomerNo
    currency: PointsCurrency = Field(description="Currency.")
    change: int = Field(description="Signed change of the balance.")
    balance: int = Field(description="Balance after.")
    held: int = Field(ge=0, description="Points held after.")
    cause: Literal[
        "earn", "reversal", "redemption", "hold", "capture", "void", "lapse", "cancel",
        "expiry", "adjustment",
    ] = Field(description="What moved it.")  # fmt: skip
    reference: str = Field(description="Posting id, request id or run id.")
    occurred_at: AwareDatetime = Field(description="When.")


class CashbackPayoutRequested(OwnMessage):
    """loyalty.cashback.payout-requested.v1: money to pay into a customer's account."""

    payout_id: str = Field(description="Unique per payout.")
    customer_no: CustomerNo
    account_no: str = Field(max_length=13, pattern=r"^\d+$", description="Account to credit.")
    amount_cents: AmountCents
    currency: Currency
    points: int = Field(gt=0, description="Points redeemed for it.")
    reference: str = Field(max_length=20, description="Echoed by the bank on queries.")
    narrative: str = Field(max_length=30, description="Statement narrative, customer's language.")
    language: str = Field(description="Language of the narrative.")
    requested_at: AwareDatetime = Field(description="When.")


class ProfileChanged(OwnMessage):
    """loyalty.customer.profile-changed.v1: who the customer is, for the other services."""

    customer_no: CustomerNo
    status: Literal["active", "closed"] = Field(description="Status.")
    loyalty_member: StrictBool = Field(description="Member of the programme.")
    first_name: str = Field(description="First name.")
    last_name: str = Field(description="Last name.")
    preferred_language: str = Field(description="ISO 639-1.")
    segment: str = Field(description="Bank segment.")
    tier: str = Field(description="Programme tier.", examples=["blue"])
    cashback_account_no: str | None = Field(description="The first cheque account.")
    profile_version: int = Field(ge=1, description="Increases with every change.")
    changed_at: AwareDatetime = Field(description="When.")


class VendorChanged(OwnMessage):
    """loyalty.vendor.changed.v1: the vendor master changed (keyed by vendor_id)."""

    vendor_id: str = Field(description="Vendor.")
    name: str = Field(description="Display name.")
    category: str = Field(description="Category.")
    partner: StrictBool = Field(description="Programme partner.")
    accepts_redemptions: StrictBool = Field(description="Accepts redemptions.")
    active: StrictBool = Field(description="Active.")
    changed_at: AwareDatetime = Field(description="When.")


class ReviewCandidate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    vendor_id: str = Field(description="A possible vendor.")
    confidence: int = Field(ge=0, le=100, description="Confidence 0..100.")


class MatchReviewRequested(OwnMessage):
    """loyalty.match.review-requested.v1: a person should decide which vendor this is."""

    review_id: str = Field(description="Unique per review.")
    customer_no: CustomerNo
    source: str = Field(description="card, account or debit_order.")
    transaction_id: str = Field(description="The bank transaction.")
    descriptor: str = Field(description="The descriptor to judge.")
    candidates: list[ReviewCandidate] = Field(description="Best guesses.")


class MatchReviewDecided(OwnMessage):
    """loyalty.match.review-decided.v1: the reviewer's decision."""

    review_id: str = Field(description="The review.")
    customer_no: CustomerNo
    decision: Literal["confirm", "reject"] = Field(description="Decision.")
    vendor_id: str | None = Field(description="The vendor confirmed.")
    actor: str = Field(description="Who decided.")
    decided_at: AwareDatetime = Field(description="When.")
