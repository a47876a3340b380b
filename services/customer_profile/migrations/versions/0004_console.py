"""console: users, sessions, approvals, the console's audit log, the vendor review queue

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 11:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.db.ddl import finish_schema

SCHEMA = "customer_profile"
AUDITED = ("console_users", "console_approvals", "review_queue")
APPEND_ONLY = ("console_audit",)

# The console's words about a customer, in the customer's language (labels.py has English).
TRANSLATIONS = [
    # (key, en, af)
    ("console.profile", "Profile", "Profiel"),
    ("console.customer_no", "Customer number", "Kliëntnommer"),
    ("console.name", "Name", "Naam"),
    ("console.language", "Language", "Taal"),
    ("console.status", "Status", "Status"),
    ("console.member", "Programme member", "Programlid"),
    ("console.yes", "Yes", "Ja"),
    ("console.no", "No", "Nee"),
    ("console.segment", "Segment", "Segment"),
    ("console.accounts", "Accounts", "Rekeninge"),
    ("console.cashback_account", "Cash-back account", "Kontant-terug-rekening"),
    ("console.tier", "Tier", "Vlak"),
    ("console.tier_progress", "{points} tier points in the last {months} months",
     "{points} vlakpunte in die afgelope {months} maande"),
    ("console.to_next_tier", "{points} tier points to {tier}", "{points} vlakpunte tot {tier}"),
    ("console.top_tier", "Highest tier", "Hoogste vlak"),
    ("console.at_risk_until",
     "Goes down a tier after {date} unless more tier points are earned",
     "Gaan ná {date} 'n vlak af tensy meer vlakpunte verdien word"),
    ("console.balances", "Points", "Punte"),
    ("console.currency", "Currency", "Geldeenheid"),
    ("console.balance", "Balance", "Saldo"),
    ("console.held", "Held", "Gereserveer"),
    ("console.pending", "Pending", "Hangende"),
    ("console.expiries", "Next expiries", "Volgende vervaldatums"),
    ("console.expires_on", "Expires on", "Verval op"),
    ("console.lots", "Lots", "Puntelotte"),
    ("console.activity", "Activity", "Aktiwiteit"),
    ("console.date", "Date", "Datum"),
    ("console.type", "Type", "Soort"),
    ("console.points", "Points", "Punte"),
    ("console.description", "Description", "Beskrywing"),
    ("console.reason", "Reason", "Rede"),
    ("console.redemptions", "Redemptions", "Inwisselings"),
    ("console.vendor", "Vendor", "Handelaar"),
    ("console.request", "Request", "Versoek"),
    ("console.state", "State", "Stand"),
    ("console.none", "None", "Geen"),
    ("console.state.redeemed", "Redeemed", "Ingewissel"),
    ("console.state.held", "Held", "Gereserveer"),
    ("console.state.captured", "Settled", "Vereffen"),
    ("console.state.voided", "Released", "Vrygestel"),
    ("console.state.cancelled", "Cancelled", "Gekanselleer"),
    ("console.state.declined", "Declined", "Afgekeur"),
    ("console.status.active", "Active", "Aktief"),
    ("console.status.closed", "Closed", "Gesluit"),
]  # fmt: skip

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint(
            "role IN ('agent', 'supervisor')", name=op.f("ck_console_users_role_known")
        ),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_console_users")),
        schema=SCHEMA,
    )
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("csrf_token", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_console_sessions")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_console_sessions_expires_at",
        "console_sessions",
        ["expires_at"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_table(
        "console_approvals",
        sa.Column("approval_id", sa.Text(), nullable=False),
        sa.Column("customer_no", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("reason_code", sa.Text(), nullable=False),
        sa.Column("reason_text", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column(
            "requested_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False
        ),
        sa.Column("state", sa.Text(), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("adjustment_id", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'approved', 'rejected')",
            name=op.f("ck_console_approvals_state_known"),
        ),
        sa.CheckConstraint("points <> 0", name=op.f("ck_console_approvals_points_not_zero")),
        sa.CheckConstraint(
            "decided_by IS NULL OR decided_by <> requested_by",
            name=op.f("ck_console_approvals_four_eyes"),
        ),
        sa.CheckConstraint(
            "(state = 'pending') = (decided_by IS NULL AND decided_at IS NULL)",
            name=op.f("ck_console_approvals_decided_once"),
        ),
        sa.PrimaryKeyConstraint("approval_id", name=op.f("pk_console_approvals")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_console_approvals_state",
        "console_approvals",
        ["state", "requested_at"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_table(
        "console_audit",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("customer_no", sa.Text(), nullable=True),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_audit")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_console_audit_customer",
        "console_audit",
        ["customer_no", "at"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_table(
        "review_queue",
        sa.Column("review_id", sa.Text(), nullable=False),
        sa.Column("customer_no", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("transaction_id", sa.Text(), nullable=False),
        sa.Column("descriptor", sa.Text(), nullable=False),
        sa.Column("candidates", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.Text(), server_default=sa.text("'open'"), nullable=False),
        sa.Column("vendor_id", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('open', 'confirmed', 'rejected')",
            name=op.f("ck_review_queue_state_known"),
        ),
        sa.PrimaryKeyConstraint("review_id", name=op.f("pk_review_queue")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_review_queue_state",
        "review_queue",
        ["state", "requested_at"],
        unique=False,
        schema=SCHEMA,
    )
    translations = sa.table(
        "translations",
        sa.column("text_key"),
        sa.column("language"),
        sa.column("text"),
        schema=SCHEMA,
    )
    op.bulk_insert(
        translations,
        [
            {"text_key": key, "language": language, "text": text}
            for key, en, af in TRANSLATIONS
            for language, text in (("en", en), ("af", af))
        ],
    )
    finish_schema(SCHEMA, audited=AUDITED, append_only=APPEND_ONLY)


def downgrade() -> None:
    keys = ", ".join(f"'{key}'" for key, _, _ in TRANSLATIONS)
    op.execute(f'DELETE FROM "{SCHEMA}".translations WHERE text_key IN ({keys})')
    op.drop_index("ix_review_queue_state", table_name="review_queue", schema=SCHEMA)
    op.drop_table("review_queue", schema=SCHEMA)
    op.drop_index("ix_console_audit_customer", table_name="console_audit", schema=SCHEMA)
    op.drop_table("console_audit", schema=SCHEMA)
    op.drop_index("ix_console_approvals_state", table_name="console_approvals", schema=SCHEMA)
    op.drop_table("console_approvals", schema=SCHEMA)
    op.drop_index("ix_console_sessions_expires_at", table_name="console_sessions", schema=SCHEMA)
    op.drop_table("console_sessions", schema=SCHEMA)
    op.drop_table("console_users", schema=SCHEMA)
