"""Base classes of every message and the field types they share.

Every field documents itself (`description`, `examples`): the JSON Schemas and AsyncAPI
documents in this package are generated from these models. Money is integer cents and
points are integers, never floats; integers and booleans are strict, so `"100"`, `12.5`,
`12.0`, `1` for `true` are schema violations (dead-lettered), not silently coerced.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

MessageId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        description="Unique per message; a redelivery carries the same id.",
        examples=["c0a8012e-7f3b-4a5e-9d61-2b1f0e8a9c44"],
    ),
]
SentAt = Annotated[
    AwareDatetime,
    Field(
        description="When the producer sent the message (RFC 3339 with offset).",
        examples=["2026-11-20T08:15:30+02:00"],
    ),
]
CustomerNo = Annotated[
    str,
    Field(
        min_length=1,
        max_length=12,
        description="The bank customer number (CIF); also the Kafka record key.",
        examples=["100234567890"],
    ),
]
AmountCents = Annotated[
    int,
    Field(
        strict=True,
        gt=0,
        description="Amount in the currency's minor unit (cents); never a float.",
        examples=[25050],
    ),
]
Currency = Annotated[
    str,
    Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code.", examples=["ZAR"]),
]


class BankMessage(BaseModel):
    """A message whose shape the bank (or a vendor gateway) gives us: unknown fields ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    message_id: MessageId
    sent_at: SentAt


class OwnMessage(BaseModel):
    """A message of our own topics: unknown fields are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: MessageId
    sent_at: SentAt
