"""SLA clocks and escalation frozen onto tickets; timers looked up per ticket.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None


def upgrade() -> None:
    # batch mode: SQLite cannot ALTER TABLE ... ADD a NOT NULL column without a table copy
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("sla", sa.JSON, nullable=True))
        batch.add_column(
            sa.Column("timer_generation", sa.Integer, nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("wake_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_timers_ticket_id", "timers", ["ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_timers_ticket_id", "timers")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("wake_at")
        batch.drop_column("timer_generation")
        batch.drop_column("sla")
