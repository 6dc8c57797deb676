"""Addresses a channel must not send to any more (an email address that bounced permanently)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import upsert
from storage.tables import suppressions


async def suppress(
    conn: AsyncConnection,
    channel: str,
    address: str,
    reason: str,
    now: datetime,
    *,
    until: datetime | None = None,
) -> None:
    """Record (or renew) a suppression; the newest reason wins."""
    stmt = upsert(conn)(suppressions).values(
        channel=channel, address=address, reason=reason, until=until, created_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[suppressions.c.channel, suppressions.c.address],
        set_={"reason": stmt.excluded.reason, "until": stmt.excluded.until},
    )
    await conn.execute(stmt)


async def suppressed(conn: AsyncConnection, channel: str, now: datetime) -> set[str]:
    """The channel's addresses suppressed at `now`."""
    rows = await conn.execute(
        sa.select(suppressions.c.address).where(
            suppressions.c.channel == channel,
            sa.or_(suppressions.c.until.is_(None), suppressions.c.until > now),
        )
    )
    return set(rows.scalars())
