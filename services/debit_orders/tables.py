"""The debit_orders schema: received files and their rejects, payouts and fees awaiting
export, and the LYCRED files written."""

from sqlalchemy import (
    BigInteger,
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

from shared.db.reliability import service_metadata

SCHEMA = "debit_orders"
metadata = service_metadata(SCHEMA)

received_files = Table(
    "received_files",
    metadata,
    Column("file_id", Text, primary_key=True),
    Column("run_date", Date, nullable=False),
    Column("records", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("status", Text, nullable=False),
)
rejects = Table(
    "rejects",
    metadata,
    Column("file_id", Text, primary_key=True),
    Column("record_no", Integer, primary_key=True),
    Column("field", Text, primary_key=True),
    Column("reason", Text, nullable=False),
)
payouts = Table(
    "payouts",
    metadata,
    Column("payout_id", Text, primary_key=True),
    Column("customer_no", Text, nullable=False),
    Column("account_no", Text, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("reference", Text, nullable=False),
    Column("narrative", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("exported_file_id", Text),
)
Index(
    "ix_payouts_unexported",
    payouts.c.requested_at,
    payouts.c.payout_id,
    postgresql_where=text("exported_file_id IS NULL"),
)
customers = Table(
    "customers",
    metadata,
    Column("customer_no", Text, primary_key=True),
    Column("cashback_account_no", Text),
    Column("preferred_language", Text, nullable=False),
    Column("profile_version", Integer, nullable=False),
)

# Programme fees the operators charge (`loyalty debit-orders fee`): debits in LYCRED.
fees = Table(
    "fees",
    metadata,
    Column("fee_id", Text, primary_key=True),  # also LYD-REFERENCE: the bank echoes it back
    Column("customer_no", Text, nullable=False),
    Column("account_no", Text, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("reason", Text, nullable=False),  # the operator's, for the audit; not in the file
    Column("narrative", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("charged_at", DateTime(timezone=True), nullable=False),
    Column("recorded_by", Text, nullable=False, server_default=func.current_user()),
    Column("exported_file_id", Text),
)
Index(
    "ix_fees_unexported",
    fees.c.charged_at,
    fees.c.fee_id,
    postgresql_where=text("exported_file_id IS NULL"),
)
# One row per LYCRED file built: a cut-off claims its payouts and fees once, when its row is
# written; building it again reads back what it claimed, so the bytes are the same.
exported_files = Table(
    "exported_files",
    metadata,
    Column("file_id", Text, primary_key=True),
    Column("cut_off", DateTime(timezone=True), nullable=False),
    Column("built_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

AUDITED = ("received_files", "payouts", "customers", "fees")
APPEND_ONLY = ("rejects", "exported_files")
