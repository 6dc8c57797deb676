"""A reminder's or escalation's card is recorded like a ticket's, with the notice it carries, so
a later change of the ticket updates it in place (rendered as that notice card, not the ticket's).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None


def upgrade() -> None:
    with op.batch_alter_table("card_refs") as batch:
        batch.add_column(sa.Column("notice", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("card_refs") as batch:
        batch.drop_column("notice")
