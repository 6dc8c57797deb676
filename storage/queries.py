"""Reads for the REST API and dashboards. Plain connections, never the writer."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.events import Event, event_from
from core.ticket import ChannelRef, Status, Ticket
from storage.mapping import ticket_from_row
from storage.tables import comments, events, tickets

MAX_PAGE = 200
_CLOSED = [s.value for s in Status if not s.is_open]


class BadCursor(ValueError):
    """A pagination cursor this service did not hand out (or one from an older format)."""


@dataclass(frozen=True)
class TicketFilter:
    status: list[str] | None = None
    assignee: str | None = None
    team: str | None = None
    type_id: str | None = None
    requester: str | None = None
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # exclusive
    # case-insensitive text anywhere in the key, title or description
    text: str | None = None


@dataclass(frozen=True)
class StoredEvent:
    id: int
    kind: str
    actor_id: str | None
    channel: str
    data: dict[str, Any]
    at: datetime

    def typed(self, ticket_key: str) -> Event:
        """The core event this row stores (KeyError or ValueError for a kind core does not know).

        The REST API shows `kind` and `data` as stored; this is for code that reasons about them."""
        return event_from(
            self.kind,
            self.data,
            ticket_key=ticket_key,
            at=self.at,
            actor_id=self.actor_id,
            channel=self.channel,
        )


@dataclass(frozen=True)
class StoredComment:
    id: int
    author_id: str
    body: str
    public: bool
    channel: ChannelRef
    created_at: datetime


async def get_ticket(conn: AsyncConnection, key: str) -> Ticket | None:
    row = (await conn.execute(sa.select(tickets).where(tickets.c.key == key))).mappings().first()
    return ticket_from_row(row) if row else None


async def ticket_by_id(conn: AsyncConnection, ticket_id: int) -> Ticket | None:
    stmt = sa.select(tickets).where(tickets.c.id == ticket_id)
    row = (await conn.execute(stmt)).mappings().first()
    return ticket_from_row(row) if row else None


async def tickets_by_ids(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, Ticket]:
    """Several tickets in one query (the dispatcher renders a whole pass at once)."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = (await conn.execute(sa.select(tickets).where(tickets.c.id.in_(wanted)))).mappings()
    found = [ticket_from_row(r) for r in rows]
    return {t.id: t for t in found if t.id is not None}


async def list_tickets(
    conn: AsyncConnection, f: TicketFilter, limit: int, cursor: str | None
) -> tuple[list[Ticket], str | None]:
    """Newest first. The cursor is opaque to callers; pass back what the last page returned."""
    limit = max(1, min(limit, MAX_PAGE))
    stmt = sa.select(tickets).where(*_conditions(f)).order_by(tickets.c.id.desc()).limit(limit + 1)
    if cursor is not None:
        stmt = stmt.where(tickets.c.id < _decode(cursor))
    rows = (await conn.execute(stmt)).mappings().all()
    page = [ticket_from_row(r) for r in rows[:limit]]
    more = len(rows) > limit
    return page, (_encode(rows[limit - 1]["id"]) if more else None)


async def ticket_events(conn: AsyncConnection, key: str) -> list[StoredEvent]:
    stmt = (
        sa.select(events)
        .join(tickets, tickets.c.id == events.c.ticket_id)
        .where(tickets.c.key == key)
        .order_by(events.c.id)
    )
    return [
        StoredEvent(r.id, r.kind, r.actor_id, r.channel, dict(r.data), r.at)
        for r in await conn.execute(stmt)
    ]


async def ticket_comments(
    conn: AsyncConnection, key: str, last: int | None = None
) -> list[StoredComment]:
    """A ticket's comments, oldest first; only the `last` ones when given."""
    stmt = (
        sa.select(comments)
        .join(tickets, tickets.c.id == comments.c.ticket_id)
        .where(tickets.c.key == key)
        .order_by(comments.c.id.desc())
    )
    if last is not None:
        stmt = stmt.limit(last)
    found = [
        StoredComment(
            r.id, r.author_id, r.body, r.public, ChannelRef.from_json(r.channel), r.created_at
        )
        for r in await conn.execute(stmt)
    ]
    return found[::-1]


