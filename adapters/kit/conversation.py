"""One door for every chat channel's messages: what a message is (core.conversation) and what
follows from it, through the ports — open a ticket, add to the one the sender just opened here,
comment on a named or quoted ticket, ignore small talk, or run a chat command.

A channel normalises its platform's message into a `ChatInbound`, calls `ChatIntake.take` with a
way to answer the sender quietly (`Reply`), and finishes with what only it can do: acknowledge
the platform, open its own form (`ChatOutcome.form`). The state a follow-up needs — this
sender's last ticket opened in this conversation — is read from the database
(`Conversations.last_opened`), so it holds across restarts and replicas.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from adapters.kit.intake import ELLIPSIS, committed_key, form_prefill, remembered_key, title_from
from adapters.ports import Commands, Conversations, InboundKey, Submitted
from core.chat import closed_line, help_text, unchanged_line
from core.clock import Clock
from core.commands import AddComment, CloseTicket, Command, OpenTicket
from core.conversation import (
    ChatCommand,
    ChatMessage,
    Classification,
    CommandName,
    ConversationView,
    Kind,
    classify,
)
from core.errors import DomainError, FormInvalid
from core.handlers.actions import ActResult
from core.i18n import LOCALES, Locale, t
from core.people import Person
from core.ticket import ChannelRef


class ChatPorts(Commands, Conversations, Protocol):
    """What the kit asks of the bot for chat messages."""


class Reply(Protocol):
    """Tell the sender alone (an ephemeral message, a notice in their browser), quietly."""

    async def __call__(self, text: Mapping[Locale, str], *, error: bool = False) -> None: ...


@dataclass(frozen=True)
class ChatInbound:
    """A chat message as every channel gives it to the kit."""

    person: Person
    where: ChannelRef  # the conversation (and thread, message id): a comment's origin
    text: str  # the bot's mention already taken out
    key: InboundKey  # this delivery's dedupe key: a redelivery changes nothing
    type_id: str  # the ticket type a new ticket gets here
    mentions_bot: bool = False
    direct: bool = False  # a direct message: files like a help desk
    help_desk: bool = False
    card_key: str | None = None  # a reply in a card's thread, a quote of a card: its ticket
    origin: ChannelRef | None = None  # a new ticket's origin when not `where` (a permalink)
    title_marker: str = ELLIPSIS
    # a line kept under the stored text (how it came, e.g. by voice); not read to classify it
    footer: str = ""

    def stored(self, text: str) -> str:
        return f"{text}\n\n{self.footer}" if self.footer else text


@dataclass(frozen=True)
class FormRequest:
    """Open the channel's form: `/new [type]`, or a message that alone made no valid ticket."""

    type_id: str | None
    prefill: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChatOutcome:
    kind: Kind
    ticket: str | None = None  # the ticket the message opened or went to
    form: FormRequest | None = None
    duplicate: bool = False
    refused: bool = False  # core said no; the sender was told why (the reply, as an error)
    comment: str | None = None  # the public comment a message added to `ticket`, as stored


