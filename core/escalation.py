"""Escalation chains as configured: who hears about a ticket, when, relative to its SLA targets.

How a chain is frozen onto a ticket and fired lives in `core.escalation_plan`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from core.people import Team
from core.ticket import Priority


class EscalationError(ValueError):
    """A chain or plan that cannot be used as given."""


class Anchor(StrEnum):
    """What a step's offset counts from: ticket creation or an SLA metric's due time."""

    CREATED = "created"
    FIRST_RESPONSE = "first_response"
    NEXT_UPDATE = "next_update"
    RESOLUTION = "resolution"


class RecipientKind(StrEnum):
    ASSIGNEE = "assignee"
    TEAM_LEAD = "team_lead"
    MANAGER = "manager"
    TEAM_CHANNEL = "team_channel"
    PERSON = "person"


_ROLES = frozenset(k.value for k in RecipientKind if k is not RecipientKind.PERSON)


class NoticeKind(StrEnum):
    """What a step sends, and so which card: a reminder (Accept, Snooze) or an escalation."""

    REMINDER = "reminder"
    ESCALATION = "escalation"


@dataclass(frozen=True)
class Recipient:
    kind: RecipientKind
    person_id: str | None = None

    def __post_init__(self) -> None:
        if (self.kind is RecipientKind.PERSON) != (self.person_id is not None):
            raise EscalationError("a person recipient, and only that, names a person id")

    @classmethod
    def parse(cls, text: str) -> Recipient:
        """'assignee', 'team_lead', 'manager', 'team_channel', or anything else as a person id."""
        if text in _ROLES:
            return cls(RecipientKind(text))
        return cls(RecipientKind.PERSON, text)

    def __str__(self) -> str:
        return self.person_id if self.person_id is not None else self.kind.value

    def person(self, assignee_id: str | None, team: Team | None) -> str | None:
        """The person to notify; None for the team channel or when the role is vacant."""
        match self.kind:
            case RecipientKind.ASSIGNEE:
                return assignee_id
            case RecipientKind.TEAM_LEAD:
                return team.lead if team else None
            case RecipientKind.MANAGER:
                return team.manager if team else None
            case RecipientKind.PERSON:
                return self.person_id
        return None


@dataclass(frozen=True)
class EscalationStep:
    offset: timedelta
    anchor: Anchor
    recipient: Recipient
    kind: NoticeKind = NoticeKind.ESCALATION
    also_team_channel: bool = False
    repeat_every: timedelta | None = None
    # None with repeat_every: repeat until acknowledged or resolved
    max_repeats: int | None = None

    def __post_init__(self) -> None:
        if self.repeat_every is not None and self.repeat_every <= timedelta(0):
            raise EscalationError(f"repeat_every must be positive, got {self.repeat_every}")
        if self.max_repeats is not None and self.max_repeats < 0:
            raise EscalationError(f"max_repeats must not be negative, got {self.max_repeats}")


@dataclass(frozen=True)
class EscalationChain:
    id: str
    steps: tuple[EscalationStep, ...]
    urgent_priorities: frozenset[Priority] = frozenset()
