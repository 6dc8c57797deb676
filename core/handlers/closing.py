"""`/close KEY` from a chat: close a resolved ticket, or withdraw one that is still open."""

from __future__ import annotations

from core.commands import ActOnTicket, CloseTicket
from core.handlers.actions import ActResult, act
from core.handlers.checks import actor_locale, load_ticket
from core.ports import Context, UnitOfWork
from core.ticket import Status
from core.workflow import Action


async def close_ticket(cmd: CloseTicket, uow: UnitOfWork, ctx: Context) -> ActResult:
    """Resolved: close it. Still open: cancel it (the requester or the lead may). Closed or
    cancelled already: `act` says so. Permissions are the buttons' own."""
    ticket = await load_ticket(uow, cmd.key, actor_locale(ctx, cmd.actor_id))
    action = Action.CANCEL if ticket.is_open else Action.CLOSE
    if ticket.status is Status.CANCELLED:
        action = Action.CANCEL
    return await act(ActOnTicket(cmd.key, action, cmd.actor_id, cmd.origin), uow, ctx)
