"""The contract every channel implements, and the door it uses to reach the ticket core.

A channel adapter:
- inbound: verifies what the platform sends, turns it into core commands and hands them to the
  Gateway (which dedupes and commits them before the adapter acknowledges the platform);
- outbound: renders a core Card in its platform's format, posts it, updates it in place, and sends
  notices. It never touches storage: the bot's outbox dispatcher calls it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from core.card import Card
from core.commands import Command
from core.forms import TicketType
from core.i18n import Locale
from core.people import Directory, Person
from core.ticket import ChannelRef


@dataclass(frozen=True)
class MessageRef:
    """Where a posted message lives, so it can be updated later."""

    channel: str
    conversation: str
    message: str
    thread: str | None = None


@dataclass(frozen=True)
class InboundKey:
    """Identifies one inbound delivery for dedupe: (source, key). Fingerprint guards key reuse."""

    source: str
    key: str
    fingerprint: str = ""


@dataclass(frozen=True)
class Submitted:
    """What the Gateway did with a command: its result, or that it was a duplicate."""

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


class DeliveryError(Exception):
    """An outbound call failed. retry_after: the platform asked us to wait (429)."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class Gateway(Protocol):
    """What the bot offers adapters: commit commands, and read what cards need."""

    @property
    def directory(self) -> Directory: ...

    @property
    def ticket_types(self) -> dict[str, TicketType]: ...

    async def submit(
        self,
        command: Command,
        *,
        inbound: InboundKey | None = None,
        respond: Callable[[Any], Any] | None = None,
    ) -> Submitted:
        """Run the command in one transaction; returns after commit. Raises core DomainErrors."""
        ...

    async def card(self, ticket_key: str, locale: Locale) -> Card | None: ...

    async def register_person(self, person: Person) -> None:
        """Remember a person first met on a channel (persisted; later lookups find them)."""
        ...

    async def ticket_for_message(self, channel: str, conversation: str, message: str) -> str | None:
        """The ticket whose card is that message, so replies in its thread become comments."""
        ...

    async def notify(
        self, where: ChannelRef, text: Mapping[Locale, str], *, ephemeral_to: str | None = None
    ) -> None:
        """Queue a notice through the outbox (ephemeral_to: only that platform user sees it)."""
        ...

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

    async def suppress(self, channel: str, address: str, reason: str) -> None:
        """Stop sending to an address on that channel, across restarts."""
        ...

    async def suppressed(self, channel: str) -> set[str]:
        """The channel's addresses that must get nothing."""
        ...

    async def rendered_status(self, ref: MessageRef) -> str | None:
        """The ticket status that posted card last showed (None: not recorded)."""
        ...

    async def remember_status(self, ref: MessageRef, status: str) -> None: ...


CardRenderer = Callable[[Locale], Card]


class Channel(Protocol):
    """One chat platform. Outbound methods raise DeliveryError on failure."""

    name: str

    def routes(self) -> list[web.AbstractRouteDef]:
        """HTTP routes the channel needs mounted on the service (may be empty)."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def post_card(self, where: ChannelRef, cards: CardRenderer) -> MessageRef: ...

    async def update_card(self, ref: MessageRef, cards: CardRenderer) -> None: ...

    async def post_text(
        self, where: ChannelRef, text: dict[Locale, str], *, ephemeral_to: str | None = None
    ) -> MessageRef | None:
        """Post plain text (comments relayed from other channels, notices)."""
        ...
