"""The vendor_matching schema: the vendor master, match results, the review queue and
what reviewers taught the matcher."""

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.db.reliability import service_metadata

SCHEMA = "vendor_matching"
metadata = service_metadata(SCHEMA)

vendors = Table(
    "vendors",
    metadata,
    Column("vendor_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("partner", Boolean, nullable=False),
    Column("accepts_redemptions", Boolean, nullable=False),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
merchant_ids = Table(
    "vendor_merchant_ids",
    metadata,
    Column("merchant_id", Text, primary_key=True),
    Column("vendor_id", Text, ForeignKey("vendors.vendor_id"), nullable=False, index=True),
)
user_codes = Table(
    "vendor_user_codes",
    metadata,
    Column("user_code", Text, primary_key=True),
    Column("vendor_id", Text, ForeignKey("vendors.vendor_id"), nullable=False, index=True),
)
aliases = Table(
    "vendor_aliases",
    metadata,
    Column("alias", Text, primary_key=True),
    Column("vendor_id", Text, ForeignKey("vendors.vendor_id"), nullable=False, index=True),
)
match_results = Table(
    "match_results",
    metadata,
    Column("source", Text, primary_key=True),
    Column("transaction_id", Text, primary_key=True),
    Column("status", Text, primary_key=True),
    Column("customer_no", Text, nullable=False),
    Column("descriptor", Text, nullable=False),
    Column("vendor_id", Text),
    Column("method", Text, nullable=False),
    Column("confidence", Integer, nullable=False),
    Column("matched_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
review_queue = Table(
    "review_queue",
    metadata,
    Column("review_id", Text, primary_key=True),
    Column("source", Text, nullable=False),
    Column("transaction_id", Text, nullable=False),
    Column("descriptor", Text, nullable=False),
    Column("candidates", JSONB, nullable=False),
    Column("state", Text, nullable=False, server_default="open"),
    Column("decided_vendor_id", Text),
    Column("decided_by", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The descriptor as the matcher read it: what a decision teaches it (0002).
    Column("descriptor_norm", Text),
    Column("decided_at", DateTime(timezone=True)),
)
# A confirmed descriptor is matched exactly to its vendor from then on. Kept apart
# from vendor_aliases, which `loyalty vendors import` rewrites from the file.
learned_aliases = Table(
    "vendor_learned_aliases",
    metadata,
    Column("descriptor_norm", Text, primary_key=True),
    Column("vendor_id", Text, ForeignKey("vendors.vendor_id"), nullable=False, index=True),
    Column("review_id", Text, nullable=False),
    Column("decided_by", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
# A rejected vendor is never proposed again for that descriptor.
rejections = Table(
    "vendor_rejections",
    metadata,
    Column("descriptor_norm", Text, primary_key=True),
    Column("vendor_id", Text, ForeignKey("vendors.vendor_id"), primary_key=True),
    Column("review_id", Text, nullable=False),
    Column("decided_by", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

AUDITED = (
    "vendors",
    "vendor_merchant_ids",
    "vendor_user_codes",
    "vendor_aliases",
    "review_queue",
    "vendor_learned_aliases",
    "vendor_rejections",
)
APPEND_ONLY = ("match_results",)
