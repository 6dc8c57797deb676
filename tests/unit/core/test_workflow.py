"""The default lifecycle: which buttons move a ticket where, and what a ticket carries along."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.events import EVENT_FOR_ACTION
from core.ticket import ChannelRef, Priority, Status, Ticket, ticket_key
from core.workflow import TRANSITIONS, Action, allowed, available_actions

OPEN = [Status.NEW, Status.ASSIGNED, Status.ACCEPTED, Status.IN_PROGRESS, Status.WAITING]
DONE = [Status.RESOLVED, Status.CLOSED, Status.CANCELLED]


def test_every_action_has_a_transition_and_an_event() -> None:
    assert set(TRANSITIONS) == set(Action)
    assert set(EVENT_FOR_ACTION) == set(Action)


@pytest.mark.parametrize(
    ("action", "sources", "target"),
    [
        (Action.ACCEPT, {Status.NEW, Status.ASSIGNED}, Status.ACCEPTED),
        (Action.CLAIM, {Status.NEW, Status.ASSIGNED}, Status.ACCEPTED),
        (Action.START, {Status.ACCEPTED, Status.WAITING}, Status.IN_PROGRESS),
        (Action.WAIT, {Status.ACCEPTED, Status.IN_PROGRESS}, Status.WAITING),
        (Action.RESUME, {Status.WAITING}, Status.IN_PROGRESS),
        (Action.RESOLVE, set(OPEN), Status.RESOLVED),
        (Action.CLOSE, {Status.RESOLVED}, Status.CLOSED),
        (Action.REOPEN, set(DONE), Status.ASSIGNED),
        (Action.CANCEL, set(OPEN), Status.CANCELLED),
        (Action.ASSIGN, set(OPEN), Status.ASSIGNED),
    ],
)
def test_action_moves_ticket_only_from_its_source_states(
    action: Action, sources: set[Status], target: Status
) -> None:
    assert {s for s in Status if allowed(action, s)} == sources
    assert TRANSITIONS[action].target == target


def test_priority_can_change_only_while_open_and_keeps_the_status() -> None:
    assert [s for s in Status if allowed(Action.SET_PRIORITY, s)] == OPEN
    assert TRANSITIONS[Action.SET_PRIORITY].target is None


def test_comments_are_welcome_in_every_state() -> None:
    assert all(allowed(Action.COMMENT, s) for s in Status)
    assert TRANSITIONS[Action.COMMENT].target is None


def test_unassigned_new_ticket_offers_claim() -> None:
    assert available_actions(Status.NEW, has_assignee=False) == [
        Action.CLAIM,
        Action.RESOLVE,
        Action.ASSIGN,
        Action.SET_PRIORITY,
        Action.CANCEL,
    ]


def test_assigned_ticket_offers_accept_first() -> None:
    assert available_actions(Status.ASSIGNED, has_assignee=True)[0] == Action.ACCEPT


@pytest.mark.parametrize(
    ("status", "buttons"),
    [
        (
            Status.ACCEPTED,
            [Action.START, Action.RESOLVE, Action.WAIT, Action.ASSIGN, Action.SET_PRIORITY],
        ),
        (Status.IN_PROGRESS, [Action.RESOLVE, Action.WAIT, Action.ASSIGN, Action.SET_PRIORITY]),
        (Status.WAITING, [Action.RESUME, Action.RESOLVE, Action.ASSIGN]),
        (Status.RESOLVED, [Action.CLOSE, Action.REOPEN]),
        (Status.CLOSED, [Action.REOPEN]),
        (Status.CANCELLED, [Action.REOPEN]),
    ],
)
def test_buttons_offered_in_each_state(status: Status, buttons: list[Action]) -> None:
    assert available_actions(status, has_assignee=True) == buttons


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("has_assignee", [True, False])
def test_no_offered_button_is_refused_by_the_workflow(status: Status, has_assignee: bool) -> None:
    for action in available_actions(status, has_assignee):
        assert allowed(action, status), (action, status)


def test_open_and_done_states() -> None:
    assert [s for s in Status if s.is_open] == OPEN
    assert [s for s in Status if not s.is_open] == DONE


def test_priorities_weigh_urgent_heaviest() -> None:
    weights = [p.weight for p in Priority]
    assert weights == [8, 4, 2, 1]


def test_ticket_key_joins_prefix_and_number() -> None:
    assert ticket_key("IT", 1042) == "IT-1042"


def test_ticket_is_open_follows_its_status() -> None:
    now = datetime(2026, 1, 5, tzinfo=UTC)
    ticket = Ticket("IT-1", "it", 1, "t", "zhangwei", now, now)
    assert ticket.is_open
    ticket.status = Status.CLOSED
    assert not ticket.is_open


def test_channel_ref_round_trips_through_json_without_empty_parts() -> None:
    ref = ChannelRef("dingtalk", "cid123", message="msg9")

    data = ref.to_json()

    assert data == {"channel": "dingtalk", "conversation": "cid123", "message": "msg9"}
    assert ChannelRef.from_json(data) == ref
    assert ChannelRef.from_json({"channel": "email"}) == ChannelRef("email")
