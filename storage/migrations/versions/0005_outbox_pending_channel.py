"""The outbox's pending rows by channel, in due order: a claim that leaves out a channel paced to
its quota reads only the other channels' rows instead of walking the paced one's backlog.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None


def upgrade() -> None:
    pending = sa.text("status = 'pending'")
    op.create_index(
        "ix_outbox_pending_channel",
        "outbox",
        ["channel", "next_attempt_at", "id"],
        sqlite_where=pending,
        postgresql_where=pending,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_pending_channel", table_name="outbox")
