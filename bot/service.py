"""TicketService: the Ports adapters call. Runs core handlers inside the group-commit writer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.contract import CardRenderer, MessageRef
from adapters.ports import RECEIVED_AT, InboundFile, InboundKey, Submitted
from bot.delivery.flight import Cards as _Cards
from bot.delivery.notices import NOTICE_KINDS, NoticeRouter
from bot.metrics import Metrics
from core import chat
from core.bus import handle
from core.card import Card, build_card
from core.chat import Answer
from core.commands import Command, OpenTicket
from core.conversation import ChatCommand, ConversationRules, RecentTicket
from core.errors import DomainError, NotFound
from core.forms import TicketType
from core.i18n import LOCALES, Locale, t
from core.notice_card import stored_notice_cards
from core.people import Person, StaticDirectory
from core.permissions import may_view
from core.ports import Context, UnitOfWork
from core.ticket import ChannelRef, Comment, Ticket
from storage import card_status, outbox, queries, suppressions
from storage.attachments import (
    AttachmentMissing,
    AttachmentStore,
    NewAttachment,
    get_attachment,
    record_attachments,
)
from storage.people import sync_people
from storage.queries import OpenTickets
from storage.unit_of_work import StorageUnitOfWork
from storage.writer import Inbound, Writer

log = logging.getLogger("gongdan.service")

_ACTOR_FIELDS = ("requester_id", "author_id", "actor_id")


class TicketService:
    def __init__(
        self,
        engine: AsyncEngine,
        writer: Writer,
        ctx: Context,
        metrics: Metrics,
        *,
        attachments: AttachmentStore | None = None,
    ) -> None:
        self.engine = engine
        self.writer = writer
        self.ctx = ctx
        self.metrics = metrics
        # None: files are recorded by name and size only (no directory configured)
        self.attachments = attachments
        assert isinstance(ctx.directory, StaticDirectory)
        self.directory: StaticDirectory = ctx.directory
        self._unsaved: dict[str, Person] = {}
        # where people notices go (set by bootstrap once the channels exist); None: nowhere
        self.notice_router: NoticeRouter | None = None
        self.notice_hold = timedelta(seconds=60)
        self._background: set[asyncio.Task[None]] = set()

    @property
    def ticket_types(self) -> Mapping[str, TicketType]:
        return self.ctx.types  # read on every chat message: the configured map itself, read-only

    async def submit(
        self,
        command: Command,
        *,
        inbound: InboundKey | None = None,
        respond: Callable[[Any], Any] | None = None,
    ) -> Submitted:
        ctx = self.ctx
        kind = type(command).__name__

        # People first met on a channel are saved with the first command that names them: one
        # transaction instead of two, and never a ticket whose requester was not stored.
        newcomers = [
            self._unsaved[pid]
            for pid in {getattr(command, a, None) for a in _ACTOR_FIELDS}
            if pid in self._unsaved
        ]

        async def work(uow: UnitOfWork) -> Any:
            if newcomers:
                assert isinstance(uow, StorageUnitOfWork)
                await sync_people(uow.batch.conn, newcomers, ctx.clock.now())
            result = await handle(command, uow, ctx)
            if self.notice_router is not None:
                self.notice_router.route_people(uow, self.notice_hold)
            return result

        reserve = None
        if isinstance(command, OpenTicket):
            ttype = ctx.types.get(command.type_id)
            reserve = ttype.prefix if ttype else None
        key = Inbound(inbound.source, inbound.key, inbound.fingerprint) if inbound else None
        try:
            outcome = await self.writer.submit(work, inbound=key, respond=respond, reserve=reserve)
        except DomainError as exc:
            self.metrics.commands.inc(kind=kind, result=exc.code)
            raise
        if not outcome.duplicate:  # a duplicate ran no work: the background store saves them
            for person in newcomers:
                if self._unsaved.get(person.id) is person:
                    del self._unsaved[person.id]
        if outcome.duplicate:
            self.metrics.inbound_duplicates.inc(source=inbound.source if inbound else "")
            return Submitted(None, True, outcome.response)
        self.metrics.commands.inc(kind=kind, result="ok")
        received = RECEIVED_AT.get()
        if inbound is not None and received is not None:
            source = inbound.source.partition(":")[0]  # "api:<token>" counts as "api"
            self.metrics.inbound_commit.observe(time.perf_counter() - received, source=source)
        return Submitted(outcome.value)

    async def register_person(self, person: Person) -> None:
        """Remember someone met on a channel (an unknown Slack user, a new mail sender).

        They are known at once; they are stored with the first command that names them (or
        with the next writer batch, when nothing names them soon)."""
        if self.directory.person(person.id) == person:
            return
        self.directory.add(person)
        self._unsaved[person.id] = person
        self._store_soon(person)

    def _store_soon(self, person: Person) -> None:
        """Store a person nobody has named yet without making the caller wait for it."""

        async def store() -> None:
            await asyncio.sleep(1.0)  # a command naming them usually comes first and saves them
            if self._unsaved.get(person.id) is not person:
                return
            try:
                await self.writer.run(lambda c: sync_people(c, [person], self.ctx.clock.now()))
            except Exception:
                log.exception(
                    "could not store a person met on a channel", extra={"person": person.id}
                )
                return
            if self._unsaved.get(person.id) is person:
                del self._unsaved[person.id]

        task = asyncio.create_task(store())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        """Store whoever is still unsaved (called before the writer stops)."""
        for task in list(self._background):
            task.cancel()
        waiting = list(self._unsaved.values())
        if waiting:
            await self.writer.run(lambda c: sync_people(c, waiting, self.ctx.clock.now()))
            self._unsaved.clear()

    async def ticket_for_message(self, channel: str, conversation: str, message: str) -> str | None:
        async with self.engine.connect() as conn:
            return await outbox.ticket_for_message(conn, channel, conversation, message)

    async def notify(
        self, where: ChannelRef, text: Mapping[Locale, str], *, ephemeral_to: str | None = None
    ) -> None:
        """Queue a notice (through the outbox like every send), e.g. why a click changed nothing."""
        payload: dict[str, Any] = {"text": dict(text)}
        if ephemeral_to:
            payload["ephemeral_to"] = ephemeral_to
        now = self.ctx.clock.now()
        await self.writer.run(
            lambda conn: outbox.enqueue(
                conn, now, where.channel, "notice", where.to_json(), payload
            ),
            queues_outbox=True,
        )

    async def recent_cards(
        self, channel: str, per_conversation: int
    ) -> list[tuple[MessageRef, CardRenderer]]:
        """The latest cards of each conversation on `channel` (ticket cards and the reminders
        and escalations sent there), oldest first, each with when it was posted, for tickets
        that still exist (a channel that keeps history in memory shows them again)."""
        found: list[tuple[MessageRef, CardRenderer]] = []
        async with self.engine.connect() as conn:
            refs = await outbox.recent_card_refs(conn, channel, per_conversation)
            recorded: set[tuple[str, str]] = set()  # (conversation, notice key) with a card ref
            for ref in refs:
                ticket = await queries.ticket_by_id(conn, ref.ticket_id)
                if ticket is not None:
                    where = MessageRef(
                        channel, ref.conversation, ref.message, ref.thread, posted_at=ref.created_at
                    )
                    if ref.notice is not None:  # a reminder's or escalation's card, kept current
                        recorded.add((ref.conversation, str(ref.notice.get("key"))))
                        found.append((where, stored_notice_cards(ticket, self.ctx, ref.notice)))
                    else:
                        found.append((where, _Cards(ticket, self.ctx)))
            sent = await outbox.recent_notice_cards(conn, channel, NOTICE_KINDS, per_conversation)
            for n in sent:
                ticket = await queries.ticket_by_id(conn, n.ticket_id)
                notice = n.payload.get("notice")
                if (
                    ticket is not None
                    and isinstance(notice, dict)
                    and (n.conversation, str(notice.get("key"))) not in recorded
                ):
                    where = MessageRef(channel, n.conversation, f"n-{n.id}", posted_at=n.sent_at)
                    found.append((where, stored_notice_cards(ticket, self.ctx, notice)))
        found.sort(key=lambda item: item[0].posted_at or datetime.min.replace(tzinfo=UTC))
        return found

    async def thread(self, ticket_key: str, limit: int) -> list[Comment]:
        async with self.engine.connect() as conn:
            stored = await queries.ticket_comments(conn, ticket_key, last=limit)
        return [
            Comment(ticket_key, c.author_id, c.body, c.created_at, c.channel, c.public)
            for c in stored
        ]

    async def answer(self, command: ChatCommand, person: Person) -> Answer:
        """/help, /mine, /queue, /status: read-only, never through the writer."""
        return await chat.answer(command, person, OpenTickets(self.engine), self.directory.teams)

    @property
    def conversation_rules(self) -> ConversationRules:
        return self.ctx.conversation

    async def last_opened(
        self, channel: str, conversation: str, person_id: str, type_id: str | None = None
    ) -> RecentTicket | None:
        since = self.ctx.clock.now() - self.ctx.conversation.follow_up_window
        async with self.engine.connect() as conn:
            found = await queries.last_opened_here(
                conn, channel, conversation, person_id, since, type_id
            )
        return RecentTicket(*found) if found else None

    async def show_card(
        self, ticket_key: str, where: ChannelRef, *, inbound: InboundKey | None = None
    ) -> None:
        """Post the card again, fresh: a post like a new ticket's, through the writer, so the
        copy is recorded (card_refs) and gets every later change and public comment."""
        key = ticket_key.upper()

        async def work(uow: UnitOfWork) -> None:
            ticket = await uow.tickets.get(key)
            if ticket is None:
                raise NotFound(
                    t("err.not_found", "en", key=key),
                    {loc: t("err.not_found", loc, key=key) for loc in LOCALES},
                )
            uow.post_card(ticket, where)

        key_of = Inbound(inbound.source, inbound.key, inbound.fingerprint) if inbound else None
        await self.writer.submit(work, inbound=key_of, respond=lambda _: key)

    async def ticket(self, key: str) -> Ticket | None:
        async with self.engine.connect() as conn:
            return await queries.get_ticket(conn, key)

    async def card(self, ticket_key: str, locale: Locale) -> Card | None:
        ticket = await self.ticket(ticket_key)
        return build_card(ticket, self.ctx, locale) if ticket else None

    async def store_attachments(
        self,
        ticket_key: str,
        files: Sequence[InboundFile],
        *,
        comment_message: str | None = None,
    ) -> list[str]:
        """Write each file that fits the limit, then commit the rows (files first, always)."""
        store = self.attachments
        rows: list[NewAttachment] = []
        for f in files:
            ref = ""
            if store is not None and f.complete and store.keeps(f.size):
                ref = await store.put(f.data)
            rows.append(NewAttachment(f.id, f.filename, f.content_type, f.size, ref))
        now = self.ctx.clock.now()
        await self.writer.run(
            lambda conn: record_attachments(
                conn, ticket_key, rows, now, comment_message=comment_message
            )
        )
        return [r.id for r in rows if r.storage_ref]

    async def read_attachment(self, viewer: Person, attachment_id: str) -> InboundFile | None:
        """A kept file with its bytes, if `viewer` may see its ticket (else None: as if absent)."""
        store = self.attachments
        if store is None or len(attachment_id) > 64:
            return None
        async with self.engine.connect() as conn:
            found = await get_attachment(conn, attachment_id)
            if found is None or not found.stored:
                return None
            if found.ticket_key is not None:
                ticket = await queries.get_ticket(conn, found.ticket_key)
                if ticket is None or not may_view(viewer, ticket, self.directory):
                    return None
        try:
            data = await store.read(found.storage_ref)
        except AttachmentMissing:
            return None
        return InboundFile(found.id, found.filename, found.content_type, len(data), data)

    async def suppress(self, channel: str, address: str, reason: str) -> None:
        now = self.ctx.clock.now()
        await self.writer.run(
            lambda conn: suppressions.suppress(conn, channel, address.lower(), reason, now)
        )

    async def suppressed(self, channel: str) -> set[str]:
        async with self.engine.connect() as conn:
            return await suppressions.suppressed(conn, channel, self.ctx.clock.now())

    async def rendered_status(self, ref: MessageRef) -> str | None:
        async with self.engine.connect() as conn:
            return await card_status.rendered_status(
                conn, ref.channel, ref.conversation, ref.message
            )

    async def remember_status(self, ref: MessageRef, status: str) -> None:
        await self.writer.run(
            lambda conn: card_status.set_rendered_status(
                conn, ref.channel, ref.conversation, ref.message, status
            )
        )
