"""audit a statement at a time: one INSERT of the changed rows, not a trigger call per row

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 20:00:00

The row audit triggers ran a PL/pgSQL call and an INSERT for every updated or deleted row of
an audited table: on the wallet's running balances and lots, a tenth of PostgreSQL's time
under load. The statement triggers write the same audit rows (table, operation, the row as
it was, who, transaction, when) from the statement's transition table.
"""

from collections.abc import Sequence

from shared.db.ddl import audit_by_row, audit_by_statement

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "customer_profile"


def upgrade() -> None:
    audit_by_statement(SCHEMA)


def downgrade() -> None:
    audit_by_row(SCHEMA)
