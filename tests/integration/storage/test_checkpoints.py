"""The write-ahead log is copied into the database file off the event loop, never by a commit."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.bootstrap import build
from core.commands import OpenTicket
from core.ticket import ChannelRef
from storage.checkpoint import WalCheckpointer, checkpointed_file
from storage.db import create_engine
from storage.migrate import migrate
from tests.e2e.harness import service_config

MB = 1024 * 1024


def _bytes(path: Path) -> int:
    """The database file's own size: what has been checkpointed into it."""
    return path.stat().st_size


async def _commit_megabytes(engine: AsyncEngine, megabytes: int) -> None:
    """One transaction writing `megabytes` MB (256 pages each) into a new table."""
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB)"))
        for _ in range(megabytes):
            await conn.execute(text("INSERT INTO blobs (data) VALUES (randomblob(:n))"), {"n": MB})


async def _database_file_after_8_mb(path: Path, *, background_checkpoints: bool) -> int:
    """Commits about 2,000 pages (twice SQLite's default checkpoint threshold); the size of the
    database file itself right after that commit."""
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(url, background_checkpoints=background_checkpoints)
    try:
        await _commit_megabytes(engine, 8)
        return _bytes(path)  # before dispose(): closing the last connection checkpoints
    finally:
        await engine.dispose()


async def test_a_commit_leaves_the_copying_to_the_checkpointer(tmp_path: Path) -> None:
    # SQLite's default: the commit that takes the log past 1,000 pages copies it, on the loop
    copied_by_commit = await _database_file_after_8_mb(
        tmp_path / "default.db", background_checkpoints=False
    )
    # the service's engine: the commit only appends to the log
    left_in_log = await _database_file_after_8_mb(
        tmp_path / "service.db", background_checkpoints=True
    )
    assert copied_by_commit > 8 * MB
    assert left_in_log < MB


async def test_the_checkpointer_copies_the_log_on_its_own_thread(tmp_path: Path) -> None:
    path = tmp_path / "gongdan.db"
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(url, background_checkpoints=True)
    checkpointer = WalCheckpointer(path, interval_s=0)
    await checkpointer.start()
    try:
        await _commit_megabytes(engine, 4)
        assert _bytes(path) < MB
        checkpointer.committed()
        for _ in range(200):
            if _bytes(path) > 4 * MB:
                break
            await asyncio.sleep(0.01)
        assert _bytes(path) > 4 * MB  # copied while the engine's connection stays open
        assert checkpointer.runs == 1  # one commit, one run; nothing when nothing was committed
    finally:
        await checkpointer.stop()
        await engine.dispose()


async def test_a_failing_checkpoint_is_reported_once_and_never_stops_the_service(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checkpointer = WalCheckpointer(tmp_path)  # a directory: SQLite cannot open it
    caplog.set_level(logging.WARNING, logger="gongdan.storage")
    for _ in range(3):
        await checkpointer.checkpoint()
    await checkpointer.stop()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert str(tmp_path) in warnings[0]
    assert "checkpoint itself once the log holds" in warnings[0]


async def test_the_service_checkpoints_its_sqlite_file_after_commits(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gongdan.db'}"
    await migrate(url)
    services = await build(service_config(url))
    assert services.checkpointer is not None
    await services.start()
    try:
        runs = services.checkpointer.runs
        await services.service.submit(
            OpenTicket("it", "VPN", "zhang.san", ChannelRef("email", "zhang@example.cn"))
        )
        for _ in range(200):
            if services.checkpointer.runs > runs:
                break
            await asyncio.sleep(0.01)
        assert services.checkpointer.runs > runs
    finally:
        await services.stop()


def test_only_a_sqlite_file_has_a_log_to_checkpoint(tmp_path: Path) -> None:
    assert checkpointed_file(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}") == tmp_path / "a.db"
    assert checkpointed_file("sqlite+aiosqlite:///:memory:") is None
    assert checkpointed_file("sqlite+aiosqlite:///file:shared?mode=memory&uri=true") is None
    assert checkpointed_file("postgresql+asyncpg://postgres@127.0.0.1/test") is None