async def count_open(conn: AsyncConnection) -> int:
    stmt = sa.select(sa.func.count()).select_from(tickets).where(tickets.c.status.not_in(_CLOSED))
    return int((await conn.execute(stmt)).scalar_one())


def _conditions(f: TicketFilter) -> list[sa.ColumnElement[bool]]:
    c = tickets.c
    where: list[sa.ColumnElement[bool]] = []
    if f.status:
        where.append(c.status.in_(f.status))
    if f.assignee is not None:
        where.append(c.assignee_id == f.assignee)
    if f.team is not None:
        where.append(c.team_id == f.team)
    if f.type_id is not None:
        where.append(c.type_id == f.type_id)
    if f.requester is not None:
        where.append(c.requester_id == f.requester)
    if f.created_from is not None:
        where.append(c.created_at >= f.created_from)
    if f.created_to is not None:
        where.append(c.created_at < f.created_to)
    if f.text:
        # LIKE with the wildcards escaped, on lower(): SQLite's LIKE folds only ASCII case
        pattern = "%" + _escape_like(f.text.lower()) + "%"
        where.append(
            sa.or_(
                *(
                    sa.func.lower(col).like(pattern, escape="\\")
                    for col in (c.key, c.title, c.description)
                )
            )
        )
    return where


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class OpenTickets:
    """core.ports.TicketReader on the database: the reads chat commands make."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, key: str) -> Ticket | None:
        async with self._engine.connect() as conn:
            return await get_ticket(conn, key)

    async def open_requested_by(self, person_id: str, limit: int) -> list[Ticket]:
        return await self._open(limit, tickets.c.requester_id == person_id)

    async def open_assigned_to(self, person_id: str, limit: int) -> list[Ticket]:
        return await self._open(limit, tickets.c.assignee_id == person_id)

    async def open_unassigned(self, team_ids: list[str], limit: int) -> list[Ticket]:
        return await self._open(
            limit, tickets.c.assignee_id.is_(None), tickets.c.team_id.in_(team_ids)
        )

    async def _open(self, limit: int, *where: sa.ColumnElement[bool]) -> list[Ticket]:
        stmt = (
            sa.select(tickets)
            .where(tickets.c.status.not_in(_CLOSED), *where)
            .order_by(tickets.c.id.desc())
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [ticket_from_row(r) for r in (await conn.execute(stmt)).mappings()]


def _encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"t1:{last_id}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, _, value = text.partition(":")
        last_id = int(value)
        if version != "t1" or not 0 < last_id < 2**63:  # ids are positive 64-bit integers
            raise ValueError(version)
        return last_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadCursor("this cursor is not valid; start again without one") from None


async def last_opened_here(
    conn: AsyncConnection,
    channel: str,
    conversation: str,
    requester_id: str,
    since: datetime,
    type_id: str | None = None,
) -> tuple[str, datetime, bool] | None:
    """The requester's newest ticket (of `type_id`, when given) opened in that conversation
    since `since`, unless it is resolved or closed: its key, when it opened, and whether they have commented on it since (they
    were told about follow-ups).

    Read from the tickets, not from memory, so it holds across restarts and replicas; the
    created_at index bounds the scan to the follow-up window."""
    stmt = (
        sa.select(
            tickets.c.id,
            tickets.c.key,
            tickets.c.type_id,
            tickets.c.origin,
            tickets.c.created_at,
            tickets.c.status,
        )
        .where(tickets.c.created_at >= since, tickets.c.requester_id == requester_id)
        .order_by(tickets.c.created_at.desc(), tickets.c.id.desc())
        .limit(20)
    )
    # the type is checked here, not in SQL: an equality on type_id would lead SQLite to that
    # index (nearly every ticket of a help desk) instead of the created_at range
    for row in (await conn.execute(stmt)).mappings():
        if type_id is not None and row["type_id"] != type_id:
            continue
        origin = row["origin"] or {}
        if origin.get("channel") == channel and origin.get("conversation") == conversation:
            if row["status"] in _CLOSED:
                return None  # resolved or closed already: a new message is a new problem
            told = sa.select(comments.c.id).where(
                comments.c.ticket_id == row["id"], comments.c.author_id == requester_id
            )
            found = (await conn.execute(told.limit(1))).first()
            return str(row["key"]), row["created_at"], found is not None
    return None
