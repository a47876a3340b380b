"""What this service tells the others about a customer: the whole profile, versioned."""

from __future__ import annotations

from datetime import datetime

from contracts.loyalty import ProfileChanged
from services.customer_profile.repository import CustomerRow

PROFILE_TOPIC = "loyalty.customer.profile-changed.v1"


def profile_message_id(customer_no: str, profile_version: int) -> str:
    """Deterministic, so that a re-applied batch publishes the same event, not a new one."""
    return f"profile:{customer_no}:{profile_version}"


def profile_changed(row: CustomerRow, now: datetime, changed_at: datetime) -> ProfileChanged:
    """The profile as it is after the change; consumers keep the highest profile_version."""
    return ProfileChanged(
        message_id=profile_message_id(row.customer_no, row.profile_version),
        sent_at=now,
        customer_no=row.customer_no,
        status="closed" if row.status == "closed" else "active",
        loyalty_member=row.loyalty_member,
        first_name=row.first_name,
        last_name=row.last_name,
        preferred_language=row.preferred_language,
        segment=row.segment,
        tier=row.tier,
        cashback_account_no=row.cashback_account_no,
        profile_version=row.profile_version,
        changed_at=changed_at,
    )
