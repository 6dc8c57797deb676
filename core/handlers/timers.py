"""A ticket's timer went off: send what is due, record it, and never fire a stale timer."""

from __future__ import annotations

from core import timekeeping
from core.commands import FireTimer
from core.escalation import NoticeKind
from core.events import ReminderSent, TicketEscalated
from core.ports import Context, UnitOfWork
from core.timekeeping import Notice


async def fire_timer(cmd: FireTimer, uow: UnitOfWork, ctx: Context) -> list[Notice]:
    """What to send now. A stale generation sends nothing."""
    key, generation = cmd.key, cmd.generation
    ticket = await uow.tickets.get(key)
    if ticket is None or generation != ticket.timer_generation:
        return []
    now = ctx.clock.now()
    notices = timekeeping.due_notices(ticket, ctx, now, generation)
    uow.tickets.update(ticket)
    for notice in notices:
        reminder = notice.kind is NoticeKind.REMINDER
        event = ReminderSent if reminder else TicketEscalated
        uow.record(
            event(
                ticket_key=ticket.key,
                at=now,
                actor_id=None,
                channel="timer",
                to=notice.person_id or "team_channel",
                step=notice.key,
                route=notice.route,
                deliver_at=notice.deliver_at,
            )
        )
    return notices
