"""Text no database can store (a NUL, an unpaired surrogate) is refused naming its field."""

from __future__ import annotations

import pytest

from core.clock import FrozenClock
from core.commands import AddComment, OpenTicket
from core.errors import FormInvalid, NotFound
from core.handlers.comments import add_comment
from core.handlers.opening import open_ticket
from core.ports import Context
from core.workflow import Action

from .fakes import REST, FakeUnitOfWork, make_context, opened, press


@pytest.fixture
def ctx() -> Context:
    return make_context(FrozenClock())


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def _opening(title: str, description: str = "", **fields: object) -> OpenTicket:
    return OpenTicket("it", title, "zhangwei", REST, description, fields)


@pytest.mark.parametrize("bad", ["\ud800", "printer \x00 broken", "\udfff tail"])
async def test_a_title_the_database_cannot_store_is_refused_naming_the_title(
    uow: FakeUnitOfWork, ctx: Context, bad: str
) -> None:
    with pytest.raises(FormInvalid) as err:
        await open_ticket(_opening(bad), uow, ctx)

    assert [(e.field, e.rule) for e in err.value.errors] == [("title", "text")]
    assert uow.tickets.added == []


async def test_every_unstorable_field_is_named_at_once_with_the_other_form_errors(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    with pytest.raises(FormInvalid) as err:
        await open_ticket(
            _opening(
                "\x00",
                "steps: \ud83d",
                notes="see \x00 log",
                screenshots=["att-1", "att-\udc80"],
                amount="lots",
            ),
            uow,
            ctx,
        )

    assert [(e.field, e.rule) for e in err.value.errors] == [
        ("title", "text"),
        ("description", "text"),
        ("notes", "text"),
        ("screenshots", "text"),
        ("amount", "type"),
    ]
    assert err.value.errors[1].text("en") == "contains an unpaired surrogate (U+D83D)"
    assert err.value.errors[0].text("zh-CN") == "包含空字符（NUL）"


async def test_a_comment_the_database_cannot_store_is_refused_naming_the_body(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx)

    with pytest.raises(FormInvalid) as err:
        await add_comment(AddComment(ticket.key, "lilei", "ok \ud800", REST), uow, ctx)

    assert [(e.field, e.rule) for e in err.value.errors] == [("body", "text")]
    assert uow.comments == []


async def test_a_button_carrying_unstorable_text_is_refused_naming_the_parameter(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx)

    with pytest.raises(FormInvalid) as err:
        await press(uow, ctx, ticket.key, Action.COMMENT, "lilei", body="\x00")

    assert [(e.field, e.rule) for e in err.value.errors] == [("body", "text")]
    assert uow.comments == []


async def test_a_ticket_key_the_database_cannot_store_is_not_found(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    with pytest.raises(NotFound, match="IT-\ufffd"):
        await add_comment(AddComment("IT-\ud800", "lilei", "hi", REST), uow, ctx)
