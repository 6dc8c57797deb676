"""What the REST API reads: tickets, their audit trail and comments, filtered and paged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FrozenClock
from core.events import CommentAdded, PriorityChanged, TicketClaimed, TicketOpened
from core.ticket import ChannelRef, Status
from core.workflow import Action
from storage import queries
from storage.db import reader
from storage.queries import BadCursor, TicketFilter
from storage.tables import people
from storage.writer import Writer
from tests.integration.storage.world import WEBCHAT, comment, context, open_one, press


async def test_events_are_an_append_only_trail_in_order(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)
    ticket = await open_one(writer, ctx)
    for action in (Action.CLAIM, Action.START, Action.RESOLVE):
        clock.advance(timedelta(minutes=1))
        await press(writer, ctx, ticket.key, action, "bob")

    async with reader(engine).connect() as conn:
        trail = await queries.ticket_events(conn, ticket.key)
    assert [e.kind for e in trail] == [
        "TicketOpened",
        "TicketClaimed",
        "WorkStarted",
        "TicketResolved",
    ]
    assert [e.id for e in trail] == sorted(e.id for e in trail)
    assert [e.at.tzinfo for e in trail] == [UTC] * 4
    assert trail[-1].at == clock.now()
    assert trail[2].data == {"from": "accepted", "to": "in_progress"}


async def test_a_stored_ticket_reads_back_as_it_was_saved(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)
    opened = await open_one(writer, ctx)
    clock.advance(timedelta(minutes=3))
    result = await press(writer, ctx, opened.key, Action.CLAIM, "bob")
    assert result.value is not None

    async with reader(engine).connect() as conn:
        stored = await queries.get_ticket(conn, opened.key)
        same = await queries.ticket_by_id(conn, opened.id or 0)

    assert stored == result.value.ticket
    assert same == stored
    assert stored is not None
    assert stored.first_response_at == clock.now()
    assert stored.origin == ChannelRef("slack", "C-HELP", None, "1700000000.000100")


async def test_comments_keep_author_channel_and_visibility(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)
    ticket = await open_one(writer, ctx)
    await comment(writer, ctx, ticket.key, "alice", "来自网页的补充说明", WEBCHAT)

    async with reader(engine).connect() as conn:
        (stored,) = await queries.ticket_comments(conn, ticket.key)
    assert (stored.author_id, stored.body, stored.public) == ("alice", "来自网页的补充说明", True)
    assert stored.channel == WEBCHAT


async def test_listing_pages_newest_first_with_filters(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)
    keys = [(await open_one(writer, ctx, f"t{i}")).key for i in range(5)]
    await press(writer, ctx, keys[1], Action.CLAIM, "bob")
    await press(writer, ctx, keys[3], Action.CLAIM, "bob")

    async with reader(engine).connect() as conn:
        first, cursor = await queries.list_tickets(conn, TicketFilter(), 2, None)
        second, cursor2 = await queries.list_tickets(conn, TicketFilter(), 2, cursor)
        last, end = await queries.list_tickets(conn, TicketFilter(), 2, cursor2)
        bobs, _ = await queries.list_tickets(conn, TicketFilter(assignee="bob"), 50, None)
        new, _ = await queries.list_tickets(conn, TicketFilter(status=["new"]), 50, None)
        later, _ = await queries.list_tickets(
            conn, TicketFilter(created_from=clock.now() + timedelta(seconds=1)), 50, None
        )
        open_count = await queries.count_open(conn)

    assert [t.key for t in first + second + last] == list(reversed(keys))
    assert end is None
    assert [t.key for t in bobs] == [keys[3], keys[1]]
    assert [t.key for t in new] == [keys[4], keys[2], keys[0]]
    assert later == []
    assert open_count == 5


async def test_a_forged_cursor_is_refused(engine: AsyncEngine) -> None:
    async with reader(engine).connect() as conn:
        with pytest.raises(BadCursor, match="start again"):
            await queries.list_tickets(conn, TicketFilter(), 10, "bm9wZQ")


async def test_instants_come_back_in_utc_whatever_zone_they_were_given_in(
    engine: AsyncEngine,
) -> None:
    five_pm_in_shanghai = datetime(2026, 1, 5, 17, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

    async with engine.begin() as conn:
        await conn.execute(
            people.insert().values(
                id="p",
                name_en="P",
                name_zh="P",
                locale="en",
                roles=[],
                created_at=five_pm_in_shanghai,
            )
        )
        stored = (await conn.execute(people.select())).one().created_at

    assert stored == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert stored.tzinfo is UTC


async def test_a_naive_instant_is_refused(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        with pytest.raises(StatementError, match="timezone-aware"):
            await conn.execute(
                people.insert().values(
                    id="p",
                    name_en="P",
                    name_zh="P",
                    locale="en",
                    roles=[],
                    created_at=datetime(2026, 1, 5),
                )
            )


async def test_the_stored_trail_reads_back_as_the_typed_events_core_recorded(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)
    ticket = await open_one(writer, ctx)
    await press(writer, ctx, ticket.key, Action.CLAIM, "bob")
    await press(writer, ctx, ticket.key, Action.SET_PRIORITY, "bob", priority="high")
    await comment(writer, ctx, ticket.key, "bob", "on it", WEBCHAT)

    async with reader(engine).connect() as conn:
        trail = await queries.ticket_events(conn, ticket.key)
    events = [e.typed(ticket.key) for e in trail]

    assert [type(e) for e in events] == [TicketOpened, TicketClaimed, PriorityChanged, CommentAdded]
    assert events[1] == TicketClaimed(
        ticket_key=ticket.key,
        at=clock.now(),
        actor_id="bob",
        channel="slack",
        from_status=Status.NEW,
        to_status=Status.ACCEPTED,
    )
    assert [e.data for e in events] == [e.data for e in trail]
