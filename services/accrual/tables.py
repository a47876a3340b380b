"""The accrual schema: customer classes, earnings per source transaction, adjustments."""

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, Integer, Table, Text, func
from sqlalchemy.schema import UniqueConstraint

from shared.db.reliability import service_metadata

SCHEMA = "accrual"
metadata = service_metadata(SCHEMA)

customer_classes = Table(
    "customer_classes",
    metadata,
    Column("customer_no", Text, primary_key=True),
    Column("segment", Text, nullable=False),
    Column("tier", Text, nullable=False),
    Column("loyalty_member", Boolean, nullable=False),
    Column("status", Text, nullable=False),
    Column("profile_version", Integer, nullable=False),
)
earnings = Table(
    "earnings",
    metadata,
    Column("earning_id", BigInteger, primary_key=True, autoincrement=True),
    Column("posting_id", Text, nullable=False, unique=True),
    Column("source", Text, nullable=False),
    Column("source_transaction_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("customer_no", Text, nullable=False, index=True),
    Column("currency", Text, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("rule_id", Text, nullable=False),
    Column("rule_version", Integer, nullable=False),
    Column("reverses_posting_id", Text),
    Column("expires_at", Date),
    Column("transaction_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("source", "source_transaction_id", "status", "currency"),
)
adjustments = Table(
    "adjustments",
    metadata,
    Column("adjustment_id", Text, primary_key=True),
    Column("posting_id", Text, nullable=False, unique=True),
    Column("customer_no", Text, nullable=False, index=True),
    Column("currency", Text, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("actor", Text, nullable=False),
    Column("reason_code", Text, nullable=False),
    Column("reason_text", Text, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

AUDITED = ("customer_classes",)
APPEND_ONLY = ("earnings", "adjustments")
