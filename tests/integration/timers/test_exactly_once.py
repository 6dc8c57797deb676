"""Several scheduler replicas racing on the same due timers: every timer fires exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.scheduler import Scheduler
from core.clock import FrozenClock
from storage import timers
from storage.db import create_engine
from storage.migrate import migrate
from storage.tables import outbox
from storage.writer import Writer
from tests.dbs import fresh_database
from tests.integration.timers.world import REMIND_AFTER, context, open_many, scheduler

DUE = 10_000


@pytest.fixture
async def pg_url(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database("pg", tmp_path) as url:
        await migrate(url)
        yield url


async def _replicas(stack: AsyncExitStack, url: str, clock: FrozenClock, n: int) -> list[Scheduler]:
    """n independent replicas: each its own engine (connection pool), writer and scheduler."""
    found = []
    for i in range(n):
        engine = create_engine(url)
        stack.push_async_callback(engine.dispose)
        writer = Writer(engine, clock=clock)
        await writer.start()
        stack.push_async_callback(writer.stop)
        found.append(scheduler(engine, writer, context(clock), f"replica-{i}", batch=500))
    return found


def _observer(stack: AsyncExitStack, url: str) -> AsyncEngine:
    engine = create_engine(url)
    stack.push_async_callback(engine.dispose)
    return engine


async def _drain(replicas: list[Scheduler], engine: AsyncEngine) -> None:
    async def run(s: Scheduler) -> None:
        while True:
            if not await s.tick():
                async with engine.connect() as conn:
                    if not await conn.scalar(
                        text("SELECT count(*) FROM timers WHERE fired_at IS NULL")
                    ):
                        return
                await asyncio.sleep(0)  # others hold the rest under lease

    await asyncio.wait_for(asyncio.gather(*(run(s) for s in replicas)), 300)


async def _reminders(engine: AsyncEngine) -> Counter[str]:
    async with engine.connect() as conn:
        result = await conn.execute(sa.select(outbox.c.payload).where(outbox.c.kind == "remind"))
        return Counter(payload["key"] for payload in result.scalars())


async def _open_due(url: str, clock: FrozenClock) -> None:
    engine = create_engine(url)
    writer = Writer(engine, clock=clock)
    await writer.start()
    try:
        await open_many(writer, context(clock), DUE)
    finally:
        await writer.stop()
        await engine.dispose()
    clock.advance(REMIND_AFTER)


@pytest.mark.pg
@pytest.mark.parametrize("instances", [2, 3])
async def test_replicas_racing_on_10000_due_timers_fire_each_exactly_once(
    pg_url: str, instances: int
) -> None:
    clock = FrozenClock()
    await _open_due(pg_url, clock)
    async with AsyncExitStack() as stack:
        replicas = await _replicas(stack, pg_url, clock, instances)
        observer = _observer(stack, pg_url)
        await _drain(replicas, observer)
        sent = await _reminders(observer)

    assert sum(sent.values()) == DUE
    assert [key for key, n in sent.items() if n > 1] == []
    assert len(sent) == DUE
    assert sum(r.fired for r in replicas) == DUE
    assert all(r.fired > 0 for r in replicas)  # they really shared the work


@pytest.mark.pg
async def test_a_replica_paused_past_its_lease_is_fenced_off_when_it_wakes(pg_url: str) -> None:
    clock = FrozenClock()
    await _open_due(pg_url, clock)
    async with AsyncExitStack() as stack:
        stalled, *others = await _replicas(stack, pg_url, clock, 3)
        observer = _observer(stack, pg_url)
        held = await stalled.claim()  # ... and then it stops, say in a long GC pause
        assert len(held) == 500
        clock.advance(stalled.policy.lease + timedelta(seconds=1))
        await _drain(others, observer)
        woke = await stalled.fire(held)
        sent = await _reminders(observer)

    assert woke == 0
    assert stalled.fenced == len(held)
    assert sum(sent.values()) == DUE
    assert max(sent.values()) == 1


async def test_a_fired_timer_is_not_fired_again_after_a_restart(
    engine: AsyncEngine, writer: Writer, clock: FrozenClock
) -> None:
    ctx = context(clock)
    await open_many(writer, ctx, 3)
    clock.advance(REMIND_AFTER)
    first = scheduler(engine, writer, ctx, "before-restart")
    assert await first.tick() == 3

    again = scheduler(engine, writer, ctx, "after-restart")
    clock.advance(timedelta(hours=1))
    assert await again.tick() == 0
    assert sum((await _reminders(engine)).values()) == 3


async def test_timers_wait_for_their_due_time_even_when_the_clock_jumps_back(
    engine: AsyncEngine, writer: Writer, clock: FrozenClock
) -> None:
    ctx = context(clock)
    await open_many(writer, ctx, 1)
    s = scheduler(engine, writer, ctx, "one")
    start = clock.now()
    clock.advance(REMIND_AFTER - timedelta(seconds=1))
    assert await s.tick() == 0
    assert 0 < await s.idle_delay() <= 1.0
    clock.set(start - timedelta(hours=1))  # NTP steps the wall clock back
    assert await s.tick() == 0
    assert await s.idle_delay() == s.policy.max_sleep_s
    clock.set(start + REMIND_AFTER)
    assert await s.tick() == 1


async def test_idle_tick_reads_one_row_whatever_the_number_of_open_tickets(
    engine: AsyncEngine, writer: Writer, clock: FrozenClock
) -> None:
    ctx = context(clock)
    await open_many(writer, ctx, 50)
    s = scheduler(engine, writer, ctx, "idle")
    async with engine.connect() as conn:
        assert await timers.pending_count(conn) == 50
        due = await timers.next_due(conn)

    assert due == clock.now() + REMIND_AFTER
    assert await s.tick() == 0
