"""The Ticket aggregate and its default lifecycle."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        return self not in (Status.RESOLVED, Status.CLOSED, Status.CANCELLED)


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    @property
    def weight(self) -> int:
        return {"urgent": 8, "high": 4, "normal": 2, "low": 1}[self.value]


@dataclass(frozen=True)
class ChannelRef:
    """Where something happened or where a message lives: channel + conversation (+ thread).

    `link` is a URL people can open to see that message on its platform (a Slack permalink),
    when the channel has one; it is written to JSON only when set, so older rows still load.
    """

    channel: str
    conversation: str | None = None
    thread: str | None = None
    message: str | None = None
    link: str | None = None

    def to_json(self) -> dict[str, str]:
        # spelled out: this runs for every outbox row and card reference written
        out = {"channel": self.channel}
        if self.conversation is not None:
            out["conversation"] = self.conversation
        if self.thread is not None:
            out["thread"] = self.thread
        if self.message is not None:
            out["message"] = self.message
        if self.link is not None:
            out["link"] = self.link
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChannelRef:
        return cls(
            channel=str(data["channel"]),
            conversation=data.get("conversation"),
            thread=data.get("thread"),
            message=data.get("message"),
            link=data.get("link"),
        )


def ticket_key(prefix: str, number: int) -> str:
    return f"{prefix}-{number}"


@dataclass
class Ticket:
    """One request, from opening to closing. Mutated only by core.workflow and core.handlers."""

    key: str
    type_id: str
    number: int
    title: str
    requester_id: str
    created_at: datetime
    updated_at: datetime
    description: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    priority: Priority = Priority.NORMAL
    status: Status = Status.NEW
    assignee_id: str | None = None
    team_id: str | None = None
    origin: ChannelRef | None = None
    locale: str = "zh-CN"
    watchers: list[str] = field(default_factory=list)
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    # SLA clocks and escalation chain frozen when the clock started; core.timekeeping reads it
    sla: dict[str, Any] | None = None
    # moves on whenever the ticket's timer changes: a timer carrying an older one does nothing
    timer_generation: int = 0
    wake_at: datetime | None = None
    # storage bookkeeping: id is the row id (None until stored), version the optimistic lock
    id: int | None = None
    version: int = 1

    @property
    def is_open(self) -> bool:
        return self.status.is_open


@dataclass(frozen=True)
class Comment:
    ticket_key: str
    author_id: str
    body: str
    created_at: datetime
    channel: ChannelRef
    public: bool = True
