"""the outbox relay deletes what it published: no sent_at mark, no index of unsent rows

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 12:40:00

Marking a published row sent wrote a new version of it and new entries in its indexes (26 us
a row, PostgreSQL's largest item under load) and a purge deleted it an hour later; the
relay now deletes a row as it publishes it. What was published is on the topic.
"""

from collections.abc import Sequence

from shared.db.ddl import outbox_with_sent_at, outbox_without_sent_at

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "customer_profile"


def upgrade() -> None:
    outbox_without_sent_at(SCHEMA)


def downgrade() -> None:
    outbox_with_sent_at(SCHEMA)
