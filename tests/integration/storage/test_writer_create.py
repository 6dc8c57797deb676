"""Opening tickets through the group-commit writer."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FrozenClock
from core.errors import FormInvalid
from core.handlers.opening import open_ticket
from core.ticket import Ticket
from storage.unit_of_work import StorageUnitOfWork
from storage.writer import LINGER_TURNS, Writer
from tests.integration.storage.world import context, open_one, opening, rows, scalar


async def test_500_concurrent_openings_get_gap_free_keys_from_it_1001(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)
    tickets = await asyncio.gather(*(open_one(writer, ctx, f"printer {i}") for i in range(500)))

    keys = sorted(t.key for t in tickets)
    assert keys == sorted(f"IT-{n}" for n in range(1001, 1501))
    assert all(t.id is not None for t in tickets)
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 500
    assert await scalar(engine, "SELECT value FROM counters WHERE name = 'ticket:IT'") == 1500


async def test_every_opening_is_audited_and_queues_its_card(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ticket = await open_one(writer, context(clock))

    events = await rows(
        engine, "SELECT kind, actor_id FROM events WHERE ticket_id = :id ORDER BY id", id=ticket.id
    )
    assert [tuple(e) for e in events] == [("TicketOpened", "alice")]
    posts = await rows(
        engine, "SELECT kind, channel, status FROM outbox WHERE ticket_id = :id", id=ticket.id
    )
    assert [tuple(p) for p in posts] == [("card_post", "slack", "pending")]


async def test_numbering_continues_after_a_restart(engine: AsyncEngine, clock: FrozenClock) -> None:
    ctx = context(clock)
    first = Writer(engine, clock=clock)
    await first.start()
    await open_one(first, ctx)
    await first.stop()
    second = Writer(engine, clock=clock)
    await second.start()
    ticket = await open_one(second, ctx)
    await second.stop()

    assert ticket.key == "IT-1002"


async def test_a_failing_submission_does_not_fail_its_batch_neighbours_nor_leave_a_gap(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)

    async def numbered_then_broken(uow: StorageUnitOfWork) -> None:
        await open_ticket(opening("half done"), uow, ctx)
        raise RuntimeError("renderer exploded")

    async def invalid(uow: StorageUnitOfWork) -> None:
        await open_ticket(opening("   "), uow, ctx)

    results = await asyncio.gather(
        open_one(writer, ctx, "one"),
        writer.submit(numbered_then_broken, reserve="IT"),
        writer.submit(invalid, reserve="IT"),
        open_one(writer, ctx, "two"),
        return_exceptions=True,
    )

    assert isinstance(results[1], RuntimeError)
    assert isinstance(results[2], FormInvalid)
    titles = await rows(engine, "SELECT key, title FROM tickets ORDER BY number")
    assert [tuple(r) for r in titles] == [("IT-1001", "one"), ("IT-1002", "two")]
    assert await scalar(engine, "SELECT count(*) FROM events") == 2


async def test_unused_reservations_are_handed_back(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)

    async def nothing(uow: StorageUnitOfWork) -> None:
        return None

    await asyncio.gather(
        open_one(writer, ctx), *(writer.submit(nothing, reserve="IT") for _ in range(5))
    )

    assert await scalar(engine, "SELECT value FROM counters WHERE name = 'ticket:IT'") == 1001
    assert (await open_one(writer, ctx)).key == "IT-1002"


async def test_the_dispatcher_is_woken_after_a_commit_that_queued_something_to_send(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    wakes: list[frozenset[str] | None] = []
    writer = Writer(engine, clock=clock, on_outbox=wakes.append)

    async def nothing(uow: StorageUnitOfWork) -> None:
        return None

    await writer.start()
    await writer.submit(nothing)
    quiet = len(wakes)
    await open_one(writer, context(clock))  # opened from Slack: its card post is queued
    await writer.stop()

    assert quiet == 0
    assert wakes == [frozenset({"slack"})]  # woken for the channel that has something to send


async def test_stop_finishes_what_was_queued(engine: AsyncEngine, clock: FrozenClock) -> None:
    writer = Writer(engine, clock=clock)
    await writer.start()
    pending = [asyncio.ensure_future(open_one(writer, context(clock))) for _ in range(20)]
    await asyncio.sleep(0)  # let the submissions reach the queue
    await writer.stop()

    assert len({t.key for t in await asyncio.gather(*pending)}) == 20
    with pytest.raises(RuntimeError, match="not running"):
        await open_one(writer, context(clock))


async def test_a_submission_is_freed_when_its_batch_ends_without_the_cycle_collector(
    writer: Writer, clock: FrozenClock
) -> None:
    # At a thousand messages a second, a unit of work that was a reference cycle left its
    # tickets, events and sends (and its whole batch's) for the cycle collector: passes over
    # 20,000 objects several times a second, 10-27 ms each, stalls every message waited out.
    ctx = context(clock)
    await open_one(writer, ctx)  # caches and compiled statements are made once
    units: list[weakref.ref[StorageUnitOfWork]] = []
    tickets: list[weakref.ref[Ticket]] = []

    async def work(uow: StorageUnitOfWork) -> str:
        units.append(weakref.ref(uow))
        ticket = await open_ticket(opening("printer on fire"), uow, ctx)
        tickets.append(weakref.ref(ticket))
        return ticket.key

    gc.collect()
    gc.disable()
    try:
        outcome = await writer.submit(work, reserve="IT")
        await writer.submit(_nothing)  # the next batch: the first one's locals are gone
        assert outcome.value == "IT-1002"
        assert [u() for u in units] == [None]
        assert [t() for t in tickets] == [None]
    finally:
        gc.enable()


async def _nothing(uow: StorageUnitOfWork) -> None:
    return None


async def test_on_sqlite_a_commit_is_answered_before_other_work_on_the_loop_gets_a_turn(
    engine: AsyncEngine, clock: FrozenClock, writer: Writer
) -> None:
    # Statements run on the loop's own thread: from the moment the writer takes the batch to
    # the submitter's answer nothing else should run — under load, each turn another task takes
    # here is a whole round of requests and sends added to every acknowledgement.
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's statements wait for the server: other work runs meanwhile")
    turns = 0

    async def other_work() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    try:
        for _ in range(3):
            before = turns
            await open_one(writer, context(clock))
            # one turn while the writer wakes up, those it leaves for others to join the
            # batch, one while the answer reaches its submitter; none between the commit and it
            assert turns - before <= 2 + LINGER_TURNS
    finally:
        other.cancel()


async def test_messages_read_together_share_one_transaction(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    # A socket read brings several frames; each frame's handler starts as a task of its own
    # once the reader has looked at them all, by which time the first may have submitted, and
    # a handler may await once (a person looked up) before it submits. They are one batch, not
    # one transaction for the first and another for the rest.
    batches: list[int] = []
    writer = Writer(engine, clock=clock, on_commit=batches.append)
    await writer.start()
    await asyncio.sleep(0)  # the writer waits for work, as in a running service
    ctx = context(clock)

    async def first_frame() -> None:
        asyncio.get_running_loop().call_soon(read_the_rest)
        await open_one(writer, ctx, "打印机卡纸")

    def read_the_rest() -> None:
        handlers.append(asyncio.create_task(open_one(writer, ctx, "投影仪没信号")))
        handlers.append(asyncio.create_task(looked_up_first("VPN 连不上")))

    async def looked_up_first(title: str) -> Ticket:
        await asyncio.sleep(0)
        return await open_one(writer, ctx, title)

    handlers: list[asyncio.Task[Ticket]] = []
    await first_frame()
    await asyncio.gather(*handlers)
    await writer.stop()

    assert batches == [3]
