"""next expiries and open lots: the wallet's next expiry days and open lots, with each balance

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 11:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

SCHEMA = "customer_profile"

# The console's headings of the lots table, in the customer's language (labels.py has English).
TRANSLATIONS = [
    # (key, en, af)
    ("console.lot", "Lot", "Lot"),
    ("console.lot_starting", "Starting points", "Beginpunte"),
    ("console.lot_current", "Points left", "Punte oor"),
    ("console.lot_expires", "Expires", "Verval"),
    ("console.lot_source", "Source", "Bron"),
    ("console.never", "Never", "Nooit"),
    ("console.lots_shown", "The first {shown} of {total} lots",
     "Die eerste {shown} van {total} lotte"),
]  # fmt: skip

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Null until the wallet states them (balance changes from before the fields carry none).
    op.add_column(
        "balances",
        sa.Column("next_expiries", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        schema=SCHEMA,
    )
    op.add_column(
        "balances",
        sa.Column("open_lots", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        schema=SCHEMA,
    )
    op.add_column(
        "balances",
        sa.Column("open_lots_total", sa.Integer(), nullable=True),
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


def downgrade() -> None:
    keys = ", ".join(f"'{key}'" for key, _, _ in TRANSLATIONS)
    op.execute(f'DELETE FROM "{SCHEMA}".translations WHERE text_key IN ({keys})')
    op.drop_column("balances", "open_lots_total", schema=SCHEMA)
    op.drop_column("balances", "open_lots", schema=SCHEMA)
    op.drop_column("balances", "next_expiries", schema=SCHEMA)
