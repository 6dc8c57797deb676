"""Per-card state: a small JSON object a platform needs to touch a posted card again
(DingTalk's outTrackId, WeCom's single-use response_code), kept with the card ref.

Revision ID: 0004
Revises: 0003
Create Date: 2026-01-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None


def upgrade() -> None:
    with op.batch_alter_table("card_refs") as batch:
        batch.add_column(sa.Column("state", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("card_refs") as batch:
        batch.drop_column("state")
