"""a customer's open lots by expiry, for the summaries a balance change states

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 19:30:00

A credit states the account's first 20 usable lots (soonest expiry first, ties by lot id),
how many there are and its first 3 expiry days. The wallet read and locked every open lot of
the account for that, a cost growing with the customer's lots; it now reads the first lots and
days of each credited account along this index, and counts them in it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "redemption"


def upgrade() -> None:
    op.create_index(
        "ix_lots_usable",
        "lots",
        ["customer_no", "currency", "expires_at", "lot_id"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("remaining_points > 0"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_lots_usable",
        table_name="lots",
        schema=SCHEMA,
        postgresql_where=sa.text("remaining_points > 0"),
    )
