"""reporting: the miners' tables (issue cohorts, promotion response, tier distribution)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 11:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db.ddl import finish_schema

SCHEMA = "customer_profile"

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_miners",
        sa.Column("miner", sa.Text(), nullable=False),
        sa.Column("generation", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column(
            "reset_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("miner", name=op.f("pk_report_miners")),
        schema=SCHEMA,
    )
    op.create_table(
        "report_cohort_customers",
        sa.Column("customer_no", sa.Text(), nullable=False),
        sa.Column("next_seq", sa.Integer(), nullable=False),
        sa.Column("debt", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("customer_no", name=op.f("pk_report_cohort_customers")),
        schema=SCHEMA,
    )
    op.create_table(
        "report_cohort_lots",
        sa.Column("customer_no", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("cohort", sa.Date(), nullable=False),
        sa.Column("issued", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("redeemed", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("customer_no", "seq", name=op.f("pk_report_cohort_lots")),
        schema=SCHEMA,
    )
    op.create_table(
        "report_cohort_flows",
        sa.Column("cohort", sa.Date(), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("issued", sa.BigInteger(), nullable=False),
        sa.Column("redeemed", sa.BigInteger(), nullable=False),
        sa.Column("expired", sa.BigInteger(), nullable=False),
        sa.Column("reversed", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("cohort", "period", name=op.f("pk_report_cohort_flows")),
        schema=SCHEMA,
    )
    op.create_table(
        "report_promotion_postings",
        sa.Column("posting_id", sa.Text(), nullable=False),
        sa.Column("promotion_id", sa.Text(), nullable=False),
        sa.Column("customer_no", sa.Text(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("bonus_points", sa.BigInteger(), nullable=False),
        sa.Column("earned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("posting_id", name=op.f("pk_report_promotion_postings")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_report_promotion_postings_promotion",
        "report_promotion_postings",
        ["promotion_id", "customer_no"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_table(
        "report_vendor_spend",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("vendor_id", sa.Text(), nullable=False),
        sa.Column("customer_no", sa.Text(), nullable=False),
        sa.Column("spend_cents", sa.BigInteger(), nullable=False),
        sa.Column("transactions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "vendor_id", "day", "customer_no", name=op.f("pk_report_vendor_spend")
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "report_tier_members",
        sa.Column("customer_no", sa.Text(), nullable=False),
        sa.Column("tier", sa.Text(), nullable=True),
        sa.Column("profile_version", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_no", name=op.f("pk_report_tier_members")),
        schema=SCHEMA,
    )
    op.create_table(
        "report_tier_moves",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tier", sa.Text(), nullable=False),
        sa.Column("joined", sa.Integer(), nullable=False),
        sa.Column("left", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "tier", name=op.f("pk_report_tier_moves")),
        schema=SCHEMA,
    )
    finish_schema(SCHEMA)


def downgrade() -> None:
    op.drop_table("report_tier_moves", schema=SCHEMA)
    op.drop_table("report_tier_members", schema=SCHEMA)
    op.drop_table("report_vendor_spend", schema=SCHEMA)
    op.drop_index(
        "ix_report_promotion_postings_promotion",
        table_name="report_promotion_postings",
        schema=SCHEMA,
    )
    op.drop_table("report_promotion_postings", schema=SCHEMA)
    op.drop_table("report_cohort_flows", schema=SCHEMA)
    op.drop_table("report_cohort_lots", schema=SCHEMA)
    op.drop_table("report_cohort_customers", schema=SCHEMA)
    op.drop_table("report_miners", schema=SCHEMA)
