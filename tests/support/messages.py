"""Bank and vendor-gateway messages as raw JSON dicts, the way the bank's systems send them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any


def now() -> str:
    return datetime.now(UTC).isoformat()


def new_id(prefix: str = "msg") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def customer_no() -> str:
    return f"C{uuid.uuid4().int % 10**11:011d}"


def customer_created(customer: str, *, language: str = "en", member: bool = True) -> dict[str, Any]:
    return {
        "message_id": new_id("cif"),
        "sent_at": now(),
        "customer_no": customer,
        "change": "created",
        "first_name": "Annelie" if language == "af" else "Thabo",
        "last_name": "van der Merwe" if language == "af" else "Nkosi",
        "preferred_language": language,
        "segment": "retail",
        "loyalty_member": member,
        "accounts": [{"account_no": "4071234567", "type": "cheque"}],
        "changed_at": now(),
    }


def card_posted(
    customer: str,
    amount_cents: int,
    *,
    merchant_id: str | None = None,
    transaction_id: str | None = None,
    descriptor: str = "WOOLWORTHS SANDTON CITY JHB ZA",
) -> dict[str, Any]:
    return {
        "message_id": new_id("card"),
        "sent_at": now(),
        "transaction_id": transaction_id or new_id("tx"),
        "status": "posted",
        "kind": "purchase",
        "original_transaction_id": None,
        "customer_no": customer,
        "card_ref": "458712******1234",
        "merchant_id": merchant_id,
        "mcc": "5411",
        "descriptor": descriptor,
        "amount_cents": amount_cents,
        "currency": "ZAR",
        "transaction_at": now(),
        "posted_at": now(),
    }


def redeem(
    customer: str, points: int, *, vendor_id: str, request_id: str | None = None
) -> dict[str, Any]:
    return {
        "message_id": new_id("gw"),
        "sent_at": now(),
        "request_id": request_id or new_id("req"),
        "action": "redeem",
        "vendor_id": vendor_id,
        "customer_no": customer,
        "points": points,
        "reward": "voucher",
        "requested_at": now(),
    }
