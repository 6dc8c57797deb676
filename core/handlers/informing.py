"""Keeping people informed: event subscribers that queue one line to each person concerned.

The requester hears when their ticket is accepted (and by whom), waits for them (with the
question), is resolved (with the resolution) or reopened; an assignee hears of a new
assignment, and the previous one that it was taken over or reassigned. Nobody is told what they
did themselves. Each line is written in every language (`text` is the recipient's own), so
a channel shows the one its reader chose; storage coalesces the lines one person gets about one
ticket within a minute and routes them to that person's direct room.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from core.events import (
    Event,
    StatusChanged,
    TicketAccepted,
    TicketAssigned,
    TicketClaimed,
    TicketPutOnHold,
    TicketReopened,
    TicketResolved,
    TicketTakenOver,
)
from core.i18n import LOCALES, Locale, as_locale, t
from core.people import display_name
from core.ports import Context, PersonNotice, UnitOfWork
from core.ticket import Ticket


async def _tell(
    uow: UnitOfWork,
    ctx: Context,
    event: Event,
    person_id: str | None,
    what: str,
    text_key: str,
    to_person: str | None = None,
    **params: str,
) -> None:
    """Queue `text_key` to the person, in every language (theirs first); not to the actor, nor
    to nobody."""
    if person_id is None or person_id == event.actor_id:
        return
    person = ctx.directory.person(person_id)
    ticket = await uow.tickets.get(event.ticket_key)
    if person is None or ticket is None:
        return

    def line(locale: Locale) -> str:
        who = display_name(ctx.directory, event.actor_id, locale) or t("notice.system", locale)
        names = dict(params)
        if to_person is not None:
            names["to"] = display_name(ctx.directory, to_person, locale) or to_person
        return t(text_key, locale, key=ticket.key, title=ticket.title, who=who, **names)

    texts = {loc: line(loc) for loc in LOCALES}
    text = texts[as_locale(person.locale)]
    uow.notify_person(PersonNotice(person_id, ticket.key, what, text, event.at, texts))


async def _requester(uow: UnitOfWork, event: Event) -> str | None:
    ticket: Ticket | None = await uow.tickets.get(event.ticket_key)
    return ticket.requester_id if ticket else None


async def on_accepted(event: StatusChanged, uow: UnitOfWork, ctx: Context) -> None:
    await _tell(uow, ctx, event, await _requester(uow, event), "accepted", "notice.accepted")


async def on_waiting(event: TicketPutOnHold, uow: UnitOfWork, ctx: Context) -> None:
    requester = await _requester(uow, event)
    if event.note:
        key = "notice.waiting_question"
        await _tell(uow, ctx, event, requester, "waiting", key, question=event.note)
    else:
        await _tell(uow, ctx, event, requester, "waiting", "notice.waiting")


async def on_resolved(event: TicketResolved, uow: UnitOfWork, ctx: Context) -> None:
    requester = await _requester(uow, event)
    if event.note:
        key = "notice.resolved_with"
        await _tell(uow, ctx, event, requester, "resolved", key, resolution=event.note)
    else:
        await _tell(uow, ctx, event, requester, "resolved", "notice.resolved")


async def on_reopened(event: TicketReopened, uow: UnitOfWork, ctx: Context) -> None:
    requester = await _requester(uow, event)
    if requester != event.actor_id:
        await _tell(uow, ctx, event, requester, "reopened", "notice.reopened")
        return
    # the requester reopened it: the one who holds it needs to know
    ticket = await uow.tickets.get(event.ticket_key)
    holder = ticket.assignee_id if ticket else None
    await _tell(uow, ctx, event, holder, "reopened", "notice.reopened")


async def on_assigned(event: TicketAssigned, uow: UnitOfWork, ctx: Context) -> None:
    text_key = "notice.assigned" if event.actor_id else "notice.assigned_auto"
    await _tell(uow, ctx, event, event.assignee_id, "assigned", text_key)
    previous = event.previous_id
    if previous is not None and previous != event.assignee_id and event.assignee_id:
        key = "notice.reassigned_away"
        await _tell(uow, ctx, event, previous, "reassigned", key, event.assignee_id)


async def on_taken_over(event: TicketTakenOver, uow: UnitOfWork, ctx: Context) -> None:
    await _tell(uow, ctx, event, event.previous_id, "taken_over", "notice.taken_over")


Subscriber = Callable[[Any, UnitOfWork, Context], Awaitable[None]]

SUBSCRIBERS: dict[type[Event], Subscriber] = {
    TicketAccepted: on_accepted,
    TicketClaimed: on_accepted,
    TicketPutOnHold: on_waiting,
    TicketResolved: on_resolved,
    TicketReopened: on_reopened,
    TicketAssigned: on_assigned,
    TicketTakenOver: on_taken_over,
}
