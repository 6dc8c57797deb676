"""`/close KEY` from a chat: close a resolved ticket, or withdraw one that is still open."""

from __future__ import annotations

from core.commands import ActOnTicket, CloseTicket
from core.errors import PermissionDenied
from core.handlers.actions import ActResult, act, already_in
from core.handlers.checks import actor_of, load_ticket, refusal
from core.i18n import as_locale, t
from core.permissions import may
from core.ports import Context, UnitOfWork
from core.ticket import Status
from core.workflow import Action


async def close_ticket(cmd: CloseTicket, uow: UnitOfWork, ctx: Context) -> ActResult:
    """Resolved: close it. Still open: cancel it (the requester or the lead may). Closed or
    cancelled already: says so, to anyone. Permissions are the buttons' own."""
    actor = actor_of(ctx, cmd.actor_id)
    locale = as_locale(actor.locale)
    ticket = await load_ticket(uow, cmd.key, locale)
    if ticket.status in (Status.CLOSED, Status.CANCELLED):
        # finished: said so to whoever asks (anyone who sees the card sees that), whatever
        # they may do with an open one
        return already_in(ticket, ticket.status, locale)
    action = Action.CANCEL if ticket.is_open else Action.CLOSE
    if action is Action.CANCEL and not may(actor, action, ticket, ctx.directory).allowed:
        # they typed /close: the refusal speaks of closing, not of the Cancel button
        key = ticket.key
        raise refusal(PermissionDenied, locale, lambda loc: t("err.close_forbidden", loc, key=key))
    return await act(ActOnTicket(cmd.key, action, cmd.actor_id, cmd.origin), uow, ctx)
