"""Schema migrations on both databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from storage.db import create_engine
from storage.migrate import migrate, needs_migration
from storage.tables import metadata
from tests.dbs import fresh_database


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    async with fresh_database(request.param, tmp_path) as url:
        yield url


async def test_an_empty_database_is_migrated_and_a_second_run_changes_nothing(
    empty_url: str,
) -> None:
    assert await needs_migration(empty_url) is True

    await migrate(empty_url)
    assert await needs_migration(empty_url) is False
    await migrate(empty_url)

    assert await needs_migration(empty_url) is False


async def test_the_migrated_schema_is_exactly_tables_py(empty_url: str) -> None:
    await migrate(empty_url)

    def differences(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    engine = create_engine(empty_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(differences)
    finally:
        await engine.dispose()
    assert diff == []
