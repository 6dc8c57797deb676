"""The message bus: every command has one handler, and subscribers hear each event once, after it."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from core.bus import COMMAND_HANDLERS, EVENT_HANDLERS, handle
from core.commands import Command, FireTimer
from core.events import (
    EVENT_TYPES,
    CommentAdded,
    Event,
    TicketAccepted,
    TicketAssigned,
    TicketOpened,
)
from core.ports import Context, UnitOfWork
from core.workflow import Action
from tests.unit.core.fakes import SLACK, FakeUnitOfWork, make_context, opened, press


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def ctx() -> Context:
    return make_context()


class Heard:
    """A subscriber that writes down what it heard and what the command had done by then."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.refreshed_then: list[list[str]] = []

    async def __call__(self, event: Event, uow: UnitOfWork, ctx: Context) -> None:
        assert isinstance(uow, FakeUnitOfWork)
        self.events.append(event)
        self.refreshed_then.append(list(uow.refreshed_cards))


def subscribe(monkeypatch: pytest.MonkeyPatch, event: type[Event], subscriber: Any) -> None:
    monkeypatch.setitem(EVENT_HANDLERS, event, [*EVENT_HANDLERS[event], subscriber])


def test_every_command_has_a_handler_and_every_event_a_subscriber_list() -> None:
    assert set(COMMAND_HANDLERS) == set(get_args(Command))
    assert set(EVENT_HANDLERS) == set(EVENT_TYPES.values())


async def test_a_subscriber_hears_each_event_once_after_the_command_is_done(
    uow: FakeUnitOfWork, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = await opened(uow, ctx)
    heard = Heard()
    subscribe(monkeypatch, TicketAccepted, heard)

    await press(uow, ctx, ticket.key, Action.ACCEPT, "wangfang")

    assert heard.events == [uow.events[-1]]
    assert isinstance(heard.events[0], TicketAccepted)
    # the handler had finished (its card refresh queued) before the subscriber ran
    assert heard.refreshed_then == [[ticket.key]]


async def test_a_click_that_changes_nothing_tells_no_subscriber(
    uow: FakeUnitOfWork, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = await opened(uow, ctx)
    await press(uow, ctx, ticket.key, Action.ACCEPT, "wangfang")
    heard = Heard()
    subscribe(monkeypatch, TicketAccepted, heard)

    again = await press(uow, ctx, ticket.key, Action.ACCEPT, "wangfang")

    assert not again.changed
    assert heard.events == []


async def test_events_reach_subscribers_in_the_order_they_were_recorded(
    uow: FakeUnitOfWork, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    heard = Heard()
    subscribe(monkeypatch, TicketOpened, heard)
    subscribe(monkeypatch, TicketAssigned, heard)

    ticket = await opened(uow, ctx)

    assert [type(e) for e in heard.events] == [TicketOpened, TicketAssigned]
    assert ticket.assignee_id == "wangfang"


async def test_an_event_a_subscriber_records_is_dispatched_after_those_before_it(
    uow: FakeUnitOfWork, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    heard = Heard()

    async def note_opening(event: TicketOpened, uow: UnitOfWork, ctx: Context) -> None:
        uow.record(
            CommentAdded(
                ticket_key=event.ticket_key,
                at=event.at,
                actor_id=None,
                channel="rule",
                body="auto-reply",
                public=True,
            )
        )

    subscribe(monkeypatch, TicketOpened, note_opening)
    for event in (TicketOpened, TicketAssigned, CommentAdded):
        subscribe(monkeypatch, event, heard)

    await opened(uow, ctx)

    assert [type(e) for e in heard.events] == [TicketOpened, TicketAssigned, CommentAdded]
    assert uow.events == heard.events


async def test_a_failing_subscriber_fails_the_command(
    uow: FakeUnitOfWork, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(event: Event, uow: UnitOfWork, ctx: Context) -> None:
        raise RuntimeError("rule failed")

    subscribe(monkeypatch, TicketOpened, broken)

    with pytest.raises(RuntimeError, match="rule failed"):
        await opened(uow, ctx)


async def test_a_timer_is_fired_through_the_bus(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx)

    # no SLA policy: nothing is due, and a timer for another generation does nothing either
    assert await handle(FireTimer(ticket.key, ticket.timer_generation), uow, ctx) == []
    assert await handle(FireTimer(ticket.key, ticket.timer_generation + 1), uow, ctx) == []


async def test_an_unknown_command_type_is_refused(uow: FakeUnitOfWork, ctx: Context) -> None:
    with pytest.raises(KeyError):
        await handle(SLACK, uow, ctx)  # type: ignore[arg-type]
