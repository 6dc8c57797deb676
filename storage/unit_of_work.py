"""The unit of work handed to core inside a Writer batch.

Each submission works on deep copies and buffers its writes; only when its work returns are the
buffers merged into the batch, so a failing submission leaves no trace and later submissions in
the same batch see the earlier ones' changes (the batch-level identity map).
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from core.events import Event
from core.ports import PersonNotice
from core.ticket import ChannelRef, Comment, Ticket
from storage.db import upsert
from storage.mapping import ticket_from_row
from storage.tables import counters, tickets

FIRST_NUMBER = 1001


class VersionConflict(Exception):
    """A ticket row no longer had the version this batch read: another replica saved first."""


@dataclass
class Tracked:
    ticket: Ticket
    db_version: int | None  # None: inserted by this batch
    dirty: bool = False
    # the timer generation the stored row has; a different one means its timer is replaced
    db_generation: int | None = None


@dataclass(frozen=True)
class Send:
    """A message for the outbox that is not a ticket card: a reminder, an escalation, a line."""

    ticket_key: str
    where: ChannelRef
    kind: str
    payload: dict[str, Any]
    deliver_at: datetime
    # a person's notice line: joins a row for the same person, ticket and place that is still
    # held (its deliver_at not reached), instead of becoming a message of its own
    coalesce: bool = False


@dataclass
class Buffers:
    events: list[Event] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    posts: list[tuple[str, ChannelRef]] = field(default_factory=list)
    refresh: dict[str, None] = field(default_factory=dict)  # ordered set of ticket keys
    relays: list[Comment] = field(default_factory=list)
    sends: list[Send] = field(default_factory=list)
    # lines for people, routed to their direct rooms by the caller (bot.delivery.notices)
    notices: list[PersonNotice] = field(default_factory=list)

    def extend(self, other: Buffers) -> None:
        self.sends.extend(other.sends)
        self.notices.extend(other.notices)
        self.events.extend(other.events)
        self.comments.extend(other.comments)
        self.posts.extend(other.posts)
        self.refresh.update(other.refresh)
        self.relays.extend(other.relays)


class Numbers:
    """Ticket numbers for one transaction, reserved from the counters row in ranges.

    While the transaction holds the counter (a row lock on PostgreSQL, the write lock on
    SQLite) the ranges it takes are contiguous, so handing back the unused tail at flush keeps
    the sequence gap-free.
    """

    def __init__(self, conn: AsyncConnection, hints: Counter[str]) -> None:
        self._conn = conn
        self._hints = hints
        self._start: dict[str, int] = {}
        self._next: dict[str, int] = {}
        self._end: dict[str, int] = {}

    async def take(self, prefix: str) -> int:
        if prefix not in self._next or self._next[prefix] > self._end[prefix]:
            await self._reserve(prefix, max(1, self._hints[prefix]))
        number = self._next[prefix]
        self._next[prefix] = number + 1
        return number

    def done(self, prefix: str | None) -> None:
        """One hinted submission has run; it no longer needs room in the next reservation."""
        if prefix is not None and self._hints[prefix] > 0:
            self._hints[prefix] -= 1

    def snapshot(self) -> dict[str, int]:
        return dict(self._next)

    def restore(self, snapshot: dict[str, int]) -> None:
        """Take back the numbers a failed submission drew, for the next one to use."""
        for prefix in self._next:
            self._next[prefix] = snapshot.get(prefix, self._start[prefix])

    async def settle(self) -> None:
        """Give back numbers reserved but not used, so the next batch continues from here."""
        for prefix, end in self._end.items():
            last_used = self._next[prefix] - 1
            if last_used < end:
                await self._conn.execute(
                    sa.update(counters)
                    .where(counters.c.name == _counter(prefix))
                    .values(value=last_used)
                )

    async def _reserve(self, prefix: str, count: int) -> None:
        insert = upsert(self._conn)
        stmt = (
            insert(counters)
            .values(name=_counter(prefix), value=FIRST_NUMBER - 1 + count)
            .on_conflict_do_update(
                index_elements=[counters.c.name], set_={"value": counters.c.value + count}
            )
            .returning(counters.c.value)
        )
        end = int((await self._conn.execute(stmt)).scalar_one())
        first = end - count + 1
        self._start.setdefault(prefix, first)
        self._next.setdefault(prefix, first)
        self._end[prefix] = end


class BatchState:
    """What one transaction has decided so far: tickets (identity map), numbers, buffers."""

    def __init__(self, conn: AsyncConnection, hints: Counter[str]) -> None:
        self.conn = conn
        self.numbers = Numbers(conn, hints)
        self.tracked: dict[str, Tracked] = {}
        self.buffers = Buffers()
        self.inbox: list[dict[str, Any]] = []
        # the channels of outbox rows the flush queued that are due at once: only such a commit
        # gives the dispatcher work (a row held for later, such as a coalescing notice, is found
        # by its idle probe of the next due time), and only for those channels
        self.outbox_due: set[str] = set()

    async def load(self, key: str) -> Tracked | None:
        found = self.tracked.get(key)
        if found is not None:
            return found
        row = (
            (await self.conn.execute(sa.select(tickets).where(tickets.c.key == key)))
            .mappings()
            .first()
        )
        if row is None:
            return None
        ticket = ticket_from_row(row)
        found = self.tracked[key] = Tracked(ticket, ticket.version, False, ticket.timer_generation)
        return found

    def merge(self, uow: StorageUnitOfWork) -> None:
        for key, ticket in uow.local.items():
            if key in uow.added:
                self.tracked[key] = Tracked(ticket, None, dirty=True)
            elif key in uow.updated:
                tracked = self.tracked[key]
                tracked.ticket = ticket
                tracked.dirty = True
        self.buffers.extend(uow.buffers)


class _Tickets:
    """The unit of work's tickets. It holds the unit's own maps rather than the unit itself: a
    reference back would make every submission a reference cycle, and each one (its tickets,
    events, sends, and through `batch` the whole transaction's) would wait for the cycle
    collector instead of being freed when the batch ends. At a thousand messages a second that
    garbage made collections of 20,000 objects several times a second, 10-27 ms each."""

    def __init__(
        self, batch: BatchState, local: dict[str, Ticket], added: set[str], updated: set[str]
    ) -> None:
        self._batch = batch
        self._local = local
        self._added = added
        self._updated = updated

    async def get(self, key: str) -> Ticket | None:
        mine = self._local.get(key)
        if mine is not None:
            return mine
        tracked = await self._batch.load(key)
        if tracked is None:
            return None
        # a copy, so a submission that fails half-way cannot corrupt the batch's view
        mine = self._local[key] = copy.deepcopy(tracked.ticket)
        return mine

    async def next_number(self, prefix: str) -> int:
        return await self._batch.numbers.take(prefix)

    def add(self, ticket: Ticket) -> None:
        self._local[ticket.key] = ticket
        self._added.add(ticket.key)

    def update(self, ticket: Ticket) -> None:
        # bumped now, not at flush, so cards rendered from this result show the new version
        ticket.version += 1
        self._local[ticket.key] = ticket
        self._updated.add(ticket.key)


class StorageUnitOfWork:
    """core.ports.UnitOfWork for one submission; its writes reach the batch only on success."""

    def __init__(self, batch: BatchState) -> None:
        self.batch = batch
        self.local: dict[str, Ticket] = {}
        self.added: set[str] = set()
        self.updated: set[str] = set()
        self.tickets = _Tickets(batch, self.local, self.added, self.updated)
        self.buffers = Buffers()
        self._collected = 0

    def record(self, event: Event) -> None:
        self.buffers.events.append(event)

    def collect_new_events(self) -> list[Event]:
        events = self.buffers.events
        new, self._collected = events[self._collected :], len(events)
        return new

    def add_comment(self, comment: Comment) -> None:
        self.buffers.comments.append(comment)

    def post_card(self, ticket: Ticket, where: ChannelRef) -> None:
        self.buffers.posts.append((ticket.key, where))

    def refresh_cards(self, ticket: Ticket) -> None:
        self.buffers.refresh[ticket.key] = None

    def relay_comment(self, comment: Comment) -> None:
        self.buffers.relays.append(comment)

    def notify_person(self, notice: PersonNotice) -> None:
        self.buffers.notices.append(notice)

    def send(self, message: Send) -> None:
        """Queue a reminder, escalation or notice; the outbox holds it until deliver_at."""
        self.buffers.sends.append(message)


def _counter(prefix: str) -> str:
    return f"ticket:{prefix}"
