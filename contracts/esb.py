"""The bank's ESB topics, exactly as given in the bank's interface (esb-topics.md)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.common import (
    AmountCents,
    BankMessage,
    Currency,
    CustomerNo,
    OwnMessage,
    StrictBool,
)

TransactionId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        description="Stable for one transaction across its status changes.",
        examples=["CT20261120000123"],
    ),
]
Descriptor = Annotated[
    str,
    Field(
        max_length=40,
        description="Raw statement descriptor.",
        examples=["WOOLWORTHS SANDTON CITY JHB ZA"],
    ),
]


class CardTransaction(BankMessage):
    """esb.card.transaction.v1: a card authorization, posting or reversal."""

    transaction_id: TransactionId
    status: Literal["authorized", "posted", "reversed"] = Field(
        description="An authorization may later be posted or reversed; a posted transaction "
        "may arrive without an earlier authorization.",
        examples=["posted"],
    )
    kind: Literal["purchase", "refund"] = Field(description="Purchase or refund.")
    original_transaction_id: str | None = Field(
        description="For refunds: the purchase refunded (possibly partially).", examples=[None]
    )
    customer_no: CustomerNo
    card_ref: str = Field(description="Masked PAN.", examples=["458712******1234"])
    merchant_id: str | None = Field(
        description="Acquirer merchant id; absent for many transactions.",
        examples=["368621675767412"],
    )
    mcc: str | None = Field(description="4-digit merchant category code.", examples=["5411"])
    descriptor: Descriptor
    amount_cents: AmountCents
    currency: Currency
    transaction_at: AwareDatetime = Field(description="When the customer transacted.")
    posted_at: AwareDatetime | None = Field(description="Set when status is posted.")


class AccountTransaction(BankMessage):
    """esb.account.transaction.v1: a statement line of a cheque or savings account."""

    transaction_id: TransactionId
    customer_no: CustomerNo
    account_no: str = Field(
        max_length=13, pattern=r"^\d+$", description="Account number (digits).",
        examples=["4071234567"],
    )  # fmt: skip
    channel: Literal["eft", "debit_order", "transfer", "fee", "atm", "other"] = Field(
        description="How the money moved.", examples=["debit_order"]
    )
    direction: Literal["debit", "credit"] = Field(
        description="A debit is money leaving the customer's account.", examples=["debit"]
    )
    kind: Literal["payment", "reversal"] = Field(description="Payment or its reversal.")
    original_transaction_id: str | None = Field(description="For reversals.", examples=[None])
    descriptor: Descriptor
    amount_cents: AmountCents
    currency: Currency
    transaction_at: AwareDatetime = Field(description="When the transaction happened.")


class CustomerAccount(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    account_no: str = Field(description="Account number.", examples=["4071234567"])
    type: Literal["cheque", "savings", "credit_card"] = Field(
        description="The first cheque account receives cash-back.", examples=["cheque"]
    )


class CustomerUpdated(BankMessage):
    """esb.customer.updated.v1: the customer information file's changes."""

    customer_no: CustomerNo
    change: Literal["created", "updated", "closed"] = Field(description="What happened.")
    first_name: str = Field(description="First name.", examples=["Annelie"])
    last_name: str = Field(description="Last name.", examples=["van der Merwe"])
    preferred_language: str = Field(
        min_length=2, max_length=2, description="ISO 639-1; en and af at launch.",
        examples=["af"],
    )  # fmt: skip
    segment: Literal["retail", "premier", "private", "business"] = Field(
        description="The bank's customer segment.", examples=["retail"]
    )
    loyalty_member: StrictBool = Field(description="Whether the customer joined the programme.")
    accounts: list[CustomerAccount] = Field(description="The customer's accounts.")
    changed_at: AwareDatetime = Field(description="When the change happened.")


class DebitOrderExecuted(OwnMessage):
    """esb.debit-order.executed.v1: one record of the bank's DOEXEC file, as published by
    our debit_orders batch gateway."""

    file_id: str = Field(
        max_length=16, description="DOEXEC header file id.", examples=["DOEXEC20261120"]
    )
    run_date: date = Field(description="Header run date of the file.")
    sequence_no: int = Field(ge=0, description="Unique within the file.", examples=[42])
    transaction_id: TransactionId
    customer_no: CustomerNo
    account_no: str = Field(max_length=13, pattern=r"^\d+$", description="Account debited.")
    user_code: str = Field(max_length=4, description="Originator's user code.", examples=["VACT"])
    user_short_name: str = Field(
        max_length=10, description="Originator's name as printed.", examples=["VIRGIN ACT"]
    )
    user_reference: str = Field(max_length=20, description="Originator's contract reference.")
    action_date: date = Field(description="Date the debit order was run.")
    amount_cents: AmountCents
    currency: Currency
    status: Literal["00", "02", "04", "30", "RV"] = Field(
        description="00 paid; 02 not provided for; 04 payment stopped; 30 no authority; "
        "RV disputed and reversed.",
        examples=["00"],
    )
    entry_class: int = Field(ge=0, le=99, description="Bank's entry class (informational).")
    original_sequence_no: int | None = Field(description="For RV: the original's sequence no.")
    original_run_date: date | None = Field(description="For RV: the original file's run date.")
