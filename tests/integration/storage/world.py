"""A small helpdesk for storage tests: an IT ticket type, a requester and two agents."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FrozenClock
from core.commands import (
    ActionParams,
    ActOnTicket,
    AddComment,
    Assign,
    OpenTicket,
    SetPriority,
    WriteComment,
)
from core.forms import TicketType
from core.handlers.actions import ActResult, act
from core.handlers.comments import add_comment
from core.handlers.opening import open_ticket
from core.i18n import Text
from core.people import Person, Role, StaticDirectory, Team
from core.ports import Context
from core.ticket import ChannelRef, Comment, Ticket
from core.workflow import Action
from storage.unit_of_work import StorageUnitOfWork
from storage.writer import Writer, WriteResult

IT = TicketType(id="it", prefix="IT", name=Text("IT support", "IT 支持"), default_team="it")
ALICE = Person("alice", Text("Alice", "爱丽丝"), locale="en")
BOB = Person("bob", Text("Bob", "鲍勃"), locale="en", roles=frozenset({Role.AGENT}))
CAROL = Person("carol", Text("Carol", "卡罗尔"), locale="en", roles=frozenset({Role.AGENT}))
# no lead: new tickets wait in the team queue, so either agent may claim them
TEAM = Team("it", Text("IT", "IT"), members=("bob", "carol"))

SLACK = ChannelRef("slack", "C-HELP", None, "1700000000.000100")
WEBCHAT = ChannelRef("webchat", "session-1")


def context(clock: FrozenClock) -> Context:
    return Context(
        types={"it": IT}, directory=StaticDirectory([ALICE, BOB, CAROL], [TEAM]), clock=clock
    )


def opening(title: str = "VPN is down", where: ChannelRef = SLACK) -> OpenTicket:
    return OpenTicket(type_id="it", title=title, requester_id="alice", origin=where)


async def open_one(
    writer: Writer, ctx: Context, title: str = "VPN is down", where: ChannelRef = SLACK
) -> Ticket:
    async def work(uow: StorageUnitOfWork) -> Ticket:
        return await open_ticket(opening(title, where), uow, ctx)

    outcome = await writer.submit(work, reserve="IT")
    assert outcome.value is not None
    return outcome.value


async def press(
    writer: Writer, ctx: Context, key: str, action: Action, actor: str, **params: Any
) -> WriteResult[ActResult]:
    async def work(uow: StorageUnitOfWork) -> ActResult:
        return await act(ActOnTicket(key, action, actor, SLACK, _typed(action, params)), uow, ctx)

    return await writer.submit(work)


async def comment(
    writer: Writer, ctx: Context, key: str, author: str, body: str, where: ChannelRef
) -> Comment:
    async def work(uow: StorageUnitOfWork) -> Comment:
        return await add_comment(AddComment(key, author, body, where), uow, ctx)

    outcome = await writer.submit(work)
    assert outcome.value is not None
    return outcome.value


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


def _typed(action: Action, raw: dict[str, Any]) -> ActionParams:
    if action == Action.ASSIGN:
        return Assign(str(raw.get("assignee", "")))
    if action == Action.SET_PRIORITY:
        return SetPriority(str(raw.get("priority")))
    if action == Action.COMMENT:
        return WriteComment(str(raw.get("body", "")))
    return None
