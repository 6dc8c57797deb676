"""One submission the database cannot store fails alone; its batch neighbours are saved."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.clock import FrozenClock
from core.handlers.opening import open_ticket
from core.ticket import Ticket
from storage.tables import suppressions
from storage.unit_of_work import StorageUnitOfWork
from storage.writer import Writer
from tests.integration.storage.world import context, open_one, opening, scalar

NEIGHBOURS = 200


@pytest.mark.parametrize("poison", ["\ud800", "\x00"], ids=["lone-surrogate", "nul"])
async def test_an_unstorable_title_fails_only_its_own_submission_among_200_neighbours(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock, poison: str
) -> None:
    if poison == "\x00" and engine.dialect.name == "sqlite":
        pytest.skip("SQLite stores a NUL in text; PostgreSQL refuses it")
    ctx = context(clock)

    async def unstorable(uow: StorageUnitOfWork) -> Ticket:
        # past core's checks, straight into the unit of work: what a bug or a new channel
        # that forgot to validate would hand the writer
        ticket = await open_ticket(opening("fine so far"), uow, ctx)
        ticket.title = f"printer {poison} on fire"
        return ticket

    half = NEIGHBOURS // 2
    results = await asyncio.gather(
        *(open_one(writer, ctx, f"valid {i}") for i in range(half)),
        writer.submit(unstorable, reserve="IT"),
        *(open_one(writer, ctx, f"valid {i}") for i in range(half, NEIGHBOURS)),
        return_exceptions=True,
    )

    failed = [i for i, r in enumerate(results) if isinstance(r, BaseException)]
    assert failed == [half]
    # its own error, as the driver (SQLite) or the database (PostgreSQL) raised it
    assert isinstance(results[half], UnicodeEncodeError | DBAPIError)
    assert await scalar(engine, "SELECT count(*) FROM tickets") == NEIGHBOURS
    assert await scalar(engine, "SELECT count(*) FROM tickets WHERE title LIKE 'valid %'") == (
        NEIGHBOURS
    )


async def test_raw_writes_batched_with_an_unstorable_item_are_saved_or_fail_alone(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)

    async def unstorable(uow: StorageUnitOfWork) -> Ticket:
        ticket = await open_ticket(opening("fine so far"), uow, ctx)
        ticket.title = "\ud800"
        return ticket

    def suppress(address: str) -> Callable[[AsyncConnection], Awaitable[str]]:
        async def write(conn: AsyncConnection) -> str:
            row = {"channel": "email", "address": address, "reason": "5.1.1"}
            await conn.execute(sa.insert(suppressions).values(**row, created_at=clock.now()))
            return address

        return write

    half = NEIGHBOURS // 2
    results = await asyncio.gather(
        *(open_one(writer, ctx, f"valid {i}") for i in range(half)),
        writer.submit(unstorable, reserve="IT"),
        writer.run(suppress("\ud800@example.cn")),  # the driver raises, not SQLAlchemy
        writer.run(suppress("gone@example.cn")),
        *(open_one(writer, ctx, f"valid {i}") for i in range(half, NEIGHBOURS)),
        return_exceptions=True,
    )

    failed = [i for i, r in enumerate(results) if isinstance(r, BaseException)]
    assert failed == [half, half + 1]
    assert results[half + 2] == "gone@example.cn"
    assert await scalar(engine, "SELECT count(*) FROM tickets") == NEIGHBOURS
    assert await scalar(engine, "SELECT address FROM suppressions") == "gone@example.cn"
