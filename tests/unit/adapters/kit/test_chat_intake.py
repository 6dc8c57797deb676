"""The chat kit's one entry point, against a ports double: what it submits, reads and says."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from adapters.kit.conversation import ChatInbound, ChatIntake
from adapters.ports import InboundKey, Submitted
from core.chat import Answer
from core.clock import FrozenClock
from core.commands import AddComment, Command, OpenTicket
from core.conversation import ChatCommand, ConversationRules, Kind, RecentTicket
from core.forms import TicketType
from core.i18n import Locale, Text
from core.people import Person
from core.ticket import ChannelRef, Comment, Ticket

ZHAO = Person("zhao.li", Text("Zhao Li", "赵丽"))
ROOM = ChannelRef("chat", "room-1", message="m1")
IT = TicketType("it", "IT", Text("IT", "IT"))
PURCHASE = TicketType("purchase", "PR", Text("Purchase request", "采购申请"))


class Ports:
    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self.submitted: list[Command] = []
        self.reads = 0
        self.opened: RecentTicket | None = None
        self.seen: dict[str, Any] = {}  # dedupe key -> remembered response

    @property
    def ticket_types(self) -> dict[str, TicketType]:
        return {"it": IT, "purchase": PURCHASE}

    @property
    def conversation_rules(self) -> ConversationRules:
        return ConversationRules()

    async def submit(
        self,
        command: Command,
        *,
        inbound: InboundKey | None = None,
        respond: Callable[[Any], Any] | None = None,
    ) -> Submitted:
        assert inbound is not None and respond is not None
        if inbound.key in self.seen:
            return Submitted(None, True, self.seen[inbound.key])
        self.submitted.append(command)
        value: Any
        if isinstance(command, OpenTicket):
            now = self.clock.now()
            value = Ticket("IT-1001", "it", 1001, command.title, command.requester_id, now, now)
            self.opened = RecentTicket("IT-1001", self.clock.now())
        else:
            assert isinstance(command, AddComment)
            now = self.clock.now()
            value = Comment(command.key, command.author_id, command.body, now, command.origin)
            assert self.opened is not None
            self.opened = RecentTicket(self.opened.key, self.opened.opened_at, told=True)
        self.seen[inbound.key] = respond(value)
        return Submitted(value)

    async def notify(
        self, where: ChannelRef, text: Mapping[Locale, str], *, ephemeral_to: str | None = None
    ) -> None:
        raise AssertionError("the kit answers through the channel's reply")

    async def last_opened(
        self, channel: str, conversation: str, person_id: str, type_id: str | None = None
    ) -> RecentTicket | None:
        self.reads += 1
        return self.opened

    async def answer(self, command: ChatCommand, person: Person) -> Answer:
        raise AssertionError("not used")

    async def show_card(
        self, ticket_key: str, where: ChannelRef, *, inbound: InboundKey | None = None
    ) -> None:
        raise AssertionError("not used")


class Said:
    def __init__(self) -> None:
        self.texts: list[Mapping[Locale, str]] = []
        self.errors: list[bool] = []

    async def __call__(self, text: Mapping[Locale, str], *, error: bool = False) -> None:
        self.texts.append(text)
        self.errors.append(error)


def _message(text: str, key: str) -> ChatInbound:
    return ChatInbound(ZHAO, ROOM, text, InboundKey("chat", key), "it", help_desk=True)


async def test_chatter_and_commands_cost_no_read_and_submit_nothing() -> None:
    ports, said = Ports(FrozenClock()), Said()
    kit = ChatIntake("chat", ports, ports.clock)
    chatter = await kit.take(_message("谢谢！", "a"), said)
    helped = await kit.take(_message("/help", "b"), said)

    assert (chatter.kind, helped.kind) == (Kind.CHATTER, Kind.COMMAND)
    assert ports.reads == 0 and ports.submitted == []
    assert len(said.texts) == 1 and "/mine" in said.texts[0]["en"]


async def test_a_follow_up_is_told_once_and_a_redelivery_says_nothing() -> None:
    clock = FrozenClock()
    ports, said = Ports(clock), Said()
    kit = ChatIntake("chat", ports, clock)
    opened = await kit.take(_message("打印机卡纸", "1"), said)
    clock.advance(timedelta(minutes=1))
    first = await kit.take(_message("三楼", "2"), said)
    again = await kit.take(_message("三楼", "2"), said)  # the platform delivered it twice
    second = await kit.take(_message("东边", "3"), said)
    clock.advance(timedelta(minutes=6))
    later = await kit.take(_message("另一个问题", "4"), said)

    assert (opened.kind, opened.ticket) == (Kind.NEW_TICKET, "IT-1001")
    assert [(o.kind, o.ticket) for o in (first, again, second)] == [(Kind.FOLLOW_UP, "IT-1001")] * 3
    assert again.duplicate and later.kind is Kind.NEW_TICKET
    assert [type(c).__name__ for c in ports.submitted] == [
        "OpenTicket",
        "AddComment",
        "AddComment",
        "OpenTicket",
    ]
    assert [t["en"].split(".")[0] for t in said.texts] == ["Added to IT-1001"]


async def test_a_footer_is_stored_under_the_words_but_not_read_to_classify_them() -> None:
    clock = FrozenClock()
    ports, said = Ports(clock), Said()
    kit = ChatIntake("chat", ports, clock)
    voice = "(by voice)"
    chatter = await kit.take(replace(_message("谢谢", "a"), footer=voice), said)
    await kit.take(replace(_message("打印机卡纸", "b"), footer=voice), said)
    added = await kit.take(replace(_message("在三楼", "c"), footer=voice), said)

    assert chatter.kind is Kind.CHATTER
    opened, comment = ports.submitted
    assert isinstance(opened, OpenTicket) and isinstance(comment, AddComment)
    assert (opened.title, opened.description) == ("打印机卡纸", "打印机卡纸\n\n(by voice)")
    assert comment.body == added.comment == "在三楼\n\n(by voice)"


async def test_new_with_an_unknown_type_opens_nothing_and_lists_the_types_privately() -> None:
    ports, said = Ports(FrozenClock()), Said()
    kit = ChatIntake("chat", ports, ports.clock)
    done = await kit.take(_message("/new nosuch", "n1"), said)

    assert done.form is None and done.refused and ports.submitted == []
    assert said.errors == [True]
    assert said.texts[0]["en"] == (
        "There is no ticket type “nosuch”. Types you can open: it (IT), "
        "purchase (Purchase request). For example: /new it"
    )
    assert said.texts[0]["zh-CN"] == (
        "没有“nosuch”这个工单类型。可以新建的类型：it（IT）、purchase（采购申请）。例如：/new it"
    )


async def test_new_takes_a_type_by_its_id_or_name_in_any_case() -> None:
    ports, said = Ports(FrozenClock()), Said()
    kit = ChatIntake("chat", ports, ports.clock)
    forms = [
        (await kit.take(_message(text, f"n{i}"), said)).form
        for i, text in enumerate(("/new PURCHASE", "/新建 采购申请", "/new"))
    ]

    assert [f.type_id if f else None for f in forms] == ["purchase", "purchase", "it"]
    assert said.texts == []
