"""Loyalty contract messages as models, for tests that hand them to a handler directly."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.loyalty import VendorChanged
from tests.support.messages import new_id


def vendor_changed(
    vendor_id: str,
    *,
    name: str = "Test vendor",
    category: str = "groceries",
    accepts: bool = True,
    at: datetime | None = None,
) -> VendorChanged:
    """A vendor as the master data publishes it, changed `at` (now by default)."""
    changed_at = at or datetime.now(UTC)
    return VendorChanged(
        message_id=new_id("vendor"),
        sent_at=changed_at,
        vendor_id=vendor_id,
        name=name,
        category=category,
        partner=True,
        accepts_redemptions=accepts,
        active=True,
        changed_at=changed_at,
    )
