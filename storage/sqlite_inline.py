"""SQLite on the event loop's own thread, in the shape SQLAlchemy's aiosqlite dialect expects.

aiosqlite runs each connection's statements on a thread of its own: every statement is a hand-off
to that thread and a wake-up of the loop when it is done. Measured under load (docs/adr/0007), the
hand-offs were a large share of the service's CPU: a group commit is a dozen statements, each
of a few microseconds in SQLite and a few hundred in thread switching. Here a statement runs
where it is awaited, as a call into SQLite's C library (which releases the GIL anyway).

What that asks of the code around it:
- A statement blocks the loop while SQLite runs it. Writes and the service's reads are small
  (indexed, paged) and a commit's fsync takes well under a millisecond on a local disk; a
  whole-table report on a large database is better run against PostgreSQL.
- SQLite's busy handler must not sleep on the loop's thread: another connection of this process
  that holds the lock could never finish. Connections are opened with busy_timeout 0, and a
  statement refused with SQLITE_BUSY is tried again after an `asyncio.sleep`, for up to
  `BUSY_WAIT_S` (what busy_timeout was before).

`GONGDAN_SQLITE_THREADS=1` goes back to aiosqlite's threads (to rule this out when chasing a
problem).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy.engine import make_url

T = TypeVar("T")

BUSY_WAIT_S = 5.0
_FIRST_PAUSE_S = 0.001
_LONGEST_PAUSE_S = 0.05


def connector(url: str) -> Callable[[], Any]:
    """SQLAlchemy's `async_creator` for `url`: opens an InlineConnection."""
    database = make_url(url).database or ":memory:"

    async def connect() -> InlineConnection:
        raw = sqlite3.connect(
            database,
            uri=database.startswith("file:"),
            check_same_thread=False,
            isolation_level=None,
            timeout=0,  # never sleep in SQLite's busy handler: see the module's notes
        )
        return InlineConnection(raw)

    return connect


async def _unbusy(call: Callable[[], T]) -> T:
    """Run `call`; while SQLite answers "busy" (another connection holds the lock), wait on the
    loop and try again, for up to BUSY_WAIT_S."""
    deadline: float | None = None
    pause = _FIRST_PAUSE_S
    while True:
        try:
            return call()
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            now = time.monotonic()
            deadline = deadline if deadline is not None else now + BUSY_WAIT_S
            if now >= deadline:
                raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE_S)


class _Requests:
    """Stands in for aiosqlite's request queue, which the dialect uses directly to set the
    isolation level: the request runs at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except Exception as error:
            if future is not None:
                future.set_exception(error)
            return
        if future is not None:
            future.set_result(result)


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        cursor = self._cursor
        if parameters is None:
            await _unbusy(lambda: cursor.execute(sql))
        else:
            await _unbusy(lambda: cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> InlineCursor:
        listed = list(rows)  # a retry must see every row again
        await _unbusy(lambda: self._cursor.executemany(sql, listed))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """An aiosqlite.Connection's surface, as SQLAlchemy's aiosqlite dialect uses it."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._connection: sqlite3.Connection | None = conn
        self._tx = _Requests()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def commit(self) -> None:
        await _unbusy(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()
