"""The customer_profile schema: customers, last known balances, activity history, texts."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    Table,
    Text,
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

AUDITED = ("customers", "balances", "translations", "vendors")
APPEND_ONLY = ("activity",)
