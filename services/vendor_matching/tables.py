"""The vendor_matching schema: the vendor master, match results and the review queue."""

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
)

AUDITED = ("vendors", "vendor_merchant_ids", "vendor_user_codes", "vendor_aliases", "review_queue")
APPEND_ONLY = ("match_results",)
