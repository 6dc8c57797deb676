"""The leased claim, written once for every queue table (outbox rows, timers).

A row is due when its own condition holds and no live lease covers it; claiming sets
`lease_owner`/`lease_until` in one UPDATE … WHERE id IN (SELECT … LIMIT n). On PostgreSQL the
inner SELECT takes `FOR UPDATE SKIP LOCKED`, so replicas claiming together skip each other's rows
instead of queueing on them; on SQLite the writer is the only writer, so the statement alone is
atomic. A crashed owner's rows come back when their lease ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection


async def claim_leased(
    conn: AsyncConnection,
    table: sa.Table,
    *,
    due: Sequence[sa.ColumnElement[bool]],
    order_by: Sequence[sa.ColumnElement[Any]],
    owner: str,
    now: datetime,
    limit: int,
    lease: timedelta,
    returning: Sequence[sa.ColumnElement[Any]],
) -> Sequence[sa.Row[Any]]:
    """Lease up to `limit` rows of `table` that are `due` and unleased (or whose lease ended) to
    `owner` until now + lease, picked in `order_by`; returns the `returning` columns of each
    (in no particular order: callers sort)."""
    lease_until = table.c.lease_until
    picked = (
        sa.select(table.c.id)
        .where(*due, sa.or_(lease_until.is_(None), lease_until < now))
        .order_by(*order_by)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        picked = picked.with_for_update(skip_locked=True)
    stmt = (
        sa.update(table)
        .where(table.c.id.in_(picked.scalar_subquery()))
        .values(lease_owner=owner, lease_until=now + lease)
        .returning(*returning)
    )
    return (await conn.execute(stmt)).all()
