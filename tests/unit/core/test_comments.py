"""Comments: who may add them, what they must contain, and when they count as a response."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.clock import FrozenClock
from core.commands import AddComment
from core.errors import FormInvalid, NotFound, PermissionDenied
from core.events import EventKind
from core.handlers.comments import add_comment
from core.ports import Context
from core.ticket import ChannelRef
from core.workflow import Action

from .fakes import FakeUnitOfWork, make_context, opened, press


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def ctx(clock: FrozenClock) -> Context:
    return make_context(clock)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def comment(key: str, author: str, body: str, public: bool = True) -> AddComment:
    return AddComment(key, author, body, ChannelRef("slack", "C024BE91L", "1700000000.1"), public)


async def test_agent_comment_counts_as_first_response(
    uow: FakeUnitOfWork, ctx: Context, clock: FrozenClock
) -> None:
    ticket = await opened(uow, ctx)
    clock.advance(timedelta(minutes=5))

    saved = await add_comment(comment(ticket.key, "lilei", "  重启一下试试  "), uow, ctx)

    assert saved.body == "重启一下试试"
    assert ticket.first_response_at == clock.now()
    assert uow.comments == [saved]
    assert uow.relayed_comments == [saved]
    assert uow.refreshed_cards == [ticket.key]
    assert uow.events[-1].kind == EventKind.COMMENT_ADDED
    assert uow.events[-1].data == {"body": "重启一下试试", "public": True}


async def test_first_response_time_is_kept_from_the_first_reply(
    uow: FakeUnitOfWork, ctx: Context, clock: FrozenClock
) -> None:
    ticket = await opened(uow, ctx)
    await add_comment(comment(ticket.key, "lilei", "收到"), uow, ctx)
    first = clock.now()
    clock.advance(timedelta(hours=1))

    await add_comment(comment(ticket.key, "wangfang", "跟进中"), uow, ctx)

    assert ticket.first_response_at == first
    assert ticket.updated_at == clock.now()


async def test_requester_comment_is_not_a_first_response(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx)

    await add_comment(comment(ticket.key, "zhangwei", "还是不行"), uow, ctx)

    assert ticket.first_response_at is None


async def test_private_note_is_not_a_first_response(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx)

    await add_comment(comment(ticket.key, "lilei", "内部备注", public=False), uow, ctx)

    assert ticket.first_response_at is None


async def test_a_watchers_comment_is_not_a_first_response(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx)
    ticket.watchers.append("bob")

    await add_comment(comment(ticket.key, "bob", "Same here"), uow, ctx)

    assert len(uow.comments) == 1
    assert ticket.first_response_at is None


async def test_empty_comment_is_rejected(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx)

    with pytest.raises(FormInvalid) as err:
        await add_comment(comment(ticket.key, "lilei", " \n "), uow, ctx)

    assert [(e.field, e.rule) for e in err.value.errors] == [("body", "required")]
    assert (err.value.text("zh-CN"), err.value.text("en")) == (
        "评论：不能为空",
        "Comment: cannot be empty",
    )
    assert uow.comments == []


async def test_overlong_comment_is_rejected(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx)

    with pytest.raises(FormInvalid) as err:
        await add_comment(comment(ticket.key, "lilei", "x" * 10_001), uow, ctx)

    assert err.value.errors[0].rule == "max"


async def test_outsider_cannot_comment(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx)

    with pytest.raises(PermissionDenied) as err:
        await add_comment(comment(ticket.key, "bob", "hi"), uow, ctx)

    assert err.value.message == (
        "You cannot use “Comment” on IT-1001: "
        "only the requester, the assignee or the team may do that."
    )


async def test_comment_button_adds_the_comment(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx)

    result = await press(uow, ctx, ticket.key, Action.COMMENT, "lilei", body="看一下")

    assert result.changed
    assert result.ticket is ticket
    assert [c.body for c in uow.comments] == ["看一下"]


async def test_comment_on_a_missing_ticket_is_not_found(uow: FakeUnitOfWork, ctx: Context) -> None:
    with pytest.raises(NotFound, match="找不到工单 IT-1"):
        await add_comment(comment("IT-1", "lilei", "hi"), uow, ctx)
