"""miners ride the lane: report_miners.rebuilding

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 04:00:00

A miner whose topics the service's lane consumes is applied by the lane once it has caught
up; it reads on its own consumer group only while `rebuilding`. Every existing miner starts
so: it goes on from its group's offsets and hands over to the lane when it has caught up with
it (services.customer_profile.miners.runner.MinerRun.hand_over).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "customer_profile"


def upgrade() -> None:
    op.add_column(
        "report_miners",
        sa.Column("rebuilding", sa.Boolean(), server_default=sa.true(), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_column("report_miners", "rebuilding", schema=SCHEMA)
