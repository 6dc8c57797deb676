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


@dataclass(frozen=True)
class ActOnTicket:
    key: str
    action: Action
    actor_id: str
    origin: ChannelRef
    # assign: {"assignee": person_id}; set_priority: {"priority": "high"}; comment: {"body": ...}
    params: Mapping[str, Any] = field(default_factory=dict)
    # the version the actor saw (a card carries it); lets core explain a stale click
    seen_version: int | None = None


@dataclass(frozen=True)
class AddComment:
    key: str
    author_id: str
    body: str
    origin: ChannelRef
    public: bool = True


Command = OpenTicket | ActOnTicket | AddComment
