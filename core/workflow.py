"""The default lifecycle: which action moves a ticket from which states to which state.

new -> assigned -> accepted -> in_progress -> waiting -> resolved -> closed, plus reopen and cancel.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.ticket import Status

S = Status


class Action(StrEnum):
    ASSIGN = "assign"
    ACCEPT = "accept"
    CLAIM = "claim"
    START = "start"
    WAIT = "wait"
    RESUME = "resume"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    CANCEL = "cancel"
    SET_PRIORITY = "set_priority"
    COMMENT = "comment"
    # "remind me later" on a reminder card; changes no status
    SNOOZE = "snooze"


@dataclass(frozen=True)
class Transition:
    sources: frozenset[Status]
    target: Status | None  # None: the action does not change the status


_OPEN = frozenset({S.NEW, S.ASSIGNED, S.ACCEPTED, S.IN_PROGRESS, S.WAITING})

TRANSITIONS: dict[Action, Transition] = {
    Action.ASSIGN: Transition(_OPEN, S.ASSIGNED),
    Action.ACCEPT: Transition(frozenset({S.NEW, S.ASSIGNED}), S.ACCEPTED),
    Action.CLAIM: Transition(frozenset({S.NEW, S.ASSIGNED}), S.ACCEPTED),
    Action.START: Transition(frozenset({S.ACCEPTED, S.WAITING}), S.IN_PROGRESS),
    Action.WAIT: Transition(frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.WAITING),
    Action.RESUME: Transition(frozenset({S.WAITING}), S.IN_PROGRESS),
    Action.RESOLVE: Transition(_OPEN, S.RESOLVED),
    Action.CLOSE: Transition(frozenset({S.RESOLVED}), S.CLOSED),
    Action.REOPEN: Transition(frozenset({S.RESOLVED, S.CLOSED, S.CANCELLED}), S.ASSIGNED),
    Action.CANCEL: Transition(_OPEN, S.CANCELLED),
    Action.SET_PRIORITY: Transition(_OPEN, None),
    Action.COMMENT: Transition(frozenset(Status), None),
    Action.SNOOZE: Transition(_OPEN, None),
}


def allowed(action: Action, status: Status) -> bool:
    return status in TRANSITIONS[action].sources


def available_actions(status: Status, has_assignee: bool) -> list[Action]:
    """The buttons a card offers in this state, in display order."""
    if status in (S.NEW, S.ASSIGNED):
        first = [Action.ACCEPT] if has_assignee else [Action.CLAIM]
        return [*first, Action.RESOLVE, Action.ASSIGN, Action.SET_PRIORITY, Action.CANCEL]
    if status == S.ACCEPTED:
        return [Action.START, Action.RESOLVE, Action.WAIT, Action.ASSIGN, Action.SET_PRIORITY]
    if status == S.IN_PROGRESS:
        return [Action.RESOLVE, Action.WAIT, Action.ASSIGN, Action.SET_PRIORITY]
    if status == S.WAITING:
        return [Action.RESUME, Action.RESOLVE, Action.ASSIGN]
    if status == S.RESOLVED:
        return [Action.CLOSE, Action.REOPEN]
    return [Action.REOPEN]
