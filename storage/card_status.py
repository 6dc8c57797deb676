"""The ticket status a posted card last showed, for channels that must not repeat a status
(a mail cannot be edited in place: each status change is a new mail)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import card_refs


def _where(channel: str, conversation: str, message: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        card_refs.c.channel == channel,
        card_refs.c.conversation == conversation,
        card_refs.c.message == message,
    )


async def rendered_status(
    conn: AsyncConnection, channel: str, conversation: str, message: str
) -> str | None:
    row = await conn.execute(
        sa.select(card_refs.c.rendered_status).where(_where(channel, conversation, message))
    )
    return row.scalar_one_or_none()


async def set_rendered_status(
    conn: AsyncConnection, channel: str, conversation: str, message: str, status: str
) -> bool:
    """False when no such card is recorded (yet)."""
    result = await conn.execute(
        sa.update(card_refs)
        .where(_where(channel, conversation, message))
        .values(rendered_status=status)
    )
    return bool(result.rowcount)
