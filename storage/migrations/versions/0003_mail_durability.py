"""Mail channel state that must survive a restart: suppressed addresses, the status last mailed
per card, and attachments looked up by ticket.

Revision ID: 0003
Revises: 0002
Create Date: 2026-01-19
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None

When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "suppressions",
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("until", When, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("channel", "address", name="pk_suppressions"),
    )
    with op.batch_alter_table("card_refs") as batch:
        batch.add_column(sa.Column("rendered_status", sa.String(16), nullable=True))
    op.create_index("ix_attachments_ticket_id", "attachments", ["ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_attachments_ticket_id", "attachments")
    with op.batch_alter_table("card_refs") as batch:
        batch.drop_column("rendered_status")
    op.drop_table("suppressions")
