"""Who may press which button, and who may see which ticket.

`may` is checked on every action, whichever channel it came from. `may_view` is checked on every
read of a ticket (the ticket, its comments, events and attachments) and `viewable` filters a
listing: the one place where sign-in and per-team visibility will land.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from core.people import Directory, Person
from core.ticket import Ticket
from core.workflow import Action


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason_key: str = ""


ALLOW = Verdict(True)


def may(actor: Person, action: Action, ticket: Ticket, directory: Directory) -> Verdict:
    if actor.is_admin:
        return ALLOW
    team = directory.team(ticket.team_id) if ticket.team_id else None
    in_team = team is not None and team.is_member(actor.id)
    leader = team is not None and team.is_leader(actor.id)
    assignee = ticket.assignee_id == actor.id
    requester = ticket.requester_id == actor.id

    if action in (Action.ACCEPT, Action.CLAIM):
        return ALLOW if assignee or in_team else Verdict(False, "reason.not_team")
    if action in (
        Action.START,
        Action.WAIT,
        Action.RESUME,
        Action.RESOLVE,
        Action.SET_PRIORITY,
        Action.SNOOZE,
    ):
        return ALLOW if assignee or leader else Verdict(False, "reason.not_assignee")
    if action == Action.ASSIGN:
        return ALLOW if assignee or in_team else Verdict(False, "reason.not_team")
    if action in (Action.CLOSE, Action.REOPEN, Action.COMMENT):
        ok = requester or assignee or in_team or actor.id in ticket.watchers
        return ALLOW if ok else Verdict(False, "reason.not_involved")
    # cancel
    return ALLOW if requester or leader else Verdict(False, "reason.not_requester_or_lead")


def may_view(viewer: Person, ticket: Ticket, directory: Directory) -> bool:
    """Whether `viewer` may see the ticket with its comments, events and attachments.

    Today everyone the directory knows may see every ticket; `viewer` is a known person.
    """
    return True


ViewCheck = Callable[[Person, Ticket, Directory], bool]


def viewable(
    viewer: Person, tickets: Iterable[Ticket], directory: Directory, check: ViewCheck = may_view
) -> list[Ticket]:
    """The tickets of a listing that `viewer` may see (by `check`), in their order."""
    return [t for t in tickets if check(viewer, t, directory)]


def is_support(actor: Person, ticket: Ticket, directory: Directory) -> bool:
    """The people who answer a ticket: its assignee, its team (lead and manager too), admins."""
    if actor.is_admin or ticket.assignee_id == actor.id:
        return True
    team = directory.team(ticket.team_id) if ticket.team_id else None
    return team is not None and (team.is_member(actor.id) or team.is_leader(actor.id))


def may_write_internal(actor: Person, ticket: Ticket, directory: Directory) -> Verdict:
    """An internal note is the team talking among itself: never the requester or a watcher."""
    return ALLOW if is_support(actor, ticket, directory) else Verdict(False, "reason.not_support")


def may_edit(actor: Person, ticket: Ticket, directory: Directory) -> Verdict:
    """The requester may fix what they wrote; the support side may recategorise it."""
    if ticket.requester_id == actor.id or is_support(actor, ticket, directory):
        return ALLOW
    return Verdict(False, "reason.not_editor")
