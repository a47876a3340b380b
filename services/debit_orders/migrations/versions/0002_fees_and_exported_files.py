"""fees and exported files: programme fees (LYCRED debits), one row per LYCRED file built

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 11:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db.ddl import finish_schema

SCHEMA = "debit_orders"
# The tables as this revision created them (tables.py moves on with later revisions).
AUDITED = ("fees",)
APPEND_ONLY = ("exported_files",)

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fees",
        sa.Column("fee_id", sa.Text(), nullable=False),
        sa.Column("customer_no", sa.Text(), nullable=False),
        sa.Column("account_no", sa.Text(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("narrative", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("charged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Text(), server_default=sa.text("CURRENT_USER"), nullable=False),
        sa.Column("exported_file_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("fee_id", name=op.f("pk_fees")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_fees_unexported",
        "fees",
        ["charged_at", "fee_id"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("exported_file_id IS NULL"),
    )
    op.create_table(
        "exported_files",
        sa.Column("file_id", sa.Text(), nullable=False),
        sa.Column("cut_off", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "built_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("file_id", name=op.f("pk_exported_files")),
        schema=SCHEMA,
    )
    # Files written before this revision: their payouts are claimed already; a row each keeps
    # a rebuild of such a file from claiming more.
    op.execute(
        f'INSERT INTO "{SCHEMA}".exported_files (file_id, cut_off) '
        "SELECT exported_file_id, max(requested_at) "
        f'FROM "{SCHEMA}".payouts WHERE exported_file_id IS NOT NULL GROUP BY exported_file_id'
    )
    finish_schema(SCHEMA, audited=AUDITED, append_only=APPEND_ONLY)


def downgrade() -> None:
    op.drop_table("exported_files", schema=SCHEMA)
    op.drop_index(
        "ix_fees_unexported",
        table_name="fees",
        schema=SCHEMA,
        postgresql_where=sa.text("exported_file_id IS NULL"),
    )
    op.drop_table("fees", schema=SCHEMA)
