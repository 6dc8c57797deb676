"""SQLite on the loop's thread: a lock held by another connection is waited for on the loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from storage import sqlite_inline
from storage.db import create_engine
from storage.migrate import migrate


async def _ticking(ticks: list[int]) -> None:
    while True:
        ticks.append(1)
        await asyncio.sleep(0.001)


async def test_a_writer_waits_for_another_connections_lock_while_the_loop_goes_on(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gongdan.db'}"
    await migrate(url)
    engine = create_engine(url)
    ticks: list[int] = []
    ticker = asyncio.create_task(_ticking(ticks))

    async def second_writer() -> None:
        async with engine.begin() as conn:  # BEGIN IMMEDIATE: the lock is taken below
            await conn.execute(text("INSERT INTO counters (name, value) VALUES ('b', 2)"))

    try:
        async with engine.begin() as first:
            await first.execute(text("INSERT INTO counters (name, value) VALUES ('a', 1)"))
            waiting = asyncio.create_task(second_writer())
            await asyncio.sleep(0.05)
            ticks_while_locked = len(ticks)
            assert not waiting.done()
        await asyncio.wait_for(waiting, 5)
        async with engine.connect() as conn:
            names = (await conn.execute(text("SELECT name FROM counters ORDER BY name"))).all()
    finally:
        ticker.cancel()
        await engine.dispose()

    assert [n for (n,) in names] == ["a", "b"]
    assert ticks_while_locked >= 10  # the loop ran on while the second writer waited


async def test_a_lock_that_is_never_released_fails_after_the_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline, "BUSY_WAIT_S", 0.1)
    url = f"sqlite+aiosqlite:///{tmp_path / 'gongdan.db'}"
    await migrate(url)
    engine = create_engine(url)
    try:
        async with engine.begin() as first:
            await first.execute(text("INSERT INTO counters (name, value) VALUES ('a', 1)"))
            with pytest.raises(OperationalError, match="database is locked"):
                async with engine.begin() as second:
                    await second.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


async def test_aiosqlites_threads_remain_one_setting_away(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GONGDAN_SQLITE_THREADS", "1")
    url = f"sqlite+aiosqlite:///{tmp_path / 'gongdan.db'}"
    await migrate(url)
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            busy = (await conn.execute(text("PRAGMA busy_timeout"))).scalar()
            driver = type((await conn.get_raw_connection()).driver_connection).__module__
    finally:
        await engine.dispose()

    assert busy == 5000 and driver.startswith("aiosqlite")
