"""People are kept informed: one line each, to the right person, in their own language."""

from __future__ import annotations

import pytest

from core.i18n import Locale
from core.ports import Context
from core.workflow import Action
from tests.unit.core.fakes import FakeUnitOfWork, make_context, opened, press


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def ctx() -> Context:
    return make_context()


def told(uow: FakeUnitOfWork, person: str) -> list[str]:
    return [n.text for n in uow.notices if n.person_id == person]


async def test_requester_hears_accepted_waiting_resolved_and_reopened(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx)  # requested by 张伟, assigned to the lead 王芳
    await press(uow, ctx, ticket.key, Action.ACCEPT, "wangfang")
    await press(uow, ctx, ticket.key, Action.WAIT, "wangfang", body="哪一层？")
    await press(uow, ctx, ticket.key, Action.RESOLVE, "wangfang", body="换了硒鼓")
    await press(uow, ctx, ticket.key, Action.REOPEN, "wangfang")

    k = ticket.key
    assert told(uow, "zhangwei") == [
        f"{k} 打印机坏了：王芳 已受理。",
        f"{k} 打印机坏了：王芳 需要你的回复：哪一层？",
        f"{k} 打印机坏了：王芳 已解决：换了硒鼓",
        f"{k} 打印机坏了：王芳 重新打开了工单。",
    ]
    # the question and the resolution are public replies too
    assert [c.body for c in uow.comments] == ["哪一层？", "换了硒鼓"]
    assert all(c.public for c in uow.comments)


async def test_an_english_requester_hears_in_english(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx, requester="bob")
    await press(uow, ctx, ticket.key, Action.ACCEPT, "wangfang")
    await press(uow, ctx, ticket.key, Action.RESOLVE, "wangfang")
    assert told(uow, "bob") == [
        f"{ticket.key} 打印机坏了: accepted by Wang Fang.",
        f"{ticket.key} 打印机坏了: resolved by Wang Fang.",
    ]


async def test_nobody_is_told_what_they_did_themselves(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx)
    await press(uow, ctx, ticket.key, Action.CANCEL, "zhangwei")
    await press(uow, ctx, ticket.key, Action.REOPEN, "zhangwei")
    # the requester reopened it: the assignee is the one to hear of it
    assert told(uow, "zhangwei") == []
    assert told(uow, "wangfang")[-1] == f"{ticket.key} 打印机坏了：张伟 重新打开了工单。"


async def test_a_take_over_is_recorded_and_the_previous_assignee_told(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx)
    await press(uow, ctx, ticket.key, Action.ACCEPT, "alice")

    takeover = uow.events[-1]
    assert takeover.data == {"previous": "wangfang", "assignee": "alice"}
    assert (
        told(uow, "wangfang")[-1]
        == f"爱丽丝 接手了 {ticket.key} 打印机坏了，这张工单不再由你处理。"
    )


async def test_reassigning_tells_the_new_and_the_previous_assignee(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx)
    await press(uow, ctx, ticket.key, Action.ASSIGN, "lilei", assignee="alice")
    assert told(uow, "alice") == [f"{ticket.key} 打印机坏了 is now assigned to you (by Li Lei)."]
    assert told(uow, "wangfang") == [
        f"{ticket.key} 打印机坏了 已分派给你。",
        f"{ticket.key} 打印机坏了 已由 李雷 转派给 爱丽丝。",
    ]


async def test_a_repeated_press_tells_nobody_twice(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx)
    await press(uow, ctx, ticket.key, Action.ACCEPT, "wangfang")
    await press(uow, ctx, ticket.key, Action.ACCEPT, "wangfang")
    assert told(uow, "zhangwei") == [f"{ticket.key} 打印机坏了：王芳 已受理。"]


async def test_every_line_is_written_in_both_languages_each_naming_people_in_its_own(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx)
    await press(uow, ctx, ticket.key, Action.ASSIGN, "lilei", assignee="alice")
    k = ticket.key

    to_lead = [dict(n.texts) for n in uow.notices if n.person_id == "wangfang"]
    assert to_lead[-1] == {
        "zh-CN": f"{k} 打印机坏了 已由 李雷 转派给 爱丽丝。",
        "en": f"{k} 打印机坏了 was reassigned to Alice by Li Lei.",
    }
    # `text` stays the recipient's own language (Alice's is English)
    own: list[Locale] = ["zh-CN", "en", "zh-CN"]
    assert [
        (n.person_id, n.text == n.texts[locale]) for n, locale in zip(uow.notices, own, strict=True)
    ] == [("wangfang", True), ("alice", True), ("wangfang", True)]
