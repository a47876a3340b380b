"""The redemption schema: the wallet ledger (accounts, journal, lots, redemptions)."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.db.reliability import service_metadata

SCHEMA = "redemption"
metadata = service_metadata(SCHEMA)

customers = Table(
    "customers",
    metadata,
    Column("customer_no", Text, primary_key=True),
    Column("preferred_language", Text, nullable=False),
    Column("loyalty_member", Boolean, nullable=False),
    Column("status", Text, nullable=False),
    Column("cashback_account_no", Text),
    Column("profile_version", Integer, nullable=False),
)
vendors = Table(
    "vendors",
    metadata,
    Column("vendor_id", Text, primary_key=True),
    Column("accepts_redemptions", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)
# A running total per customer and currency, updated in the same transaction as the journal.
accounts = Table(
    "accounts",
    metadata,
    Column("customer_no", Text, primary_key=True),
    Column("currency", Text, primary_key=True),
    Column("balance", BigInteger, nullable=False, server_default="0"),
    Column("held", BigInteger, nullable=False, server_default="0"),
    CheckConstraint("held >= 0", name="held_not_negative"),
)
lots = Table(
    "lots",
    metadata,
    Column("lot_id", BigInteger, primary_key=True, autoincrement=True),
    Column("customer_no", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("posting_id", Text, nullable=False, unique=True),
    Column("initial_points", BigInteger, nullable=False),
    Column("remaining_points", BigInteger, nullable=False),
    Column("expires_at", Date),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(
        "remaining_points >= 0 AND remaining_points <= initial_points", name="remaining"
    ),
    CheckConstraint("initial_points > 0", name="initial_points_positive"),
)
# A customer's open lots (redemptions, reversals) and the lots due to expire (expiry run);
# emptied lots, the bulk of the table over the years, are in neither.
Index(
    "ix_lots_open",
    lots.c.customer_no,
    lots.c.currency,
    lots.c.lot_id,
    postgresql_where=text("remaining_points > 0"),
)
Index("ix_lots_expiring", lots.c.expires_at, postgresql_where=text("remaining_points > 0"))
# A customer's open lots in the order a balance change lists them (soonest expiry first, ties
# by lot id): its first lots and expiry days without reading the rest (0005).
Index(
    "ix_lots_usable",
    lots.c.customer_no,
    lots.c.currency,
    lots.c.expires_at,
    lots.c.lot_id,
    postgresql_where=text("remaining_points > 0"),
)
journal_transactions = Table(
    "journal_transactions",
    metadata,
    Column("txn_id", BigInteger, primary_key=True, autoincrement=True),
    Column("kind", Text, nullable=False),
    Column("reference", Text, nullable=False),
    Column("customer_no", Text, nullable=False, index=True),
    Column("currency", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("kind", "reference"),
)
# Every transaction's entries sum to zero: built so, and checked by a trigger (0003).
journal_entries = Table(
    "journal_entries",
    metadata,
    Column("entry_id", BigInteger, primary_key=True, autoincrement=True),
    Column(
        "txn_id", BigInteger, ForeignKey("journal_transactions.txn_id"), nullable=False, index=True
    ),
    Column("account", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
)
redemptions = Table(
    "redemptions",
    metadata,
    Column("redemption_id", BigInteger, primary_key=True, autoincrement=True),
    Column("vendor_id", Text, nullable=False),
    Column("request_id", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("message_id", Text, nullable=False, index=True),
    Column("customer_no", Text, nullable=False, index=True),
    Column("points", BigInteger, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("reason_code", Text),
    Column("decision", JSONB, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("vendor_id", "request_id", "action"),
    CheckConstraint("points >= 0", name="points_not_negative"),
    CheckConstraint("outcome IN ('approved', 'declined')", name="outcome"),
)
allocations = Table(
    "allocations",
    metadata,
    Column("redemption_id", BigInteger, ForeignKey("redemptions.redemption_id"), primary_key=True),
    Column("lot_id", BigInteger, ForeignKey("lots.lot_id"), primary_key=True),
    Column("points", BigInteger, nullable=False),
    CheckConstraint("points > 0", name="points_positive"),
)

holds = Table(
    "holds",
    metadata,
    Column("hold_id", BigInteger, primary_key=True, autoincrement=True),
    Column("vendor_id", Text, nullable=False),
    Column("request_id", Text, nullable=False),
    Column("customer_no", Text, nullable=False, index=True),
    Column("points", BigInteger, nullable=False),
    Column("state", Text, nullable=False, server_default="open"),
    Column("lapses_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("resolved_at", DateTime(timezone=True)),
    UniqueConstraint("vendor_id", "request_id"),
    CheckConstraint("points > 0", name="points_positive"),
    CheckConstraint("state IN ('open', 'captured', 'voided', 'lapsed')", name="state"),
)
Index("ix_holds_open_lapses_at", holds.c.lapses_at, postgresql_where=text("state = 'open'"))
# A cancelled redemption, once: the row's existence is the cancellation.
cancellations = Table(
    "cancellations",
    metadata,
    Column("redemption_id", BigInteger, ForeignKey("redemptions.redemption_id"), primary_key=True),
    Column("message_id", Text, nullable=False),
    Column("returned_points", BigInteger, nullable=False),
    Column("breakage_points", BigInteger, nullable=False),
    Column("cancelled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

AUDITED = ("customers", "vendors", "accounts", "lots", "holds")
APPEND_ONLY = (
    "journal_transactions",
    "journal_entries",
    "redemptions",
    "allocations",
    "cancellations",
)
