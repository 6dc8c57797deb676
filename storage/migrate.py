"""Schema upgrades, run from code so an installed package needs no alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from storage.db import create_engine

_SCRIPTS = Path(__file__).resolve().parent / "migrations"
# any constant works; it only has to be the same in every replica that starts at once
_PG_MIGRATION_LOCK = 0x6764_6D69


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def migrate(url: str) -> None:
    """Upgrade the database at url to the newest schema; a no-op when it is current."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade)
    finally:
        await engine.dispose()


async def needs_migration(url: str) -> bool:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            current = await conn.run_sync(_current_heads)
    finally:
        await engine.dispose()
    return current != _head_revisions()


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # replicas starting together would otherwise race to create the same tables
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
    command.upgrade(alembic_config(connection), "head")


def _current_heads(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


def _head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())
