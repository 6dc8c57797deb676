"""SQLite's write-ahead log copied back into the database file on a thread of its own.

By default SQLite checkpoints inside the COMMIT that takes the log past 1,000 pages: that commit
copies the pages into the database file and waits for the disk twice, up to 12.1 ms on this
service's event loop under a steady stream of messages on a quiet machine (61.6 ms on a busy
one), and every message in the process waits with it. The service's connections instead only
checkpoint themselves far later (a safety net, `SAFETY_NET_PAGES`), and `WalCheckpointer` runs
SQLite's PASSIVE checkpoint on a worker thread shortly after commits: it never takes the
writer's lock, and sqlite3 lets go of the GIL while it copies and syncs.
docs/adr/0009-checkpoints-off-the-loop.md has the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy.engine import make_url

log = logging.getLogger("gongdan.storage")

# the writer checkpoints itself only once the log holds this many pages (about 64 MB at SQLite's
# 4 KiB page): reached only when the thread has fallen far behind or stopped
SAFETY_NET_PAGES = 16_000
# a log that grew in a burst is cut back to this size once it starts over
LOG_SIZE_LIMIT_BYTES = 64 * 1024 * 1024


def checkpointed_file(url: str) -> Path | None:
    """The SQLite database file a URL names (the one whose log a `WalCheckpointer` keeps short);
    None for PostgreSQL and for in-memory SQLite (no file, no log on disk)."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database:
        return None
    if database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


class WalCheckpointer:
    """Runs `PRAGMA wal_checkpoint(PASSIVE)` on a worker thread after commits, at most every
    `interval_s`; idle when nothing was committed."""

    def __init__(self, path: Path, *, interval_s: float = 0.1) -> None:
        self.path = path
        self.interval_s = interval_s
        self.runs = 0
        self._committed = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-checkpoint")
        self._conn: sqlite3.Connection | None = None  # opened, used and closed on that thread
        self._task: asyncio.Task[None] | None = None
        self._failing: str | None = None

    def committed(self) -> None:
        """The writer committed: the log has new pages to copy."""
        self._committed.set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="sqlite-checkpoint")

    async def stop(self) -> None:
        """Stop after the checkpoint under way; the last connection's close checkpoints the rest."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)

    async def checkpoint(self) -> None:
        """One PASSIVE checkpoint, on the worker thread."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._checkpoint)

    async def _loop(self) -> None:
        while True:
            await self._committed.wait()
            self._committed.clear()
            await self.checkpoint()
            await asyncio.sleep(self.interval_s)

    def _checkpoint(self) -> None:
        try:
            if self._conn is None:
                self._conn = sqlite3.connect(self.path, isolation_level=None)
                self._conn.execute("PRAGMA busy_timeout=1000")
            # (busy, pages in the log, pages copied so far): PASSIVE copies what no reader
            # still needs and leaves the rest for the next run; it never waits for the writer
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as error:
            reason = f"{type(error).__name__}: {error}"
            if reason != self._failing:  # once per distinct failure, not on every commit
                log.warning(
                    "checkpointing %s failed (%s); the writer will checkpoint itself once the "
                    "log holds %d pages",
                    self.path,
                    reason,
                    SAFETY_NET_PAGES,
                )
                self._failing = reason
            self._close()
            return
        self._failing = None
        self.runs += 1

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


__all__ = [
    "LOG_SIZE_LIMIT_BYTES",
    "SAFETY_NET_PAGES",
    "WalCheckpointer",
    "checkpointed_file",
]
