"""The vendor-gateway interface, exactly as given (esb-topics.md, "Vendor gateways")."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import AwareDatetime, Field, StrictInt, model_validator

from contracts.common import BankMessage, CustomerNo, OwnMessage

Action = Literal["redeem", "authorize", "capture", "void", "cancel"]
ACTIONS_NEEDING_POINTS = frozenset({"redeem", "authorize"})


class RedemptionRequested(BankMessage):
    """loyalty.redemption.requested.v1: a vendor gateway asks to spend a customer's points.

    Vendor gateways are not ours: unknown fields are ignored, like the bank's. A repeated
    `message_id` gets the original decision again, not a second redemption."""

    request_id: str = Field(
        min_length=1,
        max_length=40,
        description="The vendor's reference for this redemption; unique per vendor.",
        examples=["POS-0001-20261120-0042"],
    )
    action: Action = Field(
        description="redeem debits at once; authorize holds; capture settles a hold (possibly "
        "for fewer points); void releases it; cancel undoes an approved redemption.",
        examples=["redeem"],
    )
    vendor_id: str = Field(min_length=1, description="The vendor.", examples=["woolworths"])
    customer_no: CustomerNo
    points: StrictInt | None = Field(
        default=None,
        gt=0,
        description="Required for redeem and authorize; optional for capture.",
        examples=[500],
    )
    reward: Literal["voucher", "in_store", "cash_back"] = Field(
        description="cash_back pays money into the customer's account through the bank's "
        "batch file.",
        examples=["voucher"],
    )
    requested_at: AwareDatetime = Field(
        description="When the vendor asked.", examples=["2026-11-20T12:30:05+02:00"]
    )

    @model_validator(mode="after")
    def _points_when_required(self) -> Self:
        if self.action in ACTIONS_NEEDING_POINTS and self.points is None:
            raise ValueError(f"points are required for {self.action}")
        return self


class RedemptionDecided(OwnMessage):
    """loyalty.redemption.decided.v1: one decision for every request, keyed by customer_no."""

    request_id: str = Field(
        max_length=40, description="Echoed from the request.", examples=["POS-0001-20261120-0042"]
    )
    vendor_id: str = Field(description="Echoed from the request.", examples=["woolworths"])
    customer_no: CustomerNo
    action: Action = Field(description="Echoed from the request.", examples=["redeem"])
    outcome: Literal["approved", "declined"] = Field(
        description="The decision.", examples=["approved"]
    )
    points: StrictInt = Field(
        ge=0,
        description="Points actually debited, held, captured, released or returned.",
        examples=[500],
    )
    balance_after: StrictInt = Field(
        description="The customer's spendable points after this decision.", examples=[1250]
    )
    reason_code: str | None = Field(
        description="For declines, e.g. insufficient_points, unknown_customer, not_a_member, "
        "vendor_not_accepted, invalid_request, hold_not_found.",
        examples=[None, "insufficient_points"],
    )
    reason_text: str | None = Field(
        description="The reason in the customer's own language, ready to show.",
        examples=[None, "Onvoldoende punte"],
    )
    language: str = Field(description="The language reason_text is in.", examples=["af"])
    decided_at: AwareDatetime = Field(
        description="When the decision was made.", examples=["2026-11-20T12:30:05+02:00"]
    )
