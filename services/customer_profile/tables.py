"""The customer_profile schema: customers, balances, activity history, texts and tiers."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.db.reliability import service_metadata

SCHEMA = "customer_profile"
metadata = service_metadata(SCHEMA)

customers = Table(
    "customers",
    metadata,
    Column("customer_no", Text, primary_key=True),
    Column("first_name", Text, nullable=False),
    Column("last_name", Text, nullable=False),
    Column("preferred_language", Text, nullable=False),
    Column("segment", Text, nullable=False),
    Column("loyalty_member", Boolean, nullable=False),
    Column("status", Text, nullable=False),
    Column("tier", Text, nullable=False, server_default="blue"),
    Column("accounts", JSONB, nullable=False),
    Column("cashback_account_no", Text),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("profile_version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("tier_changed_at", DateTime(timezone=True)),
    # Since when the tier points fall short of the tier: the grace period's start.
    Column("tier_below_since", DateTime(timezone=True)),
)
balances = Table(
    "balances",
    metadata,
    Column("customer_no", Text, primary_key=True),
    Column("currency", Text, primary_key=True),
    Column("balance", BigInteger, nullable=False),
    Column("held", BigInteger, nullable=False),
    Column("as_of", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # [{"expires_at": "YYYY-MM-DD", "points": n}, ...] as the wallet last stated (0005).
    Column("next_expiries", JSONB),
    # [{"lot_id", "starting", "current", "expires_at", "source"}, ...]: the first 20 open lots
    # as the wallet last stated them, and how many it has in all (0005).
    Column("open_lots", JSONB),
    Column("open_lots_total", Integer),
)
activity = Table(
    "activity",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    # One row per source message at most: a replayed message cannot add a second row.
    Column("source_message_id", Text, nullable=False, unique=True),
    Column("customer_no", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("kind", Text, nullable=False),
    Column("points", BigInteger),
    Column("currency", Text),
    Column("reference", Text),
    Column("description_key", Text, nullable=False),
    Column("details", JSONB, nullable=False, server_default="{}"),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
Index("ix_activity_customer_recent", activity.c.customer_no, activity.c.occurred_at, activity.c.id)
translations = Table(
    "translations",
    metadata,
    Column("text_key", Text, primary_key=True),
    Column("language", Text, primary_key=True),
    Column("text", Text, nullable=False),
)
vendors = Table(
    "vendors",
    metadata,
    Column("vendor_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

tiers = Table(
    "tiers",
    metadata,
    Column("tier", Text, primary_key=True),
    Column("rank", Integer, nullable=False, unique=True),
    Column("threshold", BigInteger, nullable=False),  # tier points in the window to reach it
    CheckConstraint("threshold >= 0", name="threshold_not_negative"),
)
tier_policy = Table(
    "tier_policy",
    metadata,
    Column("programme", Text, primary_key=True),
    Column("window_months", Integer, nullable=False),
    Column("grace_days", Integer, nullable=False),
    CheckConstraint("window_months BETWEEN 1 AND 60", name="window_months_range"),
    CheckConstraint("grace_days >= 0", name="grace_days_not_negative"),
)
tier_points = Table(
    "tier_points",
    metadata,
    # One row per posting: a replayed posting cannot count twice.
    Column("posting_id", Text, primary_key=True),
    Column("customer_no", Text, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("earned_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
Index("ix_tier_points_customer_earned", tier_points.c.customer_no, tier_points.c.earned_at)
tier_changes = Table(
    "tier_changes",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("customer_no", Text, nullable=False),
    Column("profile_version", Integer, nullable=False),
    Column("from_tier", Text, nullable=False),
    Column("to_tier", Text, nullable=False),
    Column("direction", Text, nullable=False),
    Column("qualifying_points", BigInteger, nullable=False),
    Column("as_of", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("customer_no", "profile_version"),
    CheckConstraint("direction IN ('up', 'down')", name="direction_known"),
)
tier_reviews = Table(
    "tier_reviews",
    metadata,
    Column("as_of", DateTime(timezone=True), primary_key=True),
    Column("reviewed", Integer, nullable=False),
    Column("upgraded", Integer, nullable=False),
    Column("downgraded", Integer, nullable=False),
    Column("at_risk", Integer, nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

AUDITED = ("customers", "balances", "translations", "vendors", "tiers", "tier_policy")
APPEND_ONLY = ("activity", "tier_points", "tier_changes", "tier_reviews")

# The miners' reporting tables live in this schema too (their modules define them here).
from services.customer_profile import miners as _miners  # noqa: E402, F401

# The console's tables (users, sessions, approvals, its audit log, the review queue) are
# defined in its package; importing them here puts them in this schema's metadata.
from services.customer_profile.console import tables as console_tables  # noqa: E402, F401
