"""Editing a ticket after opening: opening's rules, all errors at once, versions, re-routing."""

from __future__ import annotations

import pytest

from core.assignment import AssignmentPolicy, Strategy
from core.bus import handle
from core.commands import EditTicket
from core.errors import Conflict, FormInvalid, PermissionDenied
from core.events import EventKind
from core.handlers.editing import EditResult
from core.ports import Context, Schedule
from core.ticket import Priority, Status, Ticket
from core.workflow import Action
from tests.unit.core.fakes import SLACK, FakeUnitOfWork, make_context, opened, press


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def ctx() -> Context:
    return make_context()


async def edit(
    uow: FakeUnitOfWork, ctx: Context, key: str, who: str, **changes: object
) -> EditResult:
    result: EditResult = await handle(EditTicket(key, who, SLACK, **changes), uow, ctx)  # type: ignore[arg-type]
    return result


async def test_an_edit_changes_the_ticket_is_audited_and_refreshes_cards(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx)
    uow.refreshed_cards.clear()
    result = await edit(
        uow, ctx, ticket.key, "zhangwei", title="3 楼打印机卡纸", priority="high",
        fields={"device": "laptop"}, expected_version=ticket.version,
    )  # fmt: skip
    assert result.changed
    assert (ticket.title, ticket.priority, ticket.fields) == (
        "3 楼打印机卡纸",
        Priority.HIGH,
        {"device": "laptop"},
    )
    assert uow.events[-1].kind is EventKind.TICKET_EDITED
    assert uow.events[-1].data["changes"] == {
        "title": {"from": "打印机坏了", "to": "3 楼打印机卡纸"},
        "priority": {"from": "normal", "to": "high"},
        "fields.device": {"from": None, "to": "laptop"},
    }
    assert uow.refreshed_cards == [ticket.key]


async def test_every_invalid_field_is_reported_at_once(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx)
    with pytest.raises(FormInvalid) as raised:
        await edit(
            uow, ctx, ticket.key, "lilei", title=" ", priority="asap",
            fields={"device": "phone", "amount": "many"},
        )  # fmt: skip
    assert {e.field for e in raised.value.errors} == {"title", "priority", "device", "amount"}
    assert ticket.title == "打印机坏了"  # nothing changed


async def test_a_stale_version_is_a_conflict_not_an_overwrite(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx)
    seen = ticket.version
    await press(uow, ctx, ticket.key, Action.SET_PRIORITY, "wangfang", priority="high")
    ticket.version += 1  # what storage does when it saves the press
    with pytest.raises(Conflict, match="已被修改") as raised:
        await edit(uow, ctx, ticket.key, "zhangwei", title="新标题", expected_version=seen)
    assert "changed since you read it" in raised.value.text("en")


async def test_someone_outside_the_ticket_may_not_edit_it(
    uow: FakeUnitOfWork, ctx: Context
) -> None:
    ticket = await opened(uow, ctx)
    with pytest.raises(PermissionDenied, match="only the requester, the assignee or the team"):
        await edit(uow, ctx, ticket.key, "bob", title="mine now")


async def test_a_closed_ticket_cannot_be_edited(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx)
    await press(uow, ctx, ticket.key, Action.CANCEL, "zhangwei")
    with pytest.raises(Conflict, match="不能执行“修改”"):
        await edit(uow, ctx, ticket.key, "zhangwei", title="算了")


async def test_nothing_to_change_is_not_an_event(uow: FakeUnitOfWork, ctx: Context) -> None:
    ticket = await opened(uow, ctx)
    before = list(uow.events)
    result = await edit(uow, ctx, ticket.key, "zhangwei", title="打印机坏了")
    assert not result.changed and uow.events == before


async def test_changing_the_type_of_an_unassigned_ticket_routes_it_again(
    uow: FakeUnitOfWork,
) -> None:
    policy = AssignmentPolicy((Strategy.ROUND_ROBIN,))
    base = make_context()
    ctx = Context(
        base.types, base.directory, base.clock, Schedule(assignment={"facilities": policy})
    )
    ticket = await opened(uow, ctx, type_id="misc")  # no team: nobody holds it
    assert _holder(ticket) is None

    await edit(uow, ctx, ticket.key, "zhangwei", type_id="facilities")

    assert (ticket.type_id, ticket.team_id) == ("facilities", "facilities")
    assert (_holder(ticket), ticket.status) == ("zhaolei", Status.ASSIGNED)
    assert uow.event_kinds[-2:] == [EventKind.TICKET_EDITED, EventKind.TICKET_ASSIGNED]
    assert [n.person_id for n in uow.notices][-1] == "zhaolei"


def _holder(ticket: Ticket) -> str | None:
    """Read afresh (a plain attribute read stays narrowed across the edit)."""
    return ticket.assignee_id
