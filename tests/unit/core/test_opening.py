"""Opening a ticket: its key, who gets it, what is recorded and where its card goes."""

from __future__ import annotations

import pytest

from core.bus import COMMAND_HANDLERS
from core.clock import FrozenClock
from core.commands import (
    ActOnTicket,
    AddComment,
    Assign,
    CloseTicket,
    EditTicket,
    FireTimer,
    OpenTicket,
)
from core.errors import FormInvalid
from core.events import EventKind
from core.handlers.actions import act
from core.handlers.closing import close_ticket
from core.handlers.comments import add_comment
from core.handlers.editing import edit_ticket
from core.handlers.opening import open_ticket
from core.handlers.timers import fire_timer
from core.ports import Context
from core.ticket import Priority, Status
from core.workflow import Action

from .fakes import REST, SLACK, FakeUnitOfWork, make_context, opened


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def ctx(clock: FrozenClock) -> Context:
    return make_context(clock)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


async def test_tickets_get_consecutive_keys_per_prefix(uow: FakeUnitOfWork, ctx: Context) -> None:
    first = await opened(uow, ctx)
    second = await opened(uow, ctx)
    other = await opened(uow, ctx, "facilities")

    assert [first.key, second.key, other.key] == ["IT-1001", "IT-1002", "FAC-1001"]
    assert uow.tickets.added == [first, second, other]


async def test_opening_assigns_the_team_lead_and_says_why(
    uow: FakeUnitOfWork, ctx: Context, clock: FrozenClock
) -> None:
    ticket = await opened(uow, ctx)

    assert ticket.status == Status.ASSIGNED
    assert ticket.assignee_id == "wangfang"
    assert ticket.team_id == "it"
    assert uow.event_kinds == [EventKind.TICKET_OPENED, EventKind.TICKET_ASSIGNED]
    opened_event, assigned_event = uow.events
    assert opened_event.actor_id == "zhangwei"
    assert opened_event.channel == "slack"
    assert opened_event.at == clock.now()
    assert opened_event.data["origin"] == {"channel": "slack", "conversation": "C024BE91L"}
    assert assigned_event.actor_id is None
    assert assigned_event.data == {"assignee": "wangfang", "reason": "team it lead"}


async def test_opening_leaves_the_commit_to_the_caller(uow: FakeUnitOfWork, ctx: Context) -> None:
    await opened(uow, ctx)

    assert not uow.committed
    await uow.commit()
    assert uow.committed


async def test_opening_posts_the_card_where_it_was_raised(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx)

    assert uow.posted_cards == [(ticket.key, SLACK)]


async def test_opening_from_rest_without_a_conversation_posts_no_card(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    await opened(uow, ctx, origin=REST)

    assert uow.posted_cards == []


async def test_opening_can_skip_posting_the_card(uow: FakeUnitOfWork, ctx: Context) -> None:
    await opened(uow, ctx, post_card=False)

    assert uow.posted_cards == []


async def test_ticket_for_a_team_without_lead_waits_in_the_queue(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx, "facilities")

    assert ticket.status == Status.NEW
    assert ticket.assignee_id is None
    assert uow.event_kinds == [EventKind.TICKET_OPENED]


async def test_ticket_type_without_team_is_left_unassigned_with_its_default_priority(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx, "misc")

    assert ticket.team_id is None
    assert ticket.status == Status.NEW
    assert ticket.priority == Priority.LOW


async def test_opening_keeps_requester_language_and_cleaned_fields(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(
        uow,
        ctx,
        requester="bob",
        description="  It smokes.  ",
        fields={"amount": "1,200", "device": "laptop"},
        priority="urgent",
    )

    assert ticket.locale == "en"
    assert ticket.description == "It smokes."
    assert ticket.fields == {"amount": 1200, "device": "laptop"}
    assert ticket.priority == Priority.URGENT


async def test_description_defaults_to_the_title(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx, description="   ")

    assert ticket.description == "打印机坏了"


async def test_unknown_requester_gets_chinese_by_default(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx, requester="newcomer")

    assert ticket.requester_id == "newcomer"
    assert ticket.locale == "zh-CN"


async def test_unknown_ticket_type_is_rejected_listing_the_known_ones(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    with pytest.raises(FormInvalid) as err:
        await opened(uow, ctx, "printer")

    assert err.value.errors[0].field == "type"
    assert "facilities, it, misc" in err.value.message
    assert uow.events == []


async def test_blank_title_is_rejected(uow: FakeUnitOfWork, ctx: Context) -> None:
    with pytest.raises(FormInvalid) as err:
        await open_ticket(OpenTicket("it", "  ", "zhangwei", SLACK), uow, ctx)

    assert [(e.field, e.rule) for e in err.value.errors] == [("title", "required")]


async def test_unknown_priority_is_rejected_naming_the_choices(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    with pytest.raises(FormInvalid) as err:
        await opened(uow, ctx, priority="asap")

    assert err.value.errors[0].field == "priority"
    assert "urgent, high, normal, low" in err.value.errors[0].message
    assert uow.tickets.added == []


async def test_form_errors_name_each_field_by_its_label_in_both_languages(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    fields = {"backup": "nobody", "notes": "bad\x00byte", "amount": "lots"}
    with pytest.raises(FormInvalid) as err:
        await opened(uow, ctx, description="ok\ud800", fields=fields)

    zh, en = err.value.text("zh-CN"), err.value.text("en")
    assert "备份联系人：未知人员 'nobody'" in zh and "Backup: unknown person 'nobody'" in en
    assert "备注：包含空字符（NUL）" in zh and "Notes: contains a NUL character" in en
    assert "金额：必须是数字" in zh and "Amount: must be a number" in en
    assert "描述：包含无效的代理字符（U+D800）" in zh and "Description: contains" in en
    assert "backup" not in zh + en and "notes" not in zh + en
    assert {e.field for e in err.value.errors} == {"backup", "notes", "amount", "description"}


async def test_reassigning_to_someone_unknown_names_the_assignee_field_in_the_readers_language(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx)
    with pytest.raises(FormInvalid) as err:
        await act(
            ActOnTicket(ticket.key, Action.ASSIGN, "wangfang", SLACK, Assign("nobody")), uow, ctx
        )

    assert err.value.text("zh-CN") == "处理人：未知人员 'nobody'"
    assert err.value.text("en") == "Assignee: unknown person 'nobody'"


async def test_handlers_are_registered_by_command_type() -> None:
    assert {
        OpenTicket: open_ticket,
        ActOnTicket: act,
        AddComment: add_comment,
        CloseTicket: close_ticket,
        EditTicket: edit_ticket,
        FireTimer: fire_timer,
    } == COMMAND_HANDLERS
