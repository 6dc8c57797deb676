"""Domain events: what happened, past tense. Stored append-only as the audit trail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from core.workflow import Action


class EventKind(StrEnum):
    TICKET_OPENED = "TicketOpened"
    TICKET_ASSIGNED = "TicketAssigned"
    TICKET_ACCEPTED = "TicketAccepted"
    TICKET_CLAIMED = "TicketClaimed"
    WORK_STARTED = "WorkStarted"
    TICKET_PUT_ON_HOLD = "TicketPutOnHold"
    WORK_RESUMED = "WorkResumed"
    TICKET_RESOLVED = "TicketResolved"
    TICKET_CLOSED = "TicketClosed"
    TICKET_REOPENED = "TicketReopened"
    TICKET_CANCELLED = "TicketCancelled"
    PRIORITY_CHANGED = "PriorityChanged"
    COMMENT_ADDED = "CommentAdded"
    REMINDER_SNOOZED = "ReminderSnoozed"
    REMINDER_SENT = "ReminderSent"
    TICKET_ESCALATED = "TicketEscalated"


EVENT_FOR_ACTION: dict[Action, EventKind] = {
    Action.ASSIGN: EventKind.TICKET_ASSIGNED,
    Action.ACCEPT: EventKind.TICKET_ACCEPTED,
    Action.CLAIM: EventKind.TICKET_CLAIMED,
    Action.START: EventKind.WORK_STARTED,
    Action.WAIT: EventKind.TICKET_PUT_ON_HOLD,
    Action.RESUME: EventKind.WORK_RESUMED,
    Action.RESOLVE: EventKind.TICKET_RESOLVED,
    Action.CLOSE: EventKind.TICKET_CLOSED,
    Action.REOPEN: EventKind.TICKET_REOPENED,
    Action.CANCEL: EventKind.TICKET_CANCELLED,
    Action.SET_PRIORITY: EventKind.PRIORITY_CHANGED,
    Action.COMMENT: EventKind.COMMENT_ADDED,
    Action.SNOOZE: EventKind.REMINDER_SNOOZED,
}


@dataclass(frozen=True)
class Event:
    kind: EventKind
    ticket_key: str
    at: datetime
    actor_id: str | None  # None: the system (a rule, a timer)
    channel: str
    data: Mapping[str, Any] = field(default_factory=dict)
