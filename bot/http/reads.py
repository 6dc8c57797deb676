"""Ticket reads: storage answers the queries, core decides what the viewer may see.

Every read of a ticket, its comments, events and attachments passes `core.permissions.may_view`,
and a listing passes `viewable`: sign-in and per-team visibility will land there, and nowhere
else. A ticket the viewer may not see reads as absent (None, a 404 in the API), so its key tells
nothing about it. A listing is filtered page by page: under a rule that hides tickets a page may
hold fewer than `limit` (the next cursor still says whether more follow).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core import permissions
from core.people import Directory, Person
from core.permissions import ViewCheck
from core.ticket import Ticket
from storage import queries
from storage.attachments import StoredAttachment, get_attachment, ticket_attachments
from storage.queries import StoredComment, StoredEvent, TicketFilter

T = TypeVar("T")


@dataclass(frozen=True)
class TicketReads:
    engine: AsyncEngine
    directory: Directory
    check: ViewCheck = permissions.may_view

    async def ticket(self, viewer: Person, key: str) -> Ticket | None:
        async with self.engine.connect() as conn:
            return await self._visible(conn, viewer, key)

    async def tickets(
        self, viewer: Person, f: TicketFilter, limit: int, cursor: str | None
    ) -> tuple[list[Ticket], str | None]:
        """A page of tickets, newest first; a bad cursor raises `storage.queries.BadCursor`."""
        async with self.engine.connect() as conn:
            page, more = await queries.list_tickets(conn, f, limit, cursor)
        return permissions.viewable(viewer, page, self.directory, self.check), more

    async def comments(self, viewer: Person, key: str) -> list[StoredComment] | None:
        return await self._of_ticket(viewer, key, queries.ticket_comments)

    async def events(self, viewer: Person, key: str) -> list[StoredEvent] | None:
        return await self._of_ticket(viewer, key, queries.ticket_events)

    async def attachments(self, viewer: Person, key: str) -> list[StoredAttachment] | None:
        return await self._of_ticket(viewer, key, ticket_attachments)

    async def attachment(self, viewer: Person, attachment_id: str) -> StoredAttachment | None:
        """One attachment, if the viewer may see its ticket (one kept without a ticket: anyone)."""
        async with self.engine.connect() as conn:
            found = await get_attachment(conn, attachment_id)
            if found is None or found.ticket_key is None:
                return found
            ticket = await self._visible(conn, viewer, found.ticket_key)
        return found if ticket is not None else None

    async def _of_ticket(
        self,
        viewer: Person,
        key: str,
        query: Callable[[AsyncConnection, str], Awaitable[list[T]]],
    ) -> list[T] | None:
        """What `query` finds for the ticket; None when there is no such ticket to see."""
        async with self.engine.connect() as conn:
            if await self._visible(conn, viewer, key) is None:
                return None
            return await query(conn, key)

    async def _visible(self, conn: AsyncConnection, viewer: Person, key: str) -> Ticket | None:
        ticket = await queries.get_ticket(conn, key)
        if ticket is None or not self.check(viewer, ticket, self.directory):
            return None
        return ticket
