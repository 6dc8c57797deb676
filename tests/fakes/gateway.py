"""A Ports double for adapter tests that only need the people directory."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from adapters.contract import MessageRef
from adapters.ports import InboundFile, InboundKey, Submitted
from core.card import Card
from core.chat import Answer
from core.commands import Command
from core.conversation import ChatCommand, ConversationRules, RecentTicket
from core.forms import TicketType
from core.i18n import Locale
from core.people import Person, StaticDirectory
from core.ticket import ChannelRef


class DirectoryGateway:
    """A Ports for adapter tests that only meet people: a directory that register_person
    adds to (and records); every other port answers "nothing"."""

    def __init__(self, people: list[Person]) -> None:
        self._directory = StaticDirectory(people)
        self.registered: list[Person] = []

    @property
    def directory(self) -> StaticDirectory:
        return self._directory

    @property
    def ticket_types(self) -> dict[str, TicketType]:
        return {}

    async def submit(
        self,
        command: Command,
        *,
        inbound: InboundKey | None = None,
        respond: Callable[[Any], Any] | None = None,
    ) -> Submitted:
        raise AssertionError("not used")

    async def card(self, ticket_key: str, locale: Locale) -> Card | None:
        return None

    async def register_person(self, person: Person) -> None:
        self.registered.append(person)
        self._directory.add(person)

    async def ticket_for_message(self, channel: str, conversation: str, message: str) -> str | None:
        return None

    async def notify(
        self, where: ChannelRef, text: Mapping[Locale, str], *, ephemeral_to: str | None = None
    ) -> None:
        return None

    async def store_attachments(
        self, ticket_key: str, files: Sequence[InboundFile], *, comment_message: str | None = None
    ) -> list[str]:
        return []

    async def suppress(self, channel: str, address: str, reason: str) -> None:
        return None

    async def suppressed(self, channel: str) -> set[str]:
        return set()

    async def rendered_status(self, ref: MessageRef) -> str | None:
        return None

    async def remember_status(self, ref: MessageRef, status: str) -> None:
        return None

    @property
    def conversation_rules(self) -> ConversationRules:
        return ConversationRules()

    async def last_opened(
        self, channel: str, conversation: str, person_id: str, type_id: str | None = None
    ) -> RecentTicket | None:
        return None

    async def answer(self, command: ChatCommand, person: Person) -> Answer:
        raise AssertionError("not used")

    async def show_card(
        self, ticket_key: str, where: ChannelRef, *, inbound: InboundKey | None = None
    ) -> None:
        raise AssertionError("not used")
