"""The bank's ESB topics, exactly as given in the bank's interface (esb-topics.md).

`DebitOrderExecuted` is the exception: the bank sends debit orders as DOEXEC files, and our
debit_orders batch gateway publishes each record on an ESB-style topic, so its shape is ours.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    model_validator,
)

from contracts.common import AmountCents, BankMessage, Currency, CustomerNo, OwnMessage

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
AccountNo = Annotated[
    str,
    Field(
        max_length=13,
        pattern=r"^\d+$",
        description="Bank account number (digits).",
        examples=["4071234567"],
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
    kind: Literal["purchase", "refund"] = Field(
        description="Purchase or refund.", examples=["purchase"]
    )
    original_transaction_id: str | None = Field(
        description="For refunds: the purchase refunded (possibly partially).",
        examples=[None, "CT20261118000077"],
    )
    customer_no: CustomerNo
    card_ref: str = Field(description="Masked PAN.", examples=["458712******1234"])
    merchant_id: str | None = Field(
        description="Acquirer merchant id; absent (null) for many transactions.",
        examples=["368621675767412", None],
    )
    mcc: str | None = Field(description="4-digit merchant category code.", examples=["5411"])
    descriptor: Descriptor
    amount_cents: AmountCents
    currency: Currency
    transaction_at: AwareDatetime = Field(
        description="When the customer transacted.", examples=["2026-11-20T08:14:02+02:00"]
    )
    posted_at: AwareDatetime | None = Field(
        description="Set when status is posted.", examples=["2026-11-21T02:00:00+02:00", None]
    )


class AccountTransaction(BankMessage):
    """esb.account.transaction.v1: a statement line of a cheque or savings account."""

    transaction_id: TransactionId
    customer_no: CustomerNo
    account_no: AccountNo
    channel: Literal["eft", "debit_order", "transfer", "fee", "atm", "other"] = Field(
        description="How the money moved.", examples=["debit_order"]
    )
    direction: Literal["debit", "credit"] = Field(
        description="A debit is money leaving the customer's account.", examples=["debit"]
    )
    kind: Literal["payment", "reversal"] = Field(
        description="Payment or its reversal.", examples=["payment"]
    )
    original_transaction_id: str | None = Field(
        description="For reversals: the payment reversed.", examples=[None, "AT20261101004711"]
    )
    descriptor: Descriptor = Field(examples=["DEBIT ORDER VIRGIN ACT 000123/04"])
    amount_cents: AmountCents
    currency: Currency
    transaction_at: AwareDatetime = Field(
        description="When the transaction happened.", examples=["2026-11-20T06:00:00+02:00"]
    )


class CustomerAccount(BaseModel):
    """One of a customer's accounts, as listed by the customer information file."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    account_no: str = Field(description="Account number.", examples=["4071234567"])
    type: Literal["cheque", "savings", "credit_card"] = Field(
        description="The first cheque account receives cash-back.", examples=["cheque"]
    )


class CustomerUpdated(BankMessage):
    """esb.customer.updated.v1: the customer information file's changes."""

    customer_no: CustomerNo
    change: Literal["created", "updated", "closed"] = Field(
        description="What happened to the customer record.", examples=["updated"]
    )
    first_name: str = Field(description="First name.", examples=["Annelie"])
    last_name: str = Field(description="Last name.", examples=["van der Merwe"])
    preferred_language: str = Field(
        min_length=2,
        max_length=2,
        description="ISO 639-1; en and af at launch, any other may follow.",
        examples=["af"],
    )
    segment: Literal["retail", "premier", "private", "business"] = Field(
        description="The bank's customer segment.", examples=["retail"]
    )
    loyalty_member: StrictBool = Field(
        description="Whether the customer has joined the rewards programme.", examples=[True]
    )
    accounts: list[CustomerAccount] = Field(
        description="The customer's accounts; the first cheque account receives cash-back.",
        examples=[[{"account_no": "4071234567", "type": "cheque"}]],
    )
    changed_at: AwareDatetime = Field(
        description="When the change happened.", examples=["2026-11-19T16:40:00+02:00"]
    )


DebitOrderStatus = Literal["00", "02", "04", "30", "RV"]


class DebitOrderExecuted(OwnMessage):
    """esb.debit-order.executed.v1: one detail record of the bank's DOEXEC file, as published
    by our debit_orders batch gateway. Only `00` earns; `RV` reverses an earlier `00`."""

    message_id: str = Field(
        min_length=1,
        max_length=100,
        description="Deterministic: DOEXEC:{file_id}:{sequence_no}, so re-reading a file "
        "publishes the same ids.",
        examples=["DOEXEC:DOEXEC20261120:42"],
    )
    file_id: str = Field(
        max_length=16, description="DOEXEC header file id.", examples=["DOEXEC20261120"]
    )
    run_date: date = Field(description="Header run date of the file.", examples=["2026-11-20"])
    sequence_no: StrictInt = Field(ge=0, description="Unique within the file.", examples=[42])
    transaction_id: TransactionId = Field(
        description="DO-{run_date:%Y%m%d}-{sequence_no}: an RV names its original this way.",
        examples=["DO-20261120-42"],
    )
    customer_no: CustomerNo
    account_no: str = Field(
        max_length=13, pattern=r"^\d+$", description="Account debited.", examples=["4071234567"]
    )
    user_code: str = Field(
        max_length=4,
        description="Originator's debit-order user code, stable per originator (vendor).",
        examples=["VACT"],
    )
    user_short_name: str = Field(
        max_length=10,
        description="Originator's abbreviated name as printed on statements.",
        examples=["VIRGIN ACT"],
    )
    user_reference: str = Field(
        max_length=20, description="Originator's contract reference.", examples=["000123/04"]
    )
    action_date: date = Field(description="Date the debit order was run.", examples=["2026-11-20"])
    amount_cents: AmountCents
    currency: Currency
    status: DebitOrderStatus = Field(
        description="00 paid; 02 not provided for; 04 payment stopped; 30 no authority; "
        "RV disputed and reversed.",
        examples=["00"],
    )
    entry_class: StrictInt = Field(
        ge=0, le=99, description="Bank's entry class (informational).", examples=[44]
    )
    original_sequence_no: StrictInt | None = Field(
        description="For RV only: sequence no. of the original paid record.",
        examples=[None, 17],
    )
    original_run_date: date | None = Field(
        description="For RV only: run date of the file that held the original.",
        examples=[None, "2026-10-20"],
    )

    @model_validator(mode="after")
    def _reversal_names_its_original(self) -> Self:
        if self.status == "RV" and (
            self.original_sequence_no is None or self.original_run_date is None
        ):
            raise ValueError("an RV record must name its original sequence no. and run date")
        return self
