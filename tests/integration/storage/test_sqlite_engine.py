"""The embedded database's settings: durable commits, enforced keys, readers never queued."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage.db import MMAP_BYTES, create_engine, is_sqlite, reader
from storage.migrate import migrate


async def test_a_new_sqlite_file_is_durable_and_enforces_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'not' / 'yet' / 'there.db'}"
    await migrate(url)
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            settings = [
                (await conn.execute(text(f"PRAGMA {name}"))).scalar()
                for name in (
                    "journal_mode",
                    "synchronous",
                    "foreign_keys",
                    "busy_timeout",
                    "mmap_size",
                )
            ]
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO events (ticket_id, kind, channel, data, at) "
                        "VALUES (999, 'TicketOpened', 'slack', '{}', '2026-01-05 09:00:00')"
                    )
                )
    finally:
        await engine.dispose()

    assert is_sqlite(engine)
    # synchronous 2 = FULL; busy_timeout 0: a lock held elsewhere is waited for on the loop
    # (storage/sqlite_inline.py), never in SQLite's busy handler; pages read through a map
    assert settings == ["wal", 2, 1, 0, MMAP_BYTES]


async def test_a_reader_is_not_blocked_by_an_open_write_transaction(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gongdan.db'}"
    await migrate(url)
    engine = create_engine(url)
    try:
        async with engine.begin() as writing:
            await writing.execute(
                text("INSERT INTO counters (name, value) VALUES ('ticket:IT', 1)")
            )
            async with reader(engine).connect() as reading:
                seen = (await reading.execute(text("SELECT count(*) FROM counters"))).scalar()
    finally:
        await engine.dispose()

    assert seen == 0  # the snapshot before the write commits
