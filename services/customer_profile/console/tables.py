"""The console's tables in the customer_profile schema: users, sessions, approvals, its
audit log and the vendor review queue."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from services.customer_profile.tables import metadata

console_users = Table(
    "console_users",
    metadata,
    Column("username", Text, primary_key=True),
    Column("role", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("role IN ('agent', 'supervisor')", name="role_known"),
)
# A session is kept by the hash of its cookie: a leaked table does not log anyone in.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", Text, primary_key=True),
    Column("username", Text, nullable=False),
    Column("csrf_token", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
Index("ix_console_sessions_expires_at", console_sessions.c.expires_at)
console_approvals = Table(
    "console_approvals",
    metadata,
    Column("approval_id", Text, primary_key=True),
    Column("customer_no", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("reason_code", Text, nullable=False),
    Column("reason_text", Text, nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("state", Text, nullable=False, server_default="pending"),
    Column("decided_by", Text),
    Column("decided_at", DateTime(timezone=True)),
    Column("adjustment_id", Text),
    CheckConstraint("state IN ('pending', 'approved', 'rejected')", name="state_known"),
    CheckConstraint("points <> 0", name="points_not_zero"),
    # Four eyes: nobody approves their own request, whatever the pages do.
    CheckConstraint("decided_by IS NULL OR decided_by <> requested_by", name="four_eyes"),
    CheckConstraint(
        "(state = 'pending') = (decided_by IS NULL AND decided_at IS NULL)", name="decided_once"
    ),
)
Index("ix_console_approvals_state", console_approvals.c.state, console_approvals.c.requested_at)
console_audit = Table(
    "console_audit",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor", Text, nullable=False),
    Column("role", Text),
    Column("action", Text, nullable=False),
    Column("customer_no", Text),
    Column("details", JSONB, nullable=False, server_default="{}"),
)
Index("ix_console_audit_customer", console_audit.c.customer_no, console_audit.c.at)
review_queue = Table(
    "review_queue",
    metadata,
    Column("review_id", Text, primary_key=True),
    Column("customer_no", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("transaction_id", Text, nullable=False),
    Column("descriptor", Text, nullable=False),
    Column("candidates", JSONB, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("state", Text, nullable=False, server_default="open"),
    Column("vendor_id", Text),
    Column("decided_by", Text),
    Column("decided_at", DateTime(timezone=True)),
    CheckConstraint("state IN ('open', 'confirmed', 'rejected')", name="state_known"),
)
Index("ix_review_queue_state", review_queue.c.state, review_queue.c.requested_at)

AUDITED = ("console_users", "console_approvals", "review_queue")
APPEND_ONLY = ("console_audit",)
