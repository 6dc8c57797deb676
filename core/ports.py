"""The only doors out of core. storage/ and bot/ implement them; tests use fakes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from core.assignment import AssignmentPolicy, Availability, Workload
from core.calendar import BusinessCalendar
from core.clock import Clock
from core.conversation import ConversationRules
from core.escalation import EscalationChain
from core.events import Event
from core.forms import TicketType
from core.i18n import Locale
from core.people import Directory
from core.sla import SlaPolicy
from core.ticket import ChannelRef, Comment, Priority, Ticket


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

    def collect_new_events(self) -> list[Event]:
        """The events recorded since the last call, in order; they stay recorded for storage."""
        ...

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

    def notify_person(self, notice: PersonNotice) -> None:
        """Queue a one-line notice to a person, wherever notices reach them (their direct room,
        DM); storage coalesces the lines one person gets about one ticket within a minute."""
        ...


@dataclass(frozen=True)
class PersonNotice:
    """One line for one person about one ticket: `text` in that person's language, `texts` in
    every language, so a channel shows the one its reader chose (the web chat's 中文 / EN)."""

    person_id: str
    ticket_key: str
    # a stable name for what is said ("accepted", "taken_over"): the same notice is queued once
    what: str
    text: str
    at: datetime
    texts: Mapping[Locale, str] = field(default_factory=dict)


class TicketReader(Protocol):
    """Read-only questions chat commands ask (/mine, /queue); never through the writer."""

    async def get(self, key: str) -> Ticket | None: ...

    async def open_requested_by(self, person_id: str, limit: int) -> list[Ticket]:
        """The person's open requests, newest first."""
        ...

    async def open_assigned_to(self, person_id: str, limit: int) -> list[Ticket]: ...

    async def open_unassigned(self, team_ids: list[str], limit: int) -> list[Ticket]: ...


@dataclass(frozen=True)
class TeamLoad:
    """What least-loaded and round-robin assignment need to know about a team right now."""

    workload: Workload
    last_assignee: str | None = None


class TeamLoads(Protocol):
    """Open work per team, read from storage at most once per team and refresh period."""

    async def load(self, team_id: str) -> TeamLoad: ...

    def assigned(self, team_id: str, person_id: str, priority: Priority) -> None:
        """Count a decision made just now, before storage can see it."""
        ...


@dataclass(frozen=True)
class SlaChoice:
    """The SLA policy a new ticket gets, with its escalation chain and first-response rule."""

    policy: SlaPolicy
    chain: EscalationChain | None = None
    # which events count as the first response: "accept", "public_reply"
    first_response_counts: frozenset[str] = frozenset({"accept", "public_reply"})


def _no_policy(type_id: str, priority: Priority) -> SlaChoice | None:
    return None


@dataclass(frozen=True)
class Schedule:
    """Time-related configuration: calendars, SLA policies, assignment, quiet hours."""

    timezone: str = "UTC"
    calendars: Mapping[str, BusinessCalendar] = field(default_factory=dict)
    sla_for: Callable[[str, Priority], SlaChoice | None] = _no_policy
    assignment: Mapping[str, AssignmentPolicy] = field(default_factory=dict)
    availability: Mapping[str, Availability] = field(default_factory=dict)
    # each person's working hours for quiet hours (their own calendar, else their team's)
    hours: Mapping[str, BusinessCalendar] = field(default_factory=dict)
    loads: TeamLoads | None = None
    snooze: timedelta = timedelta(minutes=30)


@dataclass(frozen=True)
class Context:
    """What handlers read besides the unit of work: configuration and time."""

    types: Mapping[str, TicketType]
    directory: Directory
    clock: Clock
    schedule: Schedule = field(default_factory=Schedule)
    conversation: ConversationRules = field(default_factory=ConversationRules)
