"""The message bus: the one door into core's use cases.

`handle` runs the handler a command's type maps to, then hands every event the unit of work
collected to that event type's subscribers, in the order they were recorded; events a subscriber
records are dispatched after the ones before them. Everything runs in the caller's unit of work,
so a failing subscriber fails the command and nothing of it is stored.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from core.commands import (
    ActOnTicket,
    AddComment,
    CloseTicket,
    Command,
    EditTicket,
    FireTimer,
    OpenTicket,
)
from core.events import EVENT_TYPES, Event
from core.handlers import informing
from core.handlers.actions import act
from core.handlers.closing import close_ticket
from core.handlers.comments import add_comment
from core.handlers.editing import edit_ticket
from core.handlers.opening import open_ticket
from core.handlers.timers import fire_timer
from core.ports import Context, UnitOfWork

CommandHandler = Callable[[Any, UnitOfWork, Context], Awaitable[Any]]
EventHandler = Callable[[Any, UnitOfWork, Context], Awaitable[None]]

COMMAND_HANDLERS: dict[type, CommandHandler] = {
    OpenTicket: open_ticket,
    ActOnTicket: act,
    AddComment: add_comment,
    CloseTicket: close_ticket,
    EditTicket: edit_ticket,
    FireTimer: fire_timer,
}

# What a command changes it changes itself (cards, relays, clocks); telling people about it is
# a subscriber's job (core.handlers.informing). Rules and approvals will subscribe here too.
EVENT_HANDLERS: dict[type, list[EventHandler]] = {cls: [] for cls in EVENT_TYPES.values()}
for _event, _subscriber in informing.SUBSCRIBERS.items():
    EVENT_HANDLERS[_event].append(_subscriber)


async def handle(message: Command, uow: UnitOfWork, ctx: Context) -> Any:
    """Run the command, then its events' subscribers. Returns what the command's handler returned."""
    result = await COMMAND_HANDLERS[type(message)](message, uow, ctx)
    queue: deque[Event] = deque(uow.collect_new_events())
    while queue:
        event = queue.popleft()
        for subscriber in EVENT_HANDLERS.get(type(event), []):
            await subscriber(event, uow, ctx)
            queue.extend(uow.collect_new_events())
    return result
