"""Throw-away databases for tests: a SQLite file, or a uniquely named PostgreSQL database.

Plain functions, not fixtures, so every test package can build its own fixtures on them:

    async with fresh_database("pg", tmp_path) as url: ...
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"

Kind = Literal["sqlite", "pg"]


def pg_admin_url() -> URL:
    return make_url(os.environ.get("GONGDAN_TEST_PG_URL", DEFAULT_PG_URL))


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@asynccontextmanager
async def fresh_database(kind: Kind, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database nobody else uses; its URL is yielded, and it is dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'gongdan.db'}"
        return
    async with _fresh_pg() as url:
        yield url


@asynccontextmanager
async def _fresh_pg() -> AsyncIterator[str]:
    admin_url = pg_admin_url()
    name = f"gongdan_t_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        try:
            async with admin.connect() as conn:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
        except (OSError, DBAPIError) as error:
            where = admin_url.render_as_string(hide_password=True)
            reason = f"PostgreSQL not reachable at {where} (set GONGDAN_TEST_PG_URL): {error}"
            if in_ci():
                pytest.fail(f"CI needs PostgreSQL: {reason}")
            pytest.skip(reason)
        try:
            yield admin_url.set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()
