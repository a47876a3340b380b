"""Vendors for tests, with only the fields a case cares about."""

from services.vendor_matching.domain import Vendor


def vendor(vendor_id, name, *, category="retail", mids=(), codes=(), aliases=()):
    return Vendor(
        vendor_id=vendor_id,
        name=name,
        category=category,
        partner=False,
        accepts_redemptions=True,
        merchant_ids=tuple(mids),
        user_codes=tuple(codes),
        aliases=tuple(aliases),
    )
