"""Programme fees: the debits (D) of the LYCRED file, charged by an operator.

Why an operator command writing the gateway's own table, and no message: a fee is money the
programme takes from a customer's account through the bank's file, and nothing else on the
platform acts on it (no points move, no other service keeps it), so a contract message would
have one producer and one consumer, both here. `loyalty debit-orders fee` records the fee in
`debit_orders.fees` in one transaction (audited: who recorded it, and every change); the next
LYCRED export claims it exactly like a payout. The fee id is the LYD-REFERENCE the bank echoes
back and the idempotency key: recording the same fee id again with the same details does
nothing, with other details is an error, so a re-run never charges twice.

The narrative is chosen when the fee is recorded, in the customer's preferred language as the
gateway last heard it from customer_profile (English when unknown or not translated).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.debit_orders.codec import FieldError, encode_alnum
from services.debit_orders.tables import SCHEMA

FALLBACK_LANGUAGE: Final = "en"
# Statement narratives (LYD-NARRATIVE, 30 characters of code page 037) by language.
FEE_NARRATIVES: Final = {
    "en": "Rewards programme fee",
    "af": "Belonings programfooi",
}
MAX_CENTS: Final = 10**13 - 1  # LYD-AMOUNT S9(11)V99
_ACCOUNT: Final = re.compile(r"\d{1,13}")
_CURRENCY: Final = re.compile(r"[A-Z]{3}")


class FeeError(ValueError):
    """The fee cannot be recorded as given (bad field, or the fee id is taken by another)."""


@dataclass(frozen=True, slots=True)
class Fee:
    fee_id: str
    customer_no: str
    account_no: str
    amount_cents: int
    currency: str
    reason: str
    charged_at: datetime


@dataclass(frozen=True, slots=True)
class Recorded:
    fee: Fee
    narrative: str
    language: str
    created: bool  # False: this very fee was recorded before; nothing changed


def new_fee_id() -> str:
    """LYFE and 16 hex digits: 20 characters, LYD-REFERENCE's width."""
    return f"LYFE{uuid.uuid4().hex[:16].upper()}"


def narrative(language: str | None) -> tuple[str, str]:
    """(narrative, language) for a customer's preferred language; English as the fallback."""
    wanted = (language or "").strip().lower().split("-")[0]
    if wanted in FEE_NARRATIVES:
        return FEE_NARRATIVES[wanted], wanted
    return FEE_NARRATIVES[FALLBACK_LANGUAGE], FALLBACK_LANGUAGE


def check(fee: Fee) -> None:
    """FeeError naming what does not fit the LYCRED detail record."""
    fields = (("fee id", fee.fee_id, 20), ("customer", fee.customer_no, 12))
    for label, value, width in fields:
        if not value.strip():
            raise FeeError(f"the {label} is empty")
        try:
            encode_alnum(value, width)
        except FieldError as exc:
            raise FeeError(f"{label}: {exc}") from exc
    if not _ACCOUNT.fullmatch(fee.account_no) or int(fee.account_no) == 0:
        raise FeeError(f"account {fee.account_no!r} is not 1 to 13 digits")
    if not 0 < fee.amount_cents <= MAX_CENTS:
        raise FeeError(f"amount {fee.amount_cents} cents is not between 1 and {MAX_CENTS}")
    if not _CURRENCY.fullmatch(fee.currency):
        raise FeeError(f"currency {fee.currency!r} is not an ISO 4217 code")
    if not fee.reason.strip():
        raise FeeError("a reason is required")
    if fee.charged_at.tzinfo is None:
        raise FeeError("the time charged needs a time zone")


async def record_fee(conn: AsyncConnection, fee: Fee) -> Recorded:
    """Record the fee for the next LYCRED file, once; see the module's docstring."""
    check(fee)
    language = await conn.scalar(
        text(f'SELECT preferred_language FROM "{SCHEMA}".customers WHERE customer_no = :c'),
        {"c": fee.customer_no},
    )
    said, used = narrative(language)
    inserted = await conn.scalar(
        text(
            f'INSERT INTO "{SCHEMA}".fees (fee_id, customer_no, account_no, amount_cents, '
            "currency, reason, narrative, language, charged_at) "
            "VALUES (:f, :c, :a, :amt, :cur, :r, :n, :l, :t) "
            "ON CONFLICT (fee_id) DO NOTHING RETURNING fee_id"
        ),
        {
            "f": fee.fee_id, "c": fee.customer_no, "a": fee.account_no,
            "amt": fee.amount_cents, "cur": fee.currency, "r": fee.reason, "n": said,
            "l": used, "t": fee.charged_at,
        },
    )  # fmt: skip
    if inserted is not None:
        return Recorded(fee, said, used, created=True)
    row = (
        await conn.execute(
            text(
                "SELECT customer_no, account_no, amount_cents, currency, narrative, language "
                f'FROM "{SCHEMA}".fees WHERE fee_id = :f'
            ),
            {"f": fee.fee_id},
        )
    ).one()
    if (row.customer_no, row.account_no, row.amount_cents, row.currency) != (
        fee.customer_no, fee.account_no, fee.amount_cents, fee.currency,
    ):  # fmt: skip
        raise FeeError(
            f"fee {fee.fee_id} was recorded before for customer {row.customer_no}, account "
            f"{row.account_no}, {row.amount_cents} {row.currency} cents: not charged again"
        )
    return Recorded(fee, row.narrative, row.language, created=False)
