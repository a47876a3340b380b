"""The console's pure rules: who may adjust how much, and what state a redemption is in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

REASON_CODES = ("goodwill", "correction", "missed_earning", "complaint", "fraud_recovery")
CURRENCIES = ("points", "tier_points")
MAX_ADJUSTMENT = 10_000_000  # a typo guard: nobody adjusts by ten million points
# A redemption's state after each approved action (the wallet's decisions, in order).
STATE_AFTER = {
    "redeem": "redeemed",
    "authorize": "held",
    "capture": "captured",
    "void": "voided",
    "cancel": "cancelled",
}
CANCELLABLE = frozenset({"redeemed", "captured"})


class AdjustmentFormError(ValueError):
    """A field of the adjustment form is missing or wrong; the message says which."""


@dataclass(frozen=True, slots=True)
class Adjustment:
    customer_no: str
    currency: str
    points: int
    reason_code: str
    reason_text: str


def read_adjustment(customer_no: str, form: Mapping[str, Any]) -> Adjustment:
    """The adjustment a form asks for, or AdjustmentFormError."""
    raw = str(form.get("points", "")).strip()
    try:
        points = int(raw)
    except ValueError:
        raise AdjustmentFormError(f"points must be a whole number, not {raw!r}") from None
    if points == 0:
        raise AdjustmentFormError("points must not be zero")
    if abs(points) > MAX_ADJUSTMENT:
        raise AdjustmentFormError(f"points must be at most {MAX_ADJUSTMENT} either way")
    currency = str(form.get("currency", "points"))
    if currency not in CURRENCIES:
        raise AdjustmentFormError(f"currency must be one of {', '.join(CURRENCIES)}")
    reason_code = str(form.get("reason_code", ""))
    if reason_code not in REASON_CODES:
        raise AdjustmentFormError(f"reason code must be one of {', '.join(REASON_CODES)}")
    reason_text = " ".join(str(form.get("reason_text", "")).split())
    if not reason_text:
        raise AdjustmentFormError("say why in the free text")
    if len(reason_text) > 200:
        raise AdjustmentFormError("the free text must be at most 200 characters")
    return Adjustment(customer_no, currency, points, reason_code, reason_text)


def needs_approval(points: int, role: str, limit: int) -> bool:
    """An agent's adjustment above the limit (either sign) waits for a supervisor."""
    return role != "supervisor" and abs(points) > limit


@dataclass(frozen=True, slots=True)
class Redemption:
    vendor_id: str
    request_id: str
    state: str
    points: int
    first_at: datetime
    last_at: datetime
    reason: str | None

    @property
    def cancellable(self) -> bool:
        return self.state in CANCELLABLE


def redemptions(decisions: Iterable[Mapping[str, Any]]) -> list[Redemption]:
    """Fold the wallet's decisions (oldest first) into one state per request, newest first.

    A decline leaves an approved redemption as it was (a refused cancel does not undo the
    redemption); a request never approved is `declined`, with the reason."""
    found: dict[tuple[str, str], Redemption] = {}
    for d in decisions:
        key = (str(d["vendor_id"]), str(d["request_id"]))
        before = found.get(key)
        approved = d["outcome"] == "approved"
        if before is None:
            state = STATE_AFTER[d["action"]] if approved else "declined"
            points = int(d["points"]) if approved else 0
            found[key] = Redemption(*key, state, points, d["at"], d["at"], d.get("reason"))
            continue
        if not approved:
            found[key] = Redemption(
                *key,
                before.state,
                before.points,
                before.first_at,
                d["at"],
                d.get("reason") if before.state == "declined" else before.reason,
            )
            continue
        points = before.points or int(d["points"])
        if d["action"] == "capture":
            points = int(d["points"])  # a capture may settle for fewer points than were held
        found[key] = Redemption(
            *key, STATE_AFTER[d["action"]], points, before.first_at, d["at"], None
        )
    return sorted(found.values(), key=lambda r: r.last_at, reverse=True)
