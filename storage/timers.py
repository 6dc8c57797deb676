"""Timers as rows: claimed under a lease, fired once, fenced by the ticket's timer generation.

A ticket has at most one unfired timer, for its current `timer_generation` (storage.flush
replaces it whenever core moves the generation on). Schedulers claim due rows with a lease
(`FOR UPDATE SKIP LOCKED` on PostgreSQL, so replicas skip each other's rows) and fire each one
in the transaction that also writes its messages; `mark_fired` is the compare-and-set that lets
exactly one of them commit, even when a stalled replica comes back after its lease ran out.

SQLite is one replica: `SqliteSchedulerLock` refuses a second scheduler on the same file.
"""

from __future__ import annotations

import fcntl
import os
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.leases import claim_leased
from storage.tables import tickets, timers


class TimerFenced(Exception):
    """The timer was fired, replaced or cancelled by someone else; this firing must not commit."""


class SchedulerLocked(Exception):
    """Another scheduler already runs on this SQLite file."""


@dataclass(frozen=True)
class DueTimer:
    id: int
    ticket_id: int | None
    ticket_key: str | None
    kind: str
    generation: int
    due_at: datetime


async def next_due(conn: AsyncConnection) -> datetime | None:
    """The earliest unfired due time: one probe of the partial index, whatever the row count."""
    stmt = (
        sa.select(timers.c.due_at)
        .where(timers.c.fired_at.is_(None))
        .order_by(timers.c.due_at)
        .limit(1)
    )
    due: datetime | None = (await conn.execute(stmt)).scalar_one_or_none()
    return due


async def due_head(
    conn: AsyncConnection, limit: int = 16
) -> list[tuple[datetime, datetime | None]]:
    """(due_at, lease_until) of the earliest unfired timers: a bounded probe of the partial
    index, so the scheduler can tell "due and free" from "due but another replica holds it"."""
    stmt = (
        sa.select(timers.c.due_at, timers.c.lease_until)
        .where(timers.c.fired_at.is_(None))
        .order_by(timers.c.due_at)
        .limit(limit)
    )
    return [(due, lease) for due, lease in await conn.execute(stmt)]


async def claim(
    conn: AsyncConnection, owner: str, now: datetime, limit: int, lease: timedelta
) -> list[DueTimer]:
    """Lease up to `limit` due, unfired timers to `owner`, earliest first."""
    claimed = await claim_leased(
        conn,
        timers,
        due=(timers.c.fired_at.is_(None), timers.c.due_at <= now),
        order_by=(timers.c.due_at,),
        owner=owner,
        now=now,
        limit=limit,
        lease=lease,
        returning=(
            timers.c.id,
            timers.c.ticket_id,
            timers.c.kind,
            timers.c.generation,
            timers.c.due_at,
        ),
    )
    rows = sorted(claimed, key=lambda r: (r.due_at, r.id))
    ids = {r.ticket_id for r in rows if r.ticket_id is not None}
    keys: dict[int, str] = {}
    if ids:
        found = await conn.execute(
            sa.select(tickets.c.id, tickets.c.key).where(tickets.c.id.in_(ids))
        )
        keys = {r.id: r.key for r in found}
    return [
        DueTimer(
            r.id,
            r.ticket_id,
            keys.get(r.ticket_id) if r.ticket_id is not None else None,
            r.kind,
            r.generation,
            r.due_at,
        )
        for r in rows
    ]


async def mark_fired(conn: AsyncConnection, timer: DueTimer, now: datetime) -> None:
    """The fencing compare-and-set; raises TimerFenced when someone else got there first."""
    result = await conn.execute(
        sa.update(timers)
        .where(
            timers.c.id == timer.id,
            timers.c.fired_at.is_(None),
            timers.c.generation == timer.generation,
        )
        .values(fired_at=now, lease_owner=None, lease_until=None)
    )
    if result.rowcount != 1:
        raise TimerFenced(f"timer {timer.id} (generation {timer.generation}) already settled")


async def pending_count(conn: AsyncConnection) -> int:
    stmt = sa.select(sa.func.count()).select_from(timers).where(timers.c.fired_at.is_(None))
    return int((await conn.execute(stmt)).scalar_one())


class SqliteSchedulerLock:
    """An OS lock on a file beside the database: held while the process lives, freed on crash."""

    def __init__(self, database_url: str) -> None:
        database = make_url(database_url).database or ""
        self.database = database
        self.path = Path(f"{database}.scheduler.lock")
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        if self._file is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise SchedulerLocked(
                f"another gongdan scheduler is running on {self.database} (pid {holder}); "
                "SQLite supports one replica — use PostgreSQL for several"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle
        # a service built but never stopped (tests, a failed start) still closes the file
        weakref.finalize(self, handle.close)

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
