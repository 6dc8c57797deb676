"""Timer tests run on a SQLite file and on a fresh PostgreSQL database, like storage tests."""

from __future__ import annotations

from tests.integration.storage.conftest import clock, db_url, engine, writer

__all__ = ["clock", "db_url", "engine", "writer"]
