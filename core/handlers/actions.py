"""Acting on a ticket (a card button, a REST call): check, then apply the action's effect."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from core import timekeeping
from core.commands import ActOnTicket, AddComment, Assign, SetPriority, WriteComment
from core.errors import Conflict
from core.events import TicketTakenOver
from core.handlers.checks import (
    actor_locale,
    actor_of,
    check_allowed,
    load_ticket,
    not_in_state,
    param_values,
    refusal,
    refuse_unstorable,
)
from core.handlers.comments import add_comment, store_comment
from core.handlers.effects import EFFECTS, Press
from core.i18n import LOCALES, Locale, as_locale, t
from core.people import Person, display_name
from core.ports import Context, UnitOfWork
from core.ticket import Status, Ticket
from core.workflow import TRANSITIONS, Action, allowed

_NOT_IDEMPOTENT = frozenset({Action.ASSIGN, Action.REOPEN})
_TAKES = frozenset({Action.ACCEPT, Action.CLAIM})
# actions whose WriteComment text is kept as a public comment and told to the requester
_WITH_NOTE = frozenset({Action.WAIT, Action.RESOLVE})


@dataclass(frozen=True)
class ActResult:
    ticket: Ticket
    changed: bool
    message: str = ""  # why nothing changed, in the actor's language
    texts: Mapping[str, str] = field(default_factory=dict)  # the same in every language

    def text(self, locale: str) -> str:
        return self.texts.get(locale, self.message)


def unchanged(ticket: Ticket, locale: Locale, render: Callable[[Locale], str]) -> ActResult:
    """Nothing to do: said in the actor's language, and in every other for who shows it."""
    return ActResult(ticket, False, render(locale), {loc: render(loc) for loc in LOCALES})


def already_in(ticket: Ticket, status: Status, locale: Locale) -> ActResult:
    """Nothing to do: the ticket is in `status` already ("The ticket is already Closed.")."""
    return unchanged(
        ticket,
        locale,
        lambda loc: t("err.already_in_state", loc, status=t(f"status.{status.value}", loc)),
    )


async def act(cmd: ActOnTicket, uow: UnitOfWork, ctx: Context) -> ActResult:
    refuse_unstorable(param_values(cmd.params))
    if cmd.action == Action.COMMENT:
        params = cmd.params
        body = params.body if isinstance(params, WriteComment) else ""
        public = params.public if isinstance(params, WriteComment) else True
        await add_comment(AddComment(cmd.key, cmd.actor_id, body, cmd.origin, public), uow, ctx)
        ticket = await load_ticket(uow, cmd.key, actor_locale(ctx, cmd.actor_id))
        return ActResult(ticket, True)
    actor = actor_of(ctx, cmd.actor_id)
    locale = as_locale(actor.locale)
    ticket = await load_ticket(uow, cmd.key, locale)
    check_allowed(actor, cmd.action, ticket, ctx, locale)
    noop = _already_done(cmd, ticket, actor, ctx, locale)
    if noop is not None:
        return noop
    if not allowed(cmd.action, ticket.status):
        raise not_in_state(f"action.{cmd.action.value}", ticket, locale)
    now = ctx.clock.now()
    previous = ticket.assignee_id
    press = Press(cmd, ticket, actor, ctx, now, ticket.status)
    event = EFFECTS[cmd.action](press)
    timekeeping.on_action(ticket, cmd.action, ctx, now)
    ticket.updated_at = now
    uow.tickets.update(ticket)
    uow.record(event)
    if cmd.action in _TAKES and previous is not None and previous != actor.id:
        uow.record(
            TicketTakenOver(
                ticket_key=ticket.key,
                at=now,
                actor_id=actor.id,
                channel=cmd.origin.channel,
                previous_id=previous,
                assignee_id=actor.id,
            )
        )
    if cmd.action in _WITH_NOTE and press.note:
        # the question or the resolution is part of the conversation: everyone sees it there
        store_comment(uow, ticket, actor.id, press.note, cmd.origin, True, now)
    uow.refresh_cards(ticket)
    return ActResult(ticket, True)


def _already_done(
    cmd: ActOnTicket, ticket: Ticket, actor: Person, ctx: Context, locale: Locale
) -> ActResult | None:
    """Pressing a button whose effect already happened: a no-op for the same person, else explain."""
    target = TRANSITIONS[cmd.action].target
    if cmd.action in (Action.ACCEPT, Action.CLAIM):
        taken = ticket.status not in (Status.NEW, Status.ASSIGNED) and ticket.status.is_open
        if not taken:
            return None
        if ticket.assignee_id == actor.id:
            return already_in(ticket, ticket.status, locale)
        holder = ticket.assignee_id

        def render(loc: Locale) -> str:
            who = display_name(ctx.directory, holder, loc) or "?"
            return t("err.already_accepted", loc, who=who)

        raise refusal(Conflict, locale, render)
    if target is not None and ticket.status == target and cmd.action not in _NOT_IDEMPOTENT:
        return already_in(ticket, target, locale)
    return _same_value(cmd, ticket, ctx, locale)


def _same_value(cmd: ActOnTicket, ticket: Ticket, ctx: Context, locale: Locale) -> ActResult | None:
    """A resubmitted select (double click, retried request) must not notify or log twice."""
    if not ticket.is_open:
        return None
    assignee, params = ticket.assignee_id, cmd.params
    if (
        isinstance(params, Assign)
        and cmd.action == Action.ASSIGN
        and assignee
        and params.assignee_id == assignee
    ):
        return unchanged(
            ticket,
            locale,
            lambda loc: t(
                "err.already_assigned", loc, who=display_name(ctx.directory, assignee, loc)
            ),
        )
    if (
        isinstance(params, SetPriority)
        and cmd.action == Action.SET_PRIORITY
        and params.priority == ticket.priority.value
    ):
        priority = ticket.priority.value
        return unchanged(
            ticket,
            locale,
            lambda loc: t("err.already_priority", loc, priority=t(f"priority.{priority}", loc)),
        )
    return None
