"""Commands: what someone asks core to do. Imperative names; every channel produces these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.ticket import ChannelRef
from core.workflow import Action


@dataclass(frozen=True)
class OpenTicket:
    type_id: str
    title: str
    requester_id: str
    origin: ChannelRef
    description: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)
    priority: str | None = None
    # post the ticket's card back where it was raised (chat channels do, the REST API does not)
    post_card: bool = True


# What a button or request carries besides the action itself, typed per action. A channel
# parses its payload into one of these; an action that takes no input carries None.


@dataclass(frozen=True)
class Assign:
    assignee_id: str


@dataclass(frozen=True)
class SetPriority:
    priority: str  # checked by core: one of core.ticket.Priority's values


@dataclass(frozen=True)
class WriteComment:
    body: str
    public: bool = True


ActionParams = Assign | SetPriority | WriteComment | None


@dataclass(frozen=True)
class ActOnTicket:
    key: str
    action: Action
    actor_id: str
    origin: ChannelRef
    params: ActionParams = None
    # the version the actor saw (a card carries it); lets core explain a stale click
    seen_version: int | None = None


@dataclass(frozen=True)
class AddComment:
    key: str
    author_id: str
    body: str
    origin: ChannelRef
    public: bool = True


@dataclass(frozen=True)
class CloseTicket:
    """`/close KEY`: close a resolved ticket, or withdraw (cancel) one still open."""

    key: str
    actor_id: str
    origin: ChannelRef


@dataclass(frozen=True)
class EditTicket:
    """Change what was filed. None: leave as is; `fields` are merged into the current answers."""

    key: str
    actor_id: str
    origin: ChannelRef
    title: str | None = None
    description: str | None = None
    priority: str | None = None
    type_id: str | None = None
    fields: Mapping[str, Any] | None = None
    # the version the editor saw (REST If-Match); another one is a conflict, not a silent overwrite
    expected_version: int | None = None


@dataclass(frozen=True)
class FireTimer:
    """A ticket's timer went off; `generation` is the one it was set for (a stale one does nothing)."""

    key: str
    generation: int


Command = OpenTicket | ActOnTicket | AddComment | CloseTicket | EditTicket | FireTimer
