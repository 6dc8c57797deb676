"""Domain events: what happened, past tense. Stored append-only as the audit trail.

Each event is a frozen dataclass with the common header (ticket, when, who, through which
channel) and its own typed fields. The events table stores `kind` and `data` (JSON) exactly as
before typed events existed; `event_from` rebuilds an event from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from core.quiet_hours import DeliveryRoute
from core.ticket import Priority, Status
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
    TICKET_TAKEN_OVER = "TicketTakenOver"
    TICKET_EDITED = "TicketEdited"


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


@dataclass(frozen=True, kw_only=True)
class Event:
    """The header every event has. Subclasses add their fields and say how they are stored."""

    kind: ClassVar[EventKind]
    ticket_key: str
    at: datetime
    actor_id: str | None  # None: the system (a rule, a timer)
    channel: str

    @property
    def data(self) -> dict[str, Any]:
        """The event's own fields as the JSON the events table stores."""
        return {}

    @classmethod
    def fields_from(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        """The subclass's own fields read back from stored `data`."""
        return {}


@dataclass(frozen=True, kw_only=True)
class TicketOpened(Event):
    kind: ClassVar[EventKind] = EventKind.TICKET_OPENED
    type_id: str
    title: str
    priority: Priority
    origin: Mapping[str, Any]

    @property
    def data(self) -> dict[str, Any]:
        return {
            "type": self.type_id,
            "title": self.title,
            "priority": self.priority.value,
            "origin": dict(self.origin),
        }

    @classmethod
    def fields_from(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "type_id": data["type"],
            "title": data["title"],
            "priority": Priority(data["priority"]),
            "origin": dict(data["origin"]),
        }


@dataclass(frozen=True, kw_only=True)
class TicketAssigned(Event):
    """Opening's assignment decision (from_status None), or a person reassigning the ticket."""

    kind: ClassVar[EventKind] = EventKind.TICKET_ASSIGNED
    assignee_id: str | None
    reason: str
    from_status: Status | None = None
    previous_id: str | None = None
    to_status: Status | None = None

    @property
    def data(self) -> dict[str, Any]:
        if self.from_status is None:
            return {"assignee": self.assignee_id, "reason": self.reason}
        return {
            "from": self.from_status.value,
            "previous": self.previous_id,
            "assignee": self.assignee_id,
            "reason": self.reason,
            "to": self.to_status.value if self.to_status else None,
        }

    @classmethod
    def fields_from(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "assignee_id": data.get("assignee"),
            "reason": data.get("reason", ""),
            "from_status": Status(data["from"]) if "from" in data else None,
            "previous_id": data.get("previous"),
            "to_status": Status(data["to"]) if data.get("to") else None,
        }


@dataclass(frozen=True, kw_only=True)
class StatusChanged(Event):
    """A workflow action moved the ticket from one status to another."""

    from_status: Status
    to_status: Status
    # what the actor wrote with it: the question when waiting, the resolution when resolving
    note: str = ""

    @property
    def data(self) -> dict[str, Any]:
        data = {"from": self.from_status.value, "to": self.to_status.value}
        if self.note:  # only when there is one, so older rows and readers keep their shape
            data["note"] = self.note
        return data

    @classmethod
    def fields_from(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "from_status": Status(data["from"]),
            "to_status": Status(data["to"]),
            "note": str(data.get("note", "")),
        }


@dataclass(frozen=True, kw_only=True)
class TicketAccepted(StatusChanged):
    kind: ClassVar[EventKind] = EventKind.TICKET_ACCEPTED


@dataclass(frozen=True, kw_only=True)
class TicketClaimed(StatusChanged):
    kind: ClassVar[EventKind] = EventKind.TICKET_CLAIMED


@dataclass(frozen=True, kw_only=True)
class WorkStarted(StatusChanged):
    kind: ClassVar[EventKind] = EventKind.WORK_STARTED


@dataclass(frozen=True, kw_only=True)
class TicketPutOnHold(StatusChanged):
    kind: ClassVar[EventKind] = EventKind.TICKET_PUT_ON_HOLD


@dataclass(frozen=True, kw_only=True)
class WorkResumed(StatusChanged):
    kind: ClassVar[EventKind] = EventKind.WORK_RESUMED


@dataclass(frozen=True, kw_only=True)
class TicketResolved(StatusChanged):
    kind: ClassVar[EventKind] = EventKind.TICKET_RESOLVED


@dataclass(frozen=True, kw_only=True)
class TicketClosed(StatusChanged):
    kind: ClassVar[EventKind] = EventKind.TICKET_CLOSED


@dataclass(frozen=True, kw_only=True)
class TicketReopened(StatusChanged):
    kind: ClassVar[EventKind] = EventKind.TICKET_REOPENED


@dataclass(frozen=True, kw_only=True)
class TicketCancelled(StatusChanged):
    kind: ClassVar[EventKind] = EventKind.TICKET_CANCELLED


@dataclass(frozen=True, kw_only=True)
class TicketTakenOver(Event):
    """Someone accepted or claimed a ticket another person held (recorded beside the accept)."""

    kind: ClassVar[EventKind] = EventKind.TICKET_TAKEN_OVER
    previous_id: str
    assignee_id: str

    @property
    def data(self) -> dict[str, Any]:
        return {"previous": self.previous_id, "assignee": self.assignee_id}

    @classmethod
    def fields_from(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"previous_id": data["previous"], "assignee_id": data["assignee"]}


@dataclass(frozen=True, kw_only=True)
class TicketEdited(Event):
    """Title, description, priority, type or form fields changed after opening."""

    kind: ClassVar[EventKind] = EventKind.TICKET_EDITED
    # field name -> {"from": old, "to": new}; form fields are named "fields.<id>"
    changes: Mapping[str, Mapping[str, Any]]

    @property
    def data(self) -> dict[str, Any]:
        return {"changes": {k: dict(v) for k, v in self.changes.items()}}

    @classmethod
    def fields_from(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"changes": {k: dict(v) for k, v in data["changes"].items()}}


@dataclass(frozen=True, kw_only=True)
class PriorityChanged(Event):
    kind: ClassVar[EventKind] = EventKind.PRIORITY_CHANGED
    from_status: Status
    previous: Priority
    priority: Priority

    @property
    def data(self) -> dict[str, Any]:
        return {
            "from": self.from_status.value,
            "previous": self.previous.value,
            "priority": self.priority.value,
        }

    @classmethod
    def fields_from(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "from_status": Status(data["from"]),
            "previous": Priority(data["previous"]),
            "priority": Priority(data["priority"]),
        }


@dataclass(frozen=True, kw_only=True)
class CommentAdded(Event):
    kind: ClassVar[EventKind] = EventKind.COMMENT_ADDED
    body: str
    public: bool

    @property
    def data(self) -> dict[str, Any]:
        return {"body": self.body, "public": self.public}

    @classmethod
    def fields_from(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"body": data["body"], "public": data["public"]}


@dataclass(frozen=True, kw_only=True)
class ReminderSnoozed(Event):
    kind: ClassVar[EventKind] = EventKind.REMINDER_SNOOZED
    from_status: Status

    @property
    def data(self) -> dict[str, Any]:
        return {"from": self.from_status.value}

    @classmethod
    def fields_from(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"from_status": Status(data["from"])}


@dataclass(frozen=True, kw_only=True)
class NoticeSent(Event):
    """A timer sent a reminder or an escalation (to a person, or the team's chat)."""

    to: str  # a person id, or "team_channel"
    step: str  # the notice's stable key
    route: DeliveryRoute
    deliver_at: datetime

    @property
    def data(self) -> dict[str, Any]:
        return {
            "to": self.to,
            "step": self.step,
            "route": self.route.value,
            "deliver_at": self.deliver_at.isoformat(),
        }

    @classmethod
    def fields_from(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "to": data["to"],
            "step": data["step"],
            "route": DeliveryRoute(data["route"]),
            "deliver_at": datetime.fromisoformat(data["deliver_at"]),
        }


@dataclass(frozen=True, kw_only=True)
class ReminderSent(NoticeSent):
    kind: ClassVar[EventKind] = EventKind.REMINDER_SENT


@dataclass(frozen=True, kw_only=True)
class TicketEscalated(NoticeSent):
    kind: ClassVar[EventKind] = EventKind.TICKET_ESCALATED


EVENT_TYPES: dict[EventKind, type[Event]] = {
    cls.kind: cls
    for cls in (
        TicketOpened,
        TicketAssigned,
        TicketAccepted,
        TicketClaimed,
        WorkStarted,
        TicketPutOnHold,
        WorkResumed,
        TicketResolved,
        TicketClosed,
        TicketReopened,
        TicketCancelled,
        PriorityChanged,
        CommentAdded,
        ReminderSnoozed,
        ReminderSent,
        TicketEscalated,
        TicketTakenOver,
        TicketEdited,
    )
}


def event_from(
    kind: str,
    data: Mapping[str, Any],
    *,
    ticket_key: str,
    at: datetime,
    actor_id: str | None,
    channel: str,
) -> Event:
    """Rebuild a stored event from its kind and data (raises KeyError or ValueError if unknown)."""
    cls = EVENT_TYPES[EventKind(kind)]
    return cls(
        ticket_key=ticket_key, at=at, actor_id=actor_id, channel=channel, **cls.fields_from(data)
    )
