"""Typed events are stored as the same kind and JSON as before, and read back from them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from core.events import (
    EVENT_TYPES,
    CommentAdded,
    Event,
    EventKind,
    PriorityChanged,
    ReminderSent,
    ReminderSnoozed,
    TicketAccepted,
    TicketAssigned,
    TicketEscalated,
    TicketOpened,
    TicketReopened,
    event_from,
)
from core.quiet_hours import DeliveryRoute
from core.ticket import Priority, Status

AT = datetime(2024, 3, 4, 9, 30, tzinfo=UTC)
HEAD: dict[str, Any] = {
    "ticket_key": "IT-1001",
    "at": AT,
    "actor_id": "lilei",
    "channel": "slack",
}

# each event with the data JSON the events table held before events were typed
STORED: list[tuple[Event, dict[str, object]]] = [
    (
        TicketOpened(
            **HEAD,
            type_id="it",
            title="打印机坏了",
            priority=Priority.NORMAL,
            origin={"channel": "slack", "conversation": "C1"},
        ),
        {
            "type": "it",
            "title": "打印机坏了",
            "priority": "normal",
            "origin": {"channel": "slack", "conversation": "C1"},
        },
    ),
    (
        TicketAssigned(**HEAD, assignee_id=None, reason="no lead"),
        {"assignee": None, "reason": "no lead"},
    ),
    (
        TicketAssigned(
            **HEAD,
            assignee_id="alice",
            reason="reassigned by lilei",
            from_status=Status.ACCEPTED,
            previous_id="lilei",
            to_status=Status.ASSIGNED,
        ),
        {
            "from": "accepted",
            "previous": "lilei",
            "assignee": "alice",
            "reason": "reassigned by lilei",
            "to": "assigned",
        },
    ),
    (
        TicketAccepted(**HEAD, from_status=Status.ASSIGNED, to_status=Status.ACCEPTED),
        {"from": "assigned", "to": "accepted"},
    ),
    (
        TicketReopened(**HEAD, from_status=Status.CLOSED, to_status=Status.NEW),
        {"from": "closed", "to": "new"},
    ),
    (
        PriorityChanged(
            **HEAD,
            from_status=Status.NEW,
            previous=Priority.NORMAL,
            priority=Priority.URGENT,
        ),
        {"from": "new", "previous": "normal", "priority": "urgent"},
    ),
    (
        CommentAdded(**HEAD, body="重启一下试试", public=False),
        {"body": "重启一下试试", "public": False},
    ),
    (
        ReminderSnoozed(**HEAD, from_status=Status.ASSIGNED),
        {"from": "assigned"},
    ),
    (
        ReminderSent(
            **HEAD,
            to="lilei",
            step="IT-1001/c:0#0/assignee",
            route=DeliveryRoute.NORMAL,
            deliver_at=AT,
        ),
        {
            "to": "lilei",
            "step": "IT-1001/c:0#0/assignee",
            "route": "normal",
            "deliver_at": "2024-03-04T09:30:00+00:00",
        },
    ),
    (
        TicketEscalated(
            **HEAD,
            to="team_channel",
            step="IT-1001/c:1#0/team_channel",
            route=DeliveryRoute.URGENT,
            deliver_at=AT,
        ),
        {
            "to": "team_channel",
            "step": "IT-1001/c:1#0/team_channel",
            "route": "urgent",
            "deliver_at": "2024-03-04T09:30:00+00:00",
        },
    ),
]


def test_every_kind_has_one_event_type_named_for_it() -> None:
    assert set(EVENT_TYPES) == set(EventKind)
    assert all(cls.__name__ == kind.value for kind, cls in EVENT_TYPES.items())


@pytest.mark.parametrize(("event", "data"), STORED, ids=lambda v: type(v).__name__)
def test_an_event_stores_the_same_json_and_reads_back_from_it(
    event: Event, data: dict[str, object]
) -> None:
    assert json.dumps(event.data, ensure_ascii=False) == json.dumps(data, ensure_ascii=False)
    assert event_from(event.kind.value, data, **HEAD) == event


def test_an_unknown_kind_is_not_read_back() -> None:
    with pytest.raises(ValueError, match="TicketTeleported"):
        event_from("TicketTeleported", {}, **HEAD)


@dataclass(frozen=True, kw_only=True)
class Bare(Event):
    """An event with nothing but the header (none of ours is one yet)."""

    kind: ClassVar[EventKind] = EventKind.TICKET_ACCEPTED


def test_an_event_without_fields_of_its_own_stores_an_empty_object() -> None:
    assert Bare(**HEAD).data == {}
    assert Bare.fields_from({"from": "new"}) == {}
