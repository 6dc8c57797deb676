"""The only doors out of core. storage/ and bot/ implement them; tests use fakes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from core.clock import Clock
from core.events import Event
from core.forms import TicketType
from core.people import Directory
from core.ticket import ChannelRef, Comment, Ticket


class TicketRepository(Protocol):
    async def get(self, key: str) -> Ticket | None: ...

    async def next_number(self, prefix: str) -> int:
        """The next free number for a key prefix; unique across every replica."""
        ...

    def add(self, ticket: Ticket) -> None: ...

    def update(self, ticket: Ticket) -> None:
        """Mark changed; storage writes it only if nobody saved a newer version meanwhile."""
        ...


class UnitOfWork(Protocol):
    """One transaction: everything recorded here commits together or not at all."""

    # read-only, so an implementation may hold a more specific repository type
    @property
    def tickets(self) -> TicketRepository: ...

    def record(self, event: Event) -> None: ...

    def add_comment(self, comment: Comment) -> None: ...

    def post_card(self, ticket: Ticket, where: ChannelRef) -> None:
        """Queue the ticket's card for posting there (through the outbox)."""
        ...

    def refresh_cards(self, ticket: Ticket) -> None:
        """Queue an in-place update of every copy of the ticket's card."""
        ...

    def relay_comment(self, comment: Comment) -> None:
        """Queue the comment to the ticket's other conversations (threads, mail)."""
        ...


@dataclass(frozen=True)
class Context:
    """What handlers read besides the unit of work: configuration and time."""

    types: Mapping[str, TicketType]
    directory: Directory
    clock: Clock
