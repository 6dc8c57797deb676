"""What each workflow action does to a ticket, as a table: Action -> effect.

An effect changes the ticket and returns the event that says what happened. `act` has already
checked the actor, the permission, the lifecycle and whether the effect happened before. A new
action is one effect here plus one line in EFFECTS; rules and approvals are not effects, they
subscribe to the events effects return (core.bus) or are commands of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from core.commands import ActOnTicket, Assign, SetPriority, WriteComment
from core.errors import FieldError, FormInvalid
from core.events import (
    Event,
    PriorityChanged,
    ReminderSnoozed,
    StatusChanged,
    TicketAccepted,
    TicketAssigned,
    TicketCancelled,
    TicketClaimed,
    TicketClosed,
    TicketPutOnHold,
    TicketReopened,
    TicketResolved,
    WorkResumed,
    WorkStarted,
)
from core.handlers.checks import parse_priority
from core.people import Person
from core.ports import Context
from core.ticket import Status, Ticket
from core.workflow import TRANSITIONS, Action


@dataclass(frozen=True)
class Press:
    """One action being applied: who pressed what on which ticket, and when."""

    cmd: ActOnTicket
    ticket: Ticket
    actor: Person
    ctx: Context
    now: datetime
    before: Status

    def moved(self, event: type[StatusChanged], target: Status) -> Event:
        """Enter `target` and say so."""
        self.ticket.status = target
        return event(
            ticket_key=self.ticket.key,
            at=self.now,
            actor_id=self.actor.id,
            channel=self.cmd.origin.channel,
            from_status=self.before,
            to_status=target,
            note=self.note,
        )

    @property
    def note(self) -> str:
        """What the actor wrote with the press (the question when waiting, the resolution)."""
        params = self.cmd.params
        return params.body.strip() if isinstance(params, WriteComment) else ""

    @property
    def target(self) -> Status:
        """The status the lifecycle table moves this action to."""
        target = TRANSITIONS[self.cmd.action].target
        assert target is not None, self.cmd.action
        return target


Effect = Callable[[Press], Event]


def _transition(event: type[StatusChanged]) -> Effect:
    """An action that only moves the status."""

    def effect(p: Press) -> Event:
        return p.moved(event, p.target)

    return effect


def _take(event: type[StatusChanged]) -> Effect:
    """Accept or claim: the presser holds the ticket, and that is a first response."""

    def effect(p: Press) -> Event:
        p.ticket.assignee_id = p.actor.id
        p.ticket.first_response_at = p.ticket.first_response_at or p.now
        return p.moved(event, p.target)

    return effect


def _resolve(p: Press) -> Event:
    p.ticket.resolved_at = p.now
    p.ticket.first_response_at = p.ticket.first_response_at or p.now
    return p.moved(TicketResolved, p.target)


def _close(p: Press) -> Event:
    p.ticket.closed_at = p.now
    return p.moved(TicketClosed, p.target)


def _reopen(p: Press) -> Event:
    p.ticket.resolved_at = None
    p.ticket.closed_at = None
    return p.moved(TicketReopened, Status.ASSIGNED if p.ticket.assignee_id else Status.NEW)


def _assign(p: Press) -> Event:
    params = p.cmd.params
    assignee = params.assignee_id if isinstance(params, Assign) else ""
    if p.ctx.directory.person(assignee) is None:
        raise FormInvalid(
            [
                FieldError(
                    "assignee",
                    "person",
                    f"unknown person {assignee!r}",
                    f"未知人员 {assignee!r}",
                )
            ]
        )
    ticket = p.ticket
    previous = ticket.assignee_id
    ticket.assignee_id = assignee
    ticket.status = p.target
    return TicketAssigned(
        ticket_key=ticket.key,
        at=p.now,
        actor_id=p.actor.id,
        channel=p.cmd.origin.channel,
        from_status=p.before,
        previous_id=previous,
        assignee_id=assignee,
        reason=f"reassigned by {p.actor.id}",
        to_status=ticket.status,
    )


def _set_priority(p: Press) -> Event:
    params = p.cmd.params
    new = parse_priority(params.priority if isinstance(params, SetPriority) else None)
    previous = p.ticket.priority
    p.ticket.priority = new
    return PriorityChanged(
        ticket_key=p.ticket.key,
        at=p.now,
        actor_id=p.actor.id,
        channel=p.cmd.origin.channel,
        from_status=p.before,
        previous=previous,
        priority=new,
    )


def _snooze(p: Press) -> Event:
    # the reminder clock moves in core.timekeeping; the ticket itself does not change
    return ReminderSnoozed(
        ticket_key=p.ticket.key,
        at=p.now,
        actor_id=p.actor.id,
        channel=p.cmd.origin.channel,
        from_status=p.before,
    )


# Action.COMMENT is not here: a comment button is AddComment in disguise (see act).
EFFECTS: dict[Action, Effect] = {
    Action.ASSIGN: _assign,
    Action.ACCEPT: _take(TicketAccepted),
    Action.CLAIM: _take(TicketClaimed),
    Action.START: _transition(WorkStarted),
    Action.WAIT: _transition(TicketPutOnHold),
    Action.RESUME: _transition(WorkResumed),
    Action.RESOLVE: _resolve,
    Action.CLOSE: _close,
    Action.REOPEN: _reopen,
    Action.CANCEL: _transition(TicketCancelled),
    Action.SET_PRIORITY: _set_priority,
    Action.SNOOZE: _snooze,
}
