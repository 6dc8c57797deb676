"""Chat commands: /help, /mine, /queue, /status answer in the asker's language; /close, /note."""

from __future__ import annotations

import pytest

from core.bus import handle
from core.chat import Answer, answer, closed_line, help_text
from core.commands import AddComment, CloseTicket
from core.conversation import ChatCommand, CommandName
from core.errors import NotFound, PermissionDenied
from core.handlers.actions import ActResult
from core.people import Person
from core.ports import Context
from core.ticket import Status, Ticket
from core.workflow import Action
from tests.unit.core.fakes import (
    BOB,
    FACILITIES,
    IT_TEAM,
    LI_LEI,
    SLACK,
    ZHANG_WEI,
    FakeUnitOfWork,
    make_context,
    opened,
    press,
)


class FakeReader:
    """core.ports.TicketReader over the fake unit of work's tickets."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow

    def _open(self) -> list[Ticket]:
        found = [t for t in self.uow.tickets.added if t.is_open]
        return sorted(found, key=lambda t: t.number, reverse=True)

    async def get(self, key: str) -> Ticket | None:
        return await self.uow.tickets.get(key)

    async def open_requested_by(self, person_id: str, limit: int) -> list[Ticket]:
        return [t for t in self._open() if t.requester_id == person_id][:limit]

    async def open_assigned_to(self, person_id: str, limit: int) -> list[Ticket]:
        return [t for t in self._open() if t.assignee_id == person_id][:limit]

    async def open_unassigned(self, team_ids: list[str], limit: int) -> list[Ticket]:
        found = [t for t in self._open() if t.assignee_id is None and t.team_id in team_ids]
        return found[:limit]


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def ctx() -> Context:
    return make_context()


async def ask(uow: FakeUnitOfWork, person: Person, command: ChatCommand) -> Answer:
    return await answer(command, person, FakeReader(uow), (IT_TEAM, FACILITIES))


def test_help_lists_every_command_in_the_persons_language() -> None:
    zh = help_text("zh-CN")
    en = help_text("en")
    for name in ("/new", "/mine", "/queue", "/status", "/close", "/note", "/help"):
        assert name in zh and name in en
    assert "内部备注" in zh and "internal note" in en


async def test_an_unknown_command_is_named_before_the_help(uow: FakeUnitOfWork) -> None:
    reply = await ask(uow, BOB, ChatCommand(CommandName.HELP, unknown="/list"))
    assert reply.text.startswith("/list is not a command.\nCommands:")
    reply = await ask(uow, ZHANG_WEI, ChatCommand(CommandName.HELP, usage_of=CommandName.NOTE))
    assert reply.text == "用法：\n/note 工单号 内容 —— 内部备注，仅团队可见"


async def test_mine_lists_my_open_requests_only(uow: FakeUnitOfWork, ctx: Context) -> None:
    first = await opened(uow, ctx)
    second = await opened(uow, ctx, type_id="facilities")
    await opened(uow, ctx, requester="bob")
    await press(uow, ctx, first.key, Action.RESOLVE, "wangfang")

    reply = await ask(uow, ZHANG_WEI, ChatCommand(CommandName.MINE))

    assert reply.tickets == (second,)
    assert reply.text == f"你的未完成工单（1 张）：\n{second.key}【新建】打印机坏了"
    empty = await ask(uow, BOB, ChatCommand(CommandName.MINE))
    assert "Your open requests (1)" in empty.text


async def test_queue_shows_my_tickets_and_my_teams_unassigned_ones(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    mine = await opened(uow, ctx)
    await press(uow, ctx, mine.key, Action.ACCEPT, "lilei")
    unassigned = await opened(uow, ctx, type_id="facilities")  # Facilities has no lead

    zhao = await ask(uow, Person("zhaolei", LI_LEI.name), ChatCommand(CommandName.QUEUE))
    assert zhao.tickets == (unassigned,)
    li = await ask(uow, LI_LEI, ChatCommand(CommandName.QUEUE))
    assert li.tickets == (mine,)
    assert li.text.startswith("你的队列：分派给你 1 张，团队未分派 0 张。")


async def test_queue_tells_a_requester_it_is_for_agents(uow: FakeUnitOfWork) -> None:
    reply = await ask(uow, BOB, ChatCommand(CommandName.QUEUE))
    assert reply.text == "/queue is for the support team; you are in no team. Try /mine."


async def test_status_answers_with_the_ticket_for_a_fresh_card(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx)
    reply = await ask(uow, BOB, ChatCommand(CommandName.STATUS, key=ticket.key))
    assert reply.card is ticket
    with pytest.raises(NotFound, match="No ticket IT-9999"):
        await ask(uow, BOB, ChatCommand(CommandName.STATUS, key="IT-9999"))


async def test_close_withdraws_an_open_ticket_and_closes_a_resolved_one(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    first = await opened(uow, ctx)
    await handle(CloseTicket(first.key, "zhangwei", SLACK), uow, ctx)
    assert first.status is Status.CANCELLED

    second = await opened(uow, ctx)
    await press(uow, ctx, second.key, Action.RESOLVE, "wangfang")
    await handle(CloseTicket(second.key, "zhangwei", SLACK), uow, ctx)
    assert second.status is Status.CLOSED


async def test_the_answer_to_close_says_in_a_sentence_what_closing_did(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    open_one = await opened(uow, ctx)
    withdrawn = await handle(CloseTicket(open_one.key, "zhangwei", SLACK), uow, ctx)
    resolved = await opened(uow, ctx)
    await press(uow, ctx, resolved.key, Action.RESOLVE, "wangfang")
    closed = await handle(CloseTicket(resolved.key, "zhangwei", SLACK), uow, ctx)

    assert isinstance(withdrawn, ActResult) and withdrawn.changed
    assert closed_line(withdrawn.ticket, "en") == (
        f"Cancelled {open_one.key} “打印机坏了”: it was not resolved yet, so closing it"
        " withdrew the request."
    )
    assert closed_line(withdrawn.ticket, "zh-CN") == (
        f"已取消 {open_one.key}“打印机坏了”：工单尚未解决，关闭即撤回了这个请求。"
    )
    assert isinstance(closed, ActResult) and closed.changed
    assert closed_line(closed.ticket, "en") == f"Closed {resolved.key} “打印机坏了”."
    assert closed_line(closed.ticket, "zh-CN") == f"已关闭 {resolved.key}“打印机坏了”。"


async def test_close_by_someone_who_may_not_withdraw_speaks_of_closing_in_both_languages(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx)  # zhangwei's; the IT team's lead is wangfang
    with pytest.raises(PermissionDenied) as refused:
        await handle(CloseTicket(ticket.key, "bob", SLACK), uow, ctx)
    await press(uow, ctx, ticket.key, Action.CANCEL, "zhangwei")
    # once it is withdrawn, anyone asking is told so, not refused
    again = await handle(CloseTicket(ticket.key, "lilei", SLACK), uow, ctx)

    key = ticket.key
    assert refused.value.message == (
        f"Only the requester or the team's lead may close {key} before it is resolved."
    )
    assert refused.value.text("zh-CN") == f"{key} 尚未解决，只有提单人或团队负责人可以关闭它。"
    assert "Cancel" not in refused.value.text("en") and "撤销" not in refused.value.text("zh-CN")
    assert isinstance(again, ActResult) and not again.changed
    assert again.text("zh-CN") == "工单已是“已取消”状态。"
    assert again.text("en") == "The ticket is already Cancelled."


async def test_note_is_for_the_team_and_a_requester_is_told_why_not(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx)
    await handle(AddComment(ticket.key, "lilei", "上周也报过", SLACK, public=False), uow, ctx)
    assert [(c.body, c.public) for c in uow.comments] == [("上周也报过", False)]

    with pytest.raises(PermissionDenied, match="内部备注仅限支持团队"):
        await handle(
            AddComment(ticket.key, "zhangwei", "我也要备注", SLACK, public=False), uow, ctx
        )
