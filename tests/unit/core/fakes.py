"""Hand-written fakes of core's ports, plus a small cast of people and ticket types.

The fakes keep everything in memory and record what a handler asked for, so tests assert on
outcomes (a card was posted, an event was recorded) rather than on calls to mocks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from core.bus import handle
from core.clock import FrozenClock
from core.commands import (
    ActionParams,
    ActOnTicket,
    Assign,
    FireTimer,
    OpenTicket,
    SetPriority,
    WriteComment,
)
from core.events import Event, EventKind
from core.forms import FieldKind, FieldSpec, Option, TicketType
from core.handlers.actions import ActResult
from core.i18n import Text
from core.people import Person, Role, StaticDirectory, Team
from core.ports import Context, PersonNotice
from core.ticket import ChannelRef, Comment, Ticket
from core.timekeeping import Notice
from core.workflow import Action

FIRST_NUMBER = 1001


class FakeTicketRepository:
    """Tickets in a dict; numbers per prefix start at 1001 like a fresh database."""

    def __init__(self, tickets: Iterable[Ticket] = ()) -> None:
        self._tickets = {t.key: t for t in tickets}
        self._next: defaultdict[str, int] = defaultdict(lambda: FIRST_NUMBER)
        self.added: list[Ticket] = []
        self.updated: list[Ticket] = []

    async def get(self, key: str) -> Ticket | None:
        return self._tickets.get(key)

    async def next_number(self, prefix: str) -> int:
        number = self._next[prefix]
        self._next[prefix] = number + 1
        return number

    def add(self, ticket: Ticket) -> None:
        self._tickets[ticket.key] = ticket
        self.added.append(ticket)

    def update(self, ticket: Ticket) -> None:
        self.updated.append(ticket)


class FakeUnitOfWork:
    """Records everything a handler queued; `committed` flips only when the caller commits."""

    def __init__(self, tickets: Iterable[Ticket] = ()) -> None:
        self.tickets = FakeTicketRepository(tickets)
        self.events: list[Event] = []
        self.comments: list[Comment] = []
        self.posted_cards: list[tuple[str, ChannelRef]] = []
        self.refreshed_cards: list[str] = []
        self.relayed_comments: list[Comment] = []
        self.notices: list[PersonNotice] = []
        self.committed = False
        self._collected = 0

    def record(self, event: Event) -> None:
        self.events.append(event)

    def collect_new_events(self) -> list[Event]:
        new, self._collected = self.events[self._collected :], len(self.events)
        return new

    def add_comment(self, comment: Comment) -> None:
        self.comments.append(comment)

    def post_card(self, ticket: Ticket, where: ChannelRef) -> None:
        self.posted_cards.append((ticket.key, where))

    def refresh_cards(self, ticket: Ticket) -> None:
        self.refreshed_cards.append(ticket.key)

    def relay_comment(self, comment: Comment) -> None:
        self.relayed_comments.append(comment)

    def notify_person(self, notice: PersonNotice) -> None:
        self.notices.append(notice)

    async def commit(self) -> None:
        self.committed = True

    @property
    def event_kinds(self) -> list[EventKind]:
        return [e.kind for e in self.events]


# --- the cast -------------------------------------------------------------------------------

LI_LEI = Person("lilei", Text("Li Lei", "李雷"), roles=frozenset({Role.AGENT}))
HAN_MEIMEI = Person("hanmeimei", Text("Han Meimei", "韩梅梅"), roles=frozenset({Role.AGENT}))
ALICE = Person("alice", Text("Alice", "爱丽丝"), locale="en", roles=frozenset({Role.AGENT}))
WANG_FANG = Person("wangfang", Text("Wang Fang", "王芳"), roles=frozenset({Role.LEAD}))
CHEN_JING = Person("chenjing", Text("Chen Jing", "陈静"), roles=frozenset({Role.MANAGER}))
ZHANG_WEI = Person("zhangwei", Text("Zhang Wei", "张伟"))  # a requester, in no team
BOB = Person("bob", Text("Bob"), locale="en")  # an English-speaking requester
ZHAO_LEI = Person("zhaolei", Text("Zhao Lei", "赵磊"), roles=frozenset({Role.AGENT}))
ROOT = Person("root", Text("Admin", "管理员"), roles=frozenset({Role.ADMIN}))

IT_TEAM = Team(
    "it",
    Text("IT", "IT 支持"),
    members=("lilei", "hanmeimei", "alice"),
    lead="wangfang",
    manager="chenjing",
)
# a team without a lead: its tickets wait in the queue for someone to claim them
FACILITIES = Team("facilities", Text("Facilities", "行政"), members=("zhaolei",))

LAPTOP = Option("laptop", Text("Laptop", "笔记本电脑"))
MONITOR = Option("monitor", Text("Monitor", "显示器"))
VPN = Option("vpn", Text("VPN", "VPN"))

IT_TYPE = TicketType(
    id="it",
    prefix="IT",
    name=Text("IT request", "IT 请求"),
    fields=(
        FieldSpec("device", FieldKind.SELECT, Text("Device", "设备"), options=(LAPTOP, MONITOR)),
        FieldSpec("topics", FieldKind.MULTI_SELECT, Text("Topics", "主题"), options=(VPN, LAPTOP)),
        FieldSpec("amount", FieldKind.NUMBER, Text("Amount", "金额")),
        FieldSpec("backup", FieldKind.PERSON, Text("Backup", "备份联系人")),
        FieldSpec("needed_by", FieldKind.DATE, Text("Needed by", "需要日期")),
        FieldSpec("screenshots", FieldKind.ATTACHMENT, Text("Screenshots", "截图")),
        FieldSpec("notes", FieldKind.TEXT, Text("Notes", "备注")),
    ),
    default_team="it",
)
FACILITIES_TYPE = TicketType(
    id="facilities", prefix="FAC", name=Text("Facilities", "行政"), default_team="facilities"
)
MISC_TYPE = TicketType(id="misc", prefix="MISC", name=Text("Other", "其他"), default_priority="low")

EVERYONE = (LI_LEI, HAN_MEIMEI, ALICE, WANG_FANG, CHEN_JING, ZHANG_WEI, BOB, ZHAO_LEI, ROOT)

SLACK = ChannelRef("slack", "C024BE91L")
REST = ChannelRef("rest")


def make_context(clock: FrozenClock | None = None) -> Context:
    return Context(
        types={t.id: t for t in (IT_TYPE, FACILITIES_TYPE, MISC_TYPE)},
        directory=StaticDirectory(EVERYONE, (IT_TEAM, FACILITIES)),
        clock=clock or FrozenClock(),
    )


# --- driving the handlers the way a chat channel would ----------------------------------------


async def opened(
    uow: FakeUnitOfWork,
    ctx: Context,
    type_id: str = "it",
    requester: str = "zhangwei",
    **kwargs: Any,
) -> Ticket:
    """Open a ticket from Slack (unless `origin` says otherwise)."""
    cmd = OpenTicket(type_id, "打印机坏了", requester, kwargs.pop("origin", SLACK), **kwargs)
    ticket: Ticket = await handle(cmd, uow, ctx)
    return ticket


async def press(
    uow: FakeUnitOfWork, ctx: Context, key: str, action: Action, actor: str, **params: Any
) -> ActResult:
    """Press a card button (params carry a select's choice or a comment's text)."""
    result: ActResult = await handle(
        ActOnTicket(key, action, actor, SLACK, typed_params(action, params)), uow, ctx
    )
    return result


def typed_params(action: Action, raw: dict[str, Any]) -> ActionParams:
    """What a channel parses from a select or a comment box, from keyword arguments."""
    if action == Action.ASSIGN:
        return Assign(str(raw.get("assignee", "")))
    if action == Action.SET_PRIORITY:
        return SetPriority(str(raw.get("priority")))
    if action == Action.COMMENT or (action in (Action.WAIT, Action.RESOLVE) and "body" in raw):
        return WriteComment(str(raw.get("body", "")))
    return None


async def accepted_by_li_lei(uow: FakeUnitOfWork, ctx: Context) -> Ticket:
    ticket = await opened(uow, ctx)
    await press(uow, ctx, ticket.key, Action.ACCEPT, "lilei")
    return ticket


async def tick(uow: FakeUnitOfWork, ctx: Context, ticket: Ticket) -> list[Notice]:
    """What the scheduler does when the ticket's timer is due."""
    assert ticket.wake_at is not None
    assert isinstance(ctx.clock, FrozenClock)
    ctx.clock.set(max(ctx.clock.now(), ticket.wake_at))
    notices: list[Notice] = await handle(FireTimer(ticket.key, ticket.timer_generation), uow, ctx)
    return notices
