"""A ticket's origin keeps its link to the source message, and rows from before links still load."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from core.card import build_card
from core.clock import FrozenClock
from core.handlers.opening import open_ticket
from core.ticket import ChannelRef, Ticket
from storage import queries
from storage.db import reader
from storage.tables import tickets
from storage.unit_of_work import StorageUnitOfWork
from storage.writer import Writer
from tests.integration.storage.world import context, open_one, opening

LINK = "https://acme.slack.com/archives/C-HELP/p1700000000000100"


async def test_a_ticket_stored_before_origins_had_links_still_loads(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)
    opened = await open_one(writer, ctx)
    # the origin JSON exactly as it was written before `link` existed
    before = {"channel": "slack", "conversation": "C-HELP", "message": "1700000000.000100"}
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(tickets).where(tickets.c.key == opened.key).values(origin=before)
        )

    async with reader(engine).connect() as conn:
        stored = await queries.get_ticket(conn, opened.key)

    assert stored is not None
    assert stored.origin == ChannelRef("slack", "C-HELP", None, "1700000000.000100")
    assert stored.origin.link is None
    assert build_card(stored, ctx, "en").source is None


async def test_an_origin_link_is_stored_and_read_back(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)
    where = ChannelRef("slack", "C-HELP", None, "1700000000.000100", LINK)

    async def work(uow: StorageUnitOfWork) -> Ticket:
        return await open_ticket(opening(where=where), uow, ctx)

    opened = (await writer.submit(work, reserve="IT")).value
    assert opened is not None
    plain = await open_one(writer, ctx, "no link")
    async with engine.connect() as conn:
        rows = dict((await conn.execute(sa.select(tickets.c.key, tickets.c.origin))).all())
        stored = await queries.get_ticket(conn, opened.key)

    assert stored is not None and stored.origin is not None
    assert stored.origin.link == LINK
    assert rows[opened.key]["link"] == LINK
    assert "link" not in rows[plain.key]  # written only when there is one
