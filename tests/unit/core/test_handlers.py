"""Pressing a ticket's buttons: accept, work, resolve, close, reopen, cancel, reassign, priority."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.clock import FrozenClock
from core.errors import Conflict, FormInvalid, NotFound, PermissionDenied
from core.events import EventKind
from core.ports import Context
from core.ticket import Priority, Status
from core.workflow import Action

from .fakes import FakeUnitOfWork, accepted_by_li_lei, make_context, opened, press


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def ctx(clock: FrozenClock) -> Context:
    return make_context(clock)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


# --- accepting and claiming -------------------------------------------------------------------


async def test_team_member_accepting_becomes_assignee_and_first_responder(
    uow: FakeUnitOfWork, ctx: Context, clock: FrozenClock
) -> None:
    ticket = await opened(uow, ctx)
    clock.advance(timedelta(minutes=7))

    result = await press(uow, ctx, ticket.key, Action.ACCEPT, "lilei")

    assert result.changed
    assert ticket.status == Status.ACCEPTED
    assert ticket.assignee_id == "lilei"
    assert ticket.first_response_at == clock.now()
    assert ticket.updated_at == clock.now()
    # the ticket was waiting with the team's lead: accepting it is also a take-over
    assert uow.event_kinds[-2:] == [EventKind.TICKET_ACCEPTED, EventKind.TICKET_TAKEN_OVER]
    assert uow.events[-2].data == {"from": "assigned", "to": "accepted"}
    assert uow.refreshed_cards == [ticket.key]
    assert uow.tickets.updated == [ticket]


async def test_second_agent_pressing_accept_is_told_who_accepted_in_chinese(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await accepted_by_li_lei(uow, ctx)

    with pytest.raises(Conflict, match="已被 李雷 受理。"):
        await press(uow, ctx, ticket.key, Action.ACCEPT, "hanmeimei")


async def test_second_agent_pressing_accept_is_told_who_accepted_in_english(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await accepted_by_li_lei(uow, ctx)

    with pytest.raises(Conflict) as err:
        await press(uow, ctx, ticket.key, Action.ACCEPT, "alice")

    assert err.value.message == "Already accepted by Li Lei."


async def test_double_click_on_accept_by_the_same_person_is_a_no_op(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await accepted_by_li_lei(uow, ctx)
    events_before = list(uow.events)

    again = await press(uow, ctx, ticket.key, Action.ACCEPT, "lilei")

    assert not again.changed
    assert again.message == "工单已是“已受理”状态。"
    assert uow.events == events_before


async def test_claiming_a_queued_ticket_takes_it(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx, "facilities")

    await press(uow, ctx, ticket.key, Action.CLAIM, "zhaolei")

    assert ticket.assignee_id == "zhaolei"
    assert ticket.status == Status.ACCEPTED
    assert uow.events[-1].kind == EventKind.TICKET_CLAIMED


async def test_accepting_a_resolved_ticket_explains_the_state(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await accepted_by_li_lei(uow, ctx)
    await press(uow, ctx, ticket.key, Action.RESOLVE, "lilei")

    with pytest.raises(Conflict, match="工单处于“已解决”状态，不能执行“受理”。"):
        await press(uow, ctx, ticket.key, Action.ACCEPT, "hanmeimei")


async def test_requester_outside_the_team_cannot_accept(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx)

    with pytest.raises(PermissionDenied, match="你不在该工单的团队中"):
        await press(uow, ctx, ticket.key, Action.ACCEPT, "zhangwei")


# --- the rest of the lifecycle ----------------------------------------------------------------


async def test_requester_outside_the_team_cannot_resolve_and_is_told_why_in_english(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx, requester="bob")

    with pytest.raises(PermissionDenied) as err:
        await press(uow, ctx, ticket.key, Action.RESOLVE, "bob")

    assert err.value.message == (
        f"You cannot use “Resolve” on {ticket.key}: "
        "only the assignee, the team's lead or manager may do that."
    )
    assert ticket.status == Status.ASSIGNED


async def test_requester_outside_the_team_cannot_resolve_and_is_told_why_in_chinese(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx)

    with pytest.raises(PermissionDenied, match="你不能对 IT-1001 执行“解决”"):
        await press(uow, ctx, ticket.key, Action.RESOLVE, "zhangwei")


async def test_work_moves_through_start_wait_resume(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await accepted_by_li_lei(uow, ctx)

    statuses = []
    for action in (Action.START, Action.WAIT, Action.RESUME):
        await press(uow, ctx, ticket.key, action, "lilei")
        statuses.append(ticket.status)

    assert statuses == [Status.IN_PROGRESS, Status.WAITING, Status.IN_PROGRESS]
    assert uow.event_kinds[-3:] == [
        EventKind.WORK_STARTED,
        EventKind.TICKET_PUT_ON_HOLD,
        EventKind.WORK_RESUMED,
    ]


async def test_resolve_close_reopen_goes_back_to_the_assignee(
    uow: FakeUnitOfWork, ctx: Context, clock: FrozenClock
) -> None:
    ticket = await accepted_by_li_lei(uow, ctx)
    clock.advance(timedelta(hours=1))
    await press(uow, ctx, ticket.key, Action.RESOLVE, "lilei")
    assert ticket.resolved_at == clock.now()
    clock.advance(timedelta(hours=1))
    await press(uow, ctx, ticket.key, Action.CLOSE, "zhangwei")
    assert ticket.status == Status.CLOSED
    assert ticket.closed_at == clock.now()

    reopened = (await press(uow, ctx, ticket.key, Action.REOPEN, "zhangwei")).ticket

    assert reopened.status == Status.ASSIGNED
    assert reopened.assignee_id == "lilei"
    assert reopened.resolved_at is None
    assert reopened.closed_at is None
    assert uow.events[-1].kind == EventKind.TICKET_REOPENED
    assert uow.events[-1].data == {"from": "closed", "to": "assigned"}


async def test_reopening_an_unassigned_cancelled_ticket_returns_it_to_new(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx, "facilities")
    await press(uow, ctx, ticket.key, Action.CANCEL, "zhangwei")
    assert ticket.status == Status.CANCELLED

    reopened = (await press(uow, ctx, ticket.key, Action.REOPEN, "zhangwei")).ticket

    assert reopened.status == Status.NEW


async def test_resolving_without_a_reply_counts_as_the_first_response(
    uow: FakeUnitOfWork, ctx: Context, clock: FrozenClock
) -> None:
    ticket = await opened(uow, ctx)
    clock.advance(timedelta(minutes=3))

    await press(uow, ctx, ticket.key, Action.RESOLVE, "wangfang")

    assert ticket.first_response_at == clock.now()


async def test_resolving_twice_is_a_no_op(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await accepted_by_li_lei(uow, ctx)
    await press(uow, ctx, ticket.key, Action.RESOLVE, "lilei")
    events_before = len(uow.events)

    again = await press(uow, ctx, ticket.key, Action.RESOLVE, "lilei")

    assert not again.changed
    assert again.message == "工单已是“已解决”状态。"
    assert len(uow.events) == events_before


async def test_closing_an_open_ticket_is_refused_with_its_state(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx, requester="bob")

    with pytest.raises(Conflict) as err:
        await press(uow, ctx, ticket.key, Action.CLOSE, "bob")

    assert err.value.message == "Close is not possible while the ticket is Assigned."


async def test_requester_may_cancel(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx)

    await press(uow, ctx, ticket.key, Action.CANCEL, "zhangwei")

    assert ticket.status == Status.CANCELLED
    assert uow.events[-1].kind == EventKind.TICKET_CANCELLED


async def test_team_lead_may_cancel(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx)

    await press(uow, ctx, ticket.key, Action.CANCEL, "wangfang")

    assert ticket.status == Status.CANCELLED


async def test_an_agent_may_not_cancel_someone_elses_ticket(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await accepted_by_li_lei(uow, ctx)

    # the refusal names the rule cancel really has: the requester or the lead
    with pytest.raises(PermissionDenied, match="只有提单人或团队负责人可以这样做"):
        await press(uow, ctx, ticket.key, Action.CANCEL, "lilei")


async def test_acting_on_a_missing_ticket_names_it(uow: FakeUnitOfWork, ctx: Context) -> None:
    with pytest.raises(NotFound, match=r"No ticket IT-9999\."):
        await press(uow, ctx, "IT-9999", Action.ACCEPT, "alice")


async def test_a_stranger_cannot_act(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx)

    with pytest.raises(PermissionDenied, match="unknown person 'ghost'"):
        await press(uow, ctx, ticket.key, Action.ACCEPT, "ghost")


# --- reassigning and priority -----------------------------------------------------------------


async def test_reassigning_records_previous_and_new_assignee(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await accepted_by_li_lei(uow, ctx)

    await press(uow, ctx, ticket.key, Action.ASSIGN, "lilei", assignee="hanmeimei")

    assert ticket.assignee_id == "hanmeimei"
    assert ticket.status == Status.ASSIGNED
    assert uow.events[-1].kind == EventKind.TICKET_ASSIGNED
    assert uow.events[-1].data == {
        "from": "accepted",
        "to": "assigned",
        "previous": "lilei",
        "assignee": "hanmeimei",
        "reason": "reassigned by lilei",
    }


async def test_reassigning_among_assigned_states_is_allowed_again(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx)

    await press(uow, ctx, ticket.key, Action.ASSIGN, "wangfang", assignee="lilei")
    await press(uow, ctx, ticket.key, Action.ASSIGN, "lilei", assignee="alice")

    assert ticket.assignee_id == "alice"
    assert uow.event_kinds.count(EventKind.TICKET_ASSIGNED) == 3


async def test_reassigning_to_the_current_assignee_twice_is_a_no_op(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx)
    await press(uow, ctx, ticket.key, Action.ASSIGN, "wangfang", assignee="lilei")
    events_before = len(uow.events)

    again = await press(uow, ctx, ticket.key, Action.ASSIGN, "wangfang", assignee="lilei")

    assert not again.changed
    assert again.message == "已分派给 李雷。"
    assert again.text("en") == "Already assigned to Li Lei."  # for a page shown in English
    assert len(uow.events) == events_before


async def test_assigning_to_an_unknown_person_is_rejected_naming_the_field(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx)

    with pytest.raises(FormInvalid) as err:
        await press(uow, ctx, ticket.key, Action.ASSIGN, "wangfang", assignee="nobody")

    assert [(e.field, e.rule) for e in err.value.errors] == [("assignee", "person")]
    assert ticket.assignee_id == "wangfang"
    assert uow.refreshed_cards == []


async def test_reassigning_a_queued_ticket_without_choosing_someone_is_rejected(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx, "facilities")

    with pytest.raises(FormInvalid) as err:
        await press(uow, ctx, ticket.key, Action.ASSIGN, "zhaolei")

    assert [(e.field, e.rule) for e in err.value.errors] == [("assignee", "person")]


async def test_set_priority_changes_it_and_records_both_values(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx)

    await press(uow, ctx, ticket.key, Action.SET_PRIORITY, "wangfang", priority="urgent")

    assert ticket.priority == Priority.URGENT
    assert ticket.status == Status.ASSIGNED
    assert uow.events[-1].kind == EventKind.PRIORITY_CHANGED
    assert uow.events[-1].data == {"from": "assigned", "previous": "normal", "priority": "urgent"}


async def test_set_priority_to_the_same_value_is_a_no_op(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx, requester="bob")
    await press(uow, ctx, ticket.key, Action.ASSIGN, "wangfang", assignee="alice")
    events_before = len(uow.events)

    again = await press(uow, ctx, ticket.key, Action.SET_PRIORITY, "alice", priority="normal")

    assert not again.changed
    assert again.message == "The priority is already Normal."
    assert len(uow.events) == events_before


async def test_set_priority_validates_the_value(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx)

    with pytest.raises(FormInvalid) as err:
        await press(uow, ctx, ticket.key, Action.SET_PRIORITY, "wangfang", priority="p0")

    assert err.value.errors[0].field == "priority"
    assert ticket.priority == Priority.NORMAL


async def test_set_priority_on_a_closed_ticket_is_refused(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx)
    await press(uow, ctx, ticket.key, Action.CANCEL, "zhangwei")

    with pytest.raises(Conflict):
        await press(uow, ctx, ticket.key, Action.SET_PRIORITY, "wangfang", priority="normal")


async def test_admin_may_do_anything(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx)

    await press(uow, ctx, ticket.key, Action.SET_PRIORITY, "root", priority="high")
    await press(uow, ctx, ticket.key, Action.RESOLVE, "root")

    assert ticket.priority == Priority.HIGH
    assert ticket.status == Status.RESOLVED
