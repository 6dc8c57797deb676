"""Engines for the two supported databases: SQLite (embedded, one replica) and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from storage.checkpoint import LOG_SIZE_LIMIT_BYTES, SAFETY_NET_PAGES, checkpointed_file
from storage.sqlite_inline import InlineConnection, connector

_READ_ONLY = "gongdan_read_only"
MMAP_BYTES = 256 * 1024 * 1024  # address space, not memory: only the pages touched are resident


def create_engine(url: str, *, background_checkpoints: bool = False) -> AsyncEngine:
    """An engine tuned for our workload; nothing connects until first use.

    background_checkpoints: on SQLite, a `storage.checkpoint.WalCheckpointer` keeps the log
    short, so the connections checkpoint themselves only as a safety net."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, background_checkpoints)
    return create_async_engine(url, pool_pre_ping=True, **_ENGINE_OPTIONS)


def json_dumps(value: Any) -> str:
    """JSON columns are written by orjson (the standard library's encoder was about 40 % of the
    per-row bind work, mostly the frozen SLA snapshot), as UTF-8 rather than \\u escapes."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


# hide_parameters: a failed statement's error text leaves out its values, which are people's
# messages, names and addresses; logs name the statement, never the data
_ENGINE_OPTIONS: dict[str, Any] = {
    "json_serializer": json_dumps,
    "json_deserializer": orjson.loads,
    "hide_parameters": True,
}


def is_sqlite(engine: AsyncEngine | AsyncConnection) -> bool:
    return engine.dialect.name == "sqlite"


def reader(engine: AsyncEngine) -> AsyncEngine:
    """The same pool for read-only work: on SQLite its transactions start DEFERRED, so the REST
    API reads a WAL snapshot instead of queueing behind the writer's IMMEDIATE lock."""
    return engine.execution_options(**{_READ_ONLY: True})


def _sqlite_engine(url: str, background_checkpoints: bool) -> AsyncEngine:
    on_disk = checkpointed_file(url)
    if on_disk is not None:
        on_disk.parent.mkdir(parents=True, exist_ok=True)
    if os.environ.get("GONGDAN_SQLITE_THREADS") == "1":
        engine = create_async_engine(url, **_ENGINE_OPTIONS)
    else:
        engine = create_async_engine(url, async_creator=connector(url), **_ENGINE_OPTIONS)
    event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    if background_checkpoints:
        event.listen(engine.sync_engine, "connect", _sqlite_checkpoints_elsewhere)
    event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Take BEGIN away from the driver: its legacy mode begins lazily and DEFERRED, so a read
    # that later writes can hit SQLITE_BUSY despite busy_timeout. We emit BEGIN ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # on the loop's thread SQLite must not sleep in its busy handler: the driver waits instead
    inline = isinstance(getattr(dbapi_connection, "_connection", None), InlineConnection)
    cursor.execute(f"PRAGMA busy_timeout={0 if inline else 5000}")
    # FULL: an acknowledged ticket survives power loss, not only a process crash
    cursor.execute("PRAGMA synchronous=FULL")
    # Pages read through a memory map, not copied in with pread: each connection's cache is
    # dropped whenever another one commits (WAL), so under a steady stream of small commits
    # every transaction began by reading its B-tree pages again (docs/adr/0007). Reads only;
    # writes still go through the WAL.
    cursor.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_checkpoints_elsewhere(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA wal_autocheckpoint={SAFETY_NET_PAGES}")
    cursor.execute(f"PRAGMA journal_size_limit={LOG_SIZE_LIMIT_BYTES}")
    cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    if conn.get_execution_options().get(_READ_ONLY):
        conn.exec_driver_sql("BEGIN DEFERRED")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def upsert(conn: AsyncConnection | Connection) -> Any:
    """The dialect's INSERT construct, which knows ON CONFLICT on both databases."""
    return sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert


def rows_in(columns: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Any:
    """`(columns) IN (rows)`, spelled so that SQLite searches the unique index on `columns`.

    SQLite answers a row-value IN with more than one row by scanning the whole index, so a
    dedupe lookup would read every key ever stored. Grouped by all but the last column, it is
    an OR of `c1 = ? AND ... AND last IN (...)`, each term an index search (and one term when,
    as usual, the rows share their leading columns)."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for row in rows:
        groups.setdefault(tuple(row[:-1]), []).append(row[-1])
    *leading, last = columns
    terms = [
        sa.and_(*(c == v for c, v in zip(leading, head, strict=True)), last.in_(tails))
        for head, tails in groups.items()
    ]
    return sa.or_(*terms) if len(terms) != 1 else terms[0]
