"""The accrual schema: programme versions, customer classes, transactions seen, earnings,
pending points, held reversals, adjustments and re-rating runs."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.schema import PrimaryKeyConstraint, UniqueConstraint

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
    Column("reverses_posting_id", Text, index=True),
    Column("expires_at", Date),
    Column("transaction_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # What the rating gave: the rule's points, a promotion's bonus (period caps count these).
    Column("agreement_id", Text),
    Column("rule_points", BigInteger, nullable=False, server_default=text("0")),
    Column("bonus_points", BigInteger, nullable=False, server_default=text("0")),
    Column("promotion_id", Text),
    Column("programme_version", Integer),
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

programmes = Table(
    "programmes",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("digest", Text, nullable=False),
    Column("document", JSONB, nullable=False),
    Column("rule_versions", JSONB, nullable=False),
    Column("source", Text, nullable=False),
    Column("loaded_by", Text, nullable=False),
    Column("note", Text, nullable=False, server_default=""),
    Column("loaded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
programme_rules = Table(
    "programme_rules",
    metadata,
    Column("rule_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", Text, nullable=False),
    Column("definition", JSONB, nullable=False),
    Column("first_programme_version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("rule_id", "version"),
)
# Every enriched transaction once per status: the facts re-rating re-reads, and how a refund
# tells an unknown original from one that earned nothing.
transactions = Table(
    "transactions",
    metadata,
    Column("source", Text, nullable=False),
    Column("transaction_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("original_transaction_id", Text),
    Column("customer_no", Text, nullable=False, index=True),
    Column("segment", Text, nullable=False),
    Column("tier", Text, nullable=False),
    Column("earns", Boolean, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("transaction_at", DateTime(timezone=True), nullable=False, index=True),
    Column("facts", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("source", "transaction_id", "status"),
    Index("ix_transactions_original", "source", "original_transaction_id"),
)
pending_points = Table(
    "pending_points",
    metadata,
    Column("source", Text, nullable=False),
    Column("transaction_id", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("customer_no", Text, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("state", Text, nullable=False),  # pending | confirmed | cancelled
    Column("reason", Text),  # posted | reversed | lapsed | nothing earned on posting
    Column("rule_id", Text, nullable=False),
    Column("rule_version", Integer, nullable=False),
    Column("transaction_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("source", "transaction_id", "currency"),
    Index("ix_pending_points_open", "transaction_at", postgresql_where=text("state = 'pending'")),
)
# Refunds and reversals whose original is unknown: applied when it arrives, never dropped.
held_reversals = Table(
    "held_reversals",
    metadata,
    Column("source", Text, nullable=False),
    Column("transaction_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("original_transaction_id", Text, nullable=False),
    Column("customer_no", Text, nullable=False, index=True),
    Column("amount_cents", BigInteger, nullable=False),
    Column("state", Text, nullable=False),  # held | applied | dismissed
    Column("reason", Text, nullable=False),
    Column("held_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("resolved_at", DateTime(timezone=True)),
    Column("resolved_by", Text),
    PrimaryKeyConstraint("source", "transaction_id", "status"),
    Index("ix_held_reversals_original", "source", "original_transaction_id"),
)
rerate_runs = Table(
    "rerate_runs",
    metadata,
    Column("run_id", Text, primary_key=True),
    Column("date_from", Date, nullable=False),
    Column("date_to", Date, nullable=False),
    Column("programme_version", Integer, nullable=False),
    Column("actor", Text, nullable=False),
    Column("transactions", Integer, nullable=False),
    Column("adjustments", Integer, nullable=False),
    Column("points", JSONB, nullable=False),  # net points posted per currency
    Column("ran_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
# Per re-rated transaction and currency: the change of what was earned and of what refunds
# took back. The adjustment posted (if not zero) is in `adjustments` under `posting_id`.
rerate_lines = Table(
    "rerate_lines",
    metadata,
    Column("source", Text, nullable=False),
    Column("source_transaction_id", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("run_id", Text, nullable=False),
    Column("customer_no", Text, nullable=False),
    Column("earned_delta", BigInteger, nullable=False),
    Column("reversed_delta", BigInteger, nullable=False),
    Column("rule_points_delta", BigInteger, nullable=False),
    Column("bonus_points_delta", BigInteger, nullable=False),
    Column("rule_id", Text),
    Column("rule_version", Integer),
    Column("promotion_id", Text),
    Column("posting_id", Text),
    Column("transaction_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("source", "source_transaction_id", "currency", "run_id"),
)

AUDITED = ("customer_classes", "pending_points", "held_reversals")
APPEND_ONLY = (
    "earnings",
    "adjustments",
    "programmes",
    "programme_rules",
    "transactions",
    "rerate_runs",
    "rerate_lines",
)