class _Turn:
    """One sender's messages in one conversation, one at a time: the second of two quick
    messages sees the ticket the first opened (committed) and follows up on it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class ChatIntake:
    def __init__(
        self,
        channel: str,
        ports: ChatPorts,
        clock: Clock,
        *,
        before_submit: Callable[[], None] = lambda: None,
        commands: str = "/",
    ) -> None:
        self.channel = channel
        self.ports = ports
        # how a command is typed on this channel, for the examples answers give ("/ticket " on
        # Slack, whose `/new` in a message only points to its slash command)
        self.commands = commands
        self.clock = clock
        # called right before a command goes to the writer (the web chat lets its socket's
        # next frame start then)
        self.before_submit = before_submit
        self._turns: dict[tuple[str, str], _Turn] = {}

    async def take(self, msg: ChatInbound, reply: Reply) -> ChatOutcome:
        """Classify the message and do what it asks; refusals are told to the sender."""
        if not self.ports.conversation_rules.follow_up_window:
            # no follow-ups: nothing a message decides depends on the one before it
            return await self._answered(msg, reply)
        turn_key = (msg.where.conversation or "", msg.person.id)
        turn = self._turns.setdefault(turn_key, _Turn())
        turn.users += 1
        try:
            async with turn.lock:
                return await self._answered(msg, reply)
        finally:
            turn.users -= 1
            if turn.users == 0:
                del self._turns[turn_key]

    async def _answered(self, msg: ChatInbound, reply: Reply) -> ChatOutcome:
        try:
            return await self._take(msg, reply)
        except DomainError as exc:
            await reply(_texts(exc), error=True)
            return ChatOutcome(Kind.IGNORE, refused=True)

    async def _take(self, msg: ChatInbound, reply: Reply) -> ChatOutcome:
        found = await self._classify(msg)
        kind = found.kind
        if kind is Kind.COMMAND:
            assert found.command is not None
            return await self._command(msg, found.command, reply)
        if kind in (Kind.CARD_REPLY, Kind.KEY_MENTION, Kind.FOLLOW_UP):
            assert found.ticket_key is not None
            return await self._comment(msg, found, reply)
        if kind is Kind.NEW_TICKET:
            return await self._open(msg)
        return ChatOutcome(kind)  # chatter, or not addressed to the bot

    async def _classify(self, msg: ChatInbound) -> Classification:
        """Most messages are decided without a read; only one that would open a ticket asks
        whether the sender just opened one here."""
        rules = self.ports.conversation_rules
        prefixes = frozenset(tt.prefix for tt in self.ports.ticket_types.values())
        message = ChatMessage(
            text=msg.text,
            sender_id=msg.person.id,
            conversation=msg.where.conversation or "",
            at=self.clock.now(),
            mentions_bot=msg.mentions_bot,
            card_key=msg.card_key,
        )
        view = ConversationView(prefixes=prefixes, help_desk=msg.help_desk or msg.direct)
        found = classify(message, view, rules)
        if found.kind is not Kind.NEW_TICKET or not rules.follow_up_window:
            return found
        # only a ticket of the type this message would open takes it: a purchase request
        # made through /new in the IT room does not swallow the next IT message
        last = await self.ports.last_opened(
            self.channel, message.conversation, msg.person.id, msg.type_id
        )
        if last is None:
            return found
        return classify(message, replace(view, last_opened=last), rules)

    # ---- comments -------------------------------------------------------------------------
    async def _comment(self, msg: ChatInbound, found: Classification, reply: Reply) -> ChatOutcome:
        assert found.ticket_key is not None
        body = msg.stored(found.body)
        command = AddComment(found.ticket_key, msg.person.id, body, msg.where)
        done = await self._submit(command, msg.key)
        key = committed_key(done) or found.ticket_key
        if not done.duplicate:
            if found.kind is Kind.KEY_MENTION:
                await reply(_say("chat.commented", key=key))
            elif found.kind is Kind.FOLLOW_UP and found.tell:
                window = self.ports.conversation_rules.follow_up_window
                minutes = str(int(window.total_seconds() // 60))
                await reply(_say("chat.follow_up", key=key, minutes=minutes))
        return ChatOutcome(found.kind, key, duplicate=done.duplicate, comment=body)

    # ---- new tickets ------------------------------------------------------------------------
    async def _open(self, msg: ChatInbound) -> ChatOutcome:
        title = title_from(msg.text, marker=msg.title_marker)
        description = msg.stored(msg.text)
        command = OpenTicket(
            type_id=msg.type_id,
            title=title,
            description=description,
            requester_id=msg.person.id,
            origin=msg.origin or msg.where,
        )
        try:
            done = await self._submit(command, msg.key)
        except FormInvalid:
            # the type needs more than a sentence: its form, with the person's words
            form = FormRequest(msg.type_id, form_prefill(title, description))
            return ChatOutcome(Kind.NEW_TICKET, form=form)
        return ChatOutcome(Kind.NEW_TICKET, committed_key(done), duplicate=done.duplicate)

    # ---- commands ---------------------------------------------------------------------------
    async def _command(self, msg: ChatInbound, command: ChatCommand, reply: Reply) -> ChatOutcome:
        name = command.name
        if name is CommandName.NEW:
            type_id = msg.type_id
            if command.type_id is not None:
                found = self._type_named(command.type_id)
                if found is None:  # caught here, before any channel opens a form
                    await reply(self._no_such_type(command.type_id), error=True)
                    return ChatOutcome(Kind.COMMAND, refused=True)
                type_id = found
            return ChatOutcome(Kind.COMMAND, form=FormRequest(type_id))
        if name is CommandName.STATUS and command.key:
            # here, in the thread it was asked in: the card, fresh, and kept up to date; the
            # asking message is named, so a platform that keys card instances (DingTalk) posts
            # a new one instead of finding the card already in the chat
            where = ChannelRef(
                self.channel,
                msg.where.conversation,
                thread=msg.where.thread,
                message=msg.where.message,
            )
            await self.ports.show_card(command.key, where, inbound=msg.key)
            return ChatOutcome(Kind.COMMAND, command.key)
        if name is CommandName.CLOSE and command.key:
            close = CloseTicket(command.key, msg.person.id, msg.where)
            done = await self._submit(close, msg.key)
            result = done.value
            if isinstance(result, ActResult):
                # either way the answer names the ticket: what closing it did (closed, or
                # cancelled as it was still open), or that it was finished already
                line = closed_line if result.changed else unchanged_line
                await reply({loc: line(result.ticket, loc) for loc in LOCALES})
            return ChatOutcome(Kind.COMMAND, command.key, duplicate=done.duplicate)
        if name is CommandName.NOTE and command.key:
            note = AddComment(command.key, msg.person.id, command.text, msg.where, public=False)
            done = await self._submit(note, msg.key)
            if not done.duplicate:
                await reply(_say("chat.noted", key=command.key))
            return ChatOutcome(Kind.COMMAND, command.key, duplicate=done.duplicate)
        if name is CommandName.HELP:  # no read: both languages at once
            text = {
                loc: help_text(loc, unknown=command.unknown, usage_of=command.usage_of)
                for loc in LOCALES
            }
            await reply(text)
            return ChatOutcome(Kind.COMMAND)
        # /mine, /queue: one read per language, so each reader sees their own
        answers = {
            loc: (await self.ports.answer(command, replace(msg.person, locale=loc))).text
            for loc in LOCALES
        }
        await reply(answers)
        return ChatOutcome(Kind.COMMAND)

    def _type_named(self, typed: str) -> str | None:
        """The ticket type `/new <typed>` means: its id or its name, in any case."""
        wanted = typed.casefold()
        for ttype in self.ports.ticket_types.values():
            names = (ttype.id, ttype.name.get("zh-CN"), ttype.name.get("en"))
            if wanted in (n.casefold() for n in names):
                return ttype.id
        return None

    def _no_such_type(self, typed: str) -> dict[Locale, str]:
        types = self.ports.ticket_types.values()
        return {
            loc: t(
                "chat.no_such_type",
                loc,
                type=typed,
                types=t("chat.list_separator", loc).join(
                    t("chat.type_item", loc, id=tt.id, name=tt.name.get(loc)) for tt in types
                ),
                example=f"{self.commands}new {next(iter(self.ports.ticket_types), '')}",
            )
            for loc in LOCALES
        }

    async def _submit(self, command: Command, key: InboundKey) -> Submitted:
        self.before_submit()
        return await self.ports.submit(command, inbound=key, respond=remembered_key)


def _say(text_id: str, **values: str) -> dict[Locale, str]:
    return {loc: t(text_id, loc, **values) for loc in LOCALES}


def _texts(exc: DomainError) -> dict[Locale, str]:
    """A refusal in every language core gave it in (else as it is)."""
    return {loc: exc.text(loc) for loc in LOCALES}
