"""SQLite is one replica: a second scheduler on the same file refuses to start, and says why."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.scheduler import scheduler_lock
from storage.timers import SchedulerLocked


def test_second_scheduler_on_the_same_sqlite_file_refuses_with_a_clear_message(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'gongdan.db'}"
    first = scheduler_lock(url)
    assert first is not None
    try:
        with pytest.raises(SchedulerLocked) as refused:
            scheduler_lock(url)
    finally:
        first.release()

    message = str(refused.value)
    assert f"another gongdan scheduler is running on {tmp_path / 'var' / 'gongdan.db'}" in message
    assert f"(pid {os.getpid()})" in message
    assert "use PostgreSQL for several" in message


def test_the_lock_is_free_again_once_the_first_scheduler_stops(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gongdan.db'}"
    first = scheduler_lock(url)
    assert first is not None
    first.release()

    second = scheduler_lock(url)
    assert second is not None
    second.release()


def test_postgresql_needs_no_lock() -> None:
    assert scheduler_lock("postgresql+asyncpg://u@localhost/db") is None
