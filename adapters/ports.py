"""The narrow ports through which channels reach the ticket core; each adapter asks only for
the ones it uses. The bot's TicketService (bot/service.py) implements all of them."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from core.card import Card
from core.chat import Answer
from core.commands import Command
from core.conversation import ChatCommand, ConversationRules, RecentTicket
from core.forms import TicketType
from core.i18n import Locale
from core.people import Directory, Person
from core.ticket import ChannelRef, Comment

if TYPE_CHECKING:
    from adapters.contract import CardRenderer, MessageRef


# When the delivery being handled came off the wire (time.perf_counter()), set by whatever read
# it (a socket reader before it starts the frame's task, the HTTP middleware for a request).
# The service measures arrival to commit from it: gongdan_inbound_commit_seconds.
RECEIVED_AT: ContextVar[float | None] = ContextVar("gongdan_received_at", default=None)


def mark_received() -> None:
    """Stamp the current context (and the tasks it starts from now on) as just received."""
    RECEIVED_AT.set(time.perf_counter())


@dataclass(frozen=True)
class InboundKey:
    """Identifies one inbound delivery for dedupe: (source, key). Fingerprint guards key reuse."""

    source: str
    key: str
    fingerprint: str = ""


@dataclass(frozen=True)
class Submitted:
    """What the Commands port did with a command: its result, or that it was a duplicate."""

    value: Any
    duplicate: bool = False
    response: Any = None


@dataclass(frozen=True)
class InboundFile:
    """A file that came with a message. `data` is empty when it was over the size limit."""

    id: str
    filename: str
    content_type: str
    size: int
    data: bytes = b""

    @property
    def complete(self) -> bool:
        return self.size > 0 and len(self.data) == self.size


def attachment_id(source: str, key: str, index: int) -> str:
    """The id of a message's index-th file (from 1): the same on every redelivery, so storing a
    retried message's files again changes nothing; files of one message sort by index."""
    digest = hashlib.sha256(f"{source}\x00{key}".encode()).hexdigest()
    return f"{digest[:24]}-{index:04d}"


class Commands(Protocol):
    """Commit core commands (after dedupe) and queue notices."""

    @property
    def ticket_types(self) -> Mapping[str, TicketType]: ...

    async def submit(
        self,
        command: Command,
        *,
        inbound: InboundKey | None = None,
        respond: Callable[[Any], Any] | None = None,
    ) -> Submitted:
        """Run the command in one transaction; returns after commit. Raises core DomainErrors."""
        ...

    async def notify(
        self, where: ChannelRef, text: Mapping[Locale, str], *, ephemeral_to: str | None = None
    ) -> None:
        """Queue a notice through the outbox (ephemeral_to: only that platform user sees it)."""
        ...


class People(Protocol):
    """Who is who: the directory, and people first met on a channel."""

    @property
    def directory(self) -> Directory: ...

    async def register_person(self, person: Person) -> None:
        """Remember a person first met on a channel (persisted; later lookups find them)."""
        ...


class Cards(Protocol):
    """Read what cards show and where they live."""

    async def card(self, ticket_key: str, locale: Locale) -> Card | None: ...

    async def ticket_for_message(self, channel: str, conversation: str, message: str) -> str | None:
        """The ticket whose card is that message, so replies in its thread become comments."""
        ...

    async def recent_cards(
        self, channel: str, per_conversation: int
    ) -> list[tuple[MessageRef, CardRenderer]]:
        """The latest cards posted in each conversation, oldest first, to show again."""
        ...

    async def thread(self, ticket_key: str, limit: int) -> list[Comment]:
        """A ticket's latest comments (internal notes included), oldest first, to show again
        under its card; the channel decides who may see a note."""
        ...


class CardStatus(Protocol):
    """The status a posted card last showed, where the channel decides whether to send again
    (email mails a status change once). Platform handles go in MessageRef.state instead."""

    async def rendered_status(self, ref: MessageRef) -> str | None:
        """The ticket status that posted card last showed (None: not recorded)."""
        ...

    async def remember_status(self, ref: MessageRef, status: str) -> None: ...


class Files(Protocol):
    async def store_attachments(
        self,
        ticket_key: str,
        files: Sequence[InboundFile],
        *,
        comment_message: str | None = None,
    ) -> list[str]:
        """Keep the files of a committed ticket or comment (the comment that arrived as
        `comment_message`); returns the ids of those kept in full. Safe to repeat."""
        ...


class Downloads(Protocol):
    async def read_attachment(self, viewer: Person, attachment_id: str) -> InboundFile | None:
        """A kept file with its bytes, if `viewer` may see its ticket (else None, as if absent)."""
        ...


class Suppressions(Protocol):
    async def suppress(self, channel: str, address: str, reason: str) -> None:
        """Stop sending to an address on that channel, across restarts."""
        ...

    async def suppressed(self, channel: str) -> set[str]:
        """The channel's addresses that must get nothing."""
        ...


class Conversations(Protocol):
    """What the chat kit reads to tell a command, a follow-up or a new ticket apart, and what
    it answers chat commands with."""

    @property
    def conversation_rules(self) -> ConversationRules: ...

    async def last_opened(
        self, channel: str, conversation: str, person_id: str, type_id: str | None = None
    ) -> RecentTicket | None:
        """This person's last ticket (of `type_id`, when given) opened in that conversation
        within the follow-up window (read from the database: it holds across restarts and
        replicas)."""
        ...

    async def answer(self, command: ChatCommand, person: Person) -> Answer:
        """/help, /mine, /queue, /status, in the person's language (NotFound: no such key)."""
        ...

    async def show_card(
        self, ticket_key: str, where: ChannelRef, *, inbound: InboundKey | None = None
    ) -> None:
        """Post the ticket's card there again, fresh (through the outbox; NotFound: no such
        key; a redelivery of `inbound` posts nothing more). The new copy gets the ticket's
        changes and public comments like any other."""
        ...


class Ports(
    Commands, People, Cards, CardStatus, Files, Downloads, Suppressions, Conversations, Protocol
):
    """Every port at once: what the bot's service offers (a channel keeps the ones it uses)."""
