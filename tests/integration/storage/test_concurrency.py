"""Two people pressing the same button, in one process or on two replicas."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FrozenClock
from core.commands import ActOnTicket, SetPriority
from core.errors import ConcurrencyError, Conflict
from core.handlers.actions import ActResult, act
from core.workflow import Action
from storage.db import create_engine
from storage.unit_of_work import StorageUnitOfWork
from storage.writer import CONFLICT_ATTEMPTS, Writer
from tests.integration.storage.world import SLACK, context, open_one, press, rows, scalar


async def test_second_accept_is_told_already_accepted_by_the_first(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)
    ticket = await open_one(writer, ctx)

    bob, carol = await asyncio.gather(
        press(writer, ctx, ticket.key, Action.CLAIM, "bob"),
        press(writer, ctx, ticket.key, Action.CLAIM, "carol"),
        return_exceptions=True,
    )

    assert not isinstance(bob, BaseException)
    assert bob.value is not None
    assert bob.value.ticket.assignee_id == "bob"
    assert isinstance(carol, Conflict)
    assert carol.message == "Already accepted by Bob."
    claimed = await rows(engine, "SELECT actor_id FROM events WHERE kind = 'TicketClaimed'")
    assert [r.actor_id for r in claimed] == ["bob"]
    assert await scalar(engine, "SELECT version FROM tickets") == 2


async def test_the_result_carries_the_new_version_for_cards(
    writer: Writer, clock: FrozenClock
) -> None:
    ctx = context(clock)
    ticket = await open_one(writer, ctx)

    outcome = await press(writer, ctx, ticket.key, Action.CLAIM, "bob")

    assert outcome.value is not None
    assert outcome.value.ticket.version == 2


@pytest.fixture
async def replica(db_url: str, clock: FrozenClock) -> AsyncIterator[Writer]:
    """A second service process on the same database: its own engine, its own writer."""
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite serves one replica only; replicas share PostgreSQL")
    engine = create_engine(db_url)
    writer = Writer(engine, clock=clock)
    await writer.start()
    yield writer
    await writer.stop()
    await engine.dispose()


async def test_replicas_racing_on_one_ticket_make_one_transition(
    writer: Writer, replica: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)
    ticket = await open_one(writer, ctx)
    bob_has_read = asyncio.Event()
    carol_saved = asyncio.Event()
    bob_runs: list[int] = []

    async def bob_claims(uow: StorageUnitOfWork) -> ActResult:
        bob_runs.append(1)
        await uow.tickets.get(ticket.key)
        if len(bob_runs) == 1:
            # hold bob's decision until carol's replica has committed hers
            bob_has_read.set()
            await carol_saved.wait()
        return await act(ActOnTicket(ticket.key, Action.CLAIM, "bob", SLACK), uow, ctx)

    async def carol_claims() -> None:
        await bob_has_read.wait()
        await press(replica, ctx, ticket.key, Action.CLAIM, "carol")
        carol_saved.set()

    bob, _ = await asyncio.gather(writer.submit(bob_claims), carol_claims(), return_exceptions=True)

    assert isinstance(bob, Conflict)
    assert bob.message == "Already accepted by Carol."
    assert len(bob_runs) == 2
    claimed = await rows(engine, "SELECT actor_id FROM events WHERE kind = 'TicketClaimed'")
    assert [r.actor_id for r in claimed] == ["carol"]


async def test_an_action_that_keeps_losing_the_race_gives_up_with_a_concurrency_error(
    writer: Writer, replica: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)
    ticket = await open_one(writer, ctx)
    runs: list[int] = []

    async def bump_elsewhere() -> None:
        async with replica.engine.begin() as other:
            await other.execute(
                text("UPDATE tickets SET version = version + 1 WHERE key = :k"), {"k": ticket.key}
            )

    async def set_priority(uow: StorageUnitOfWork) -> ActResult:
        runs.append(1)
        await uow.tickets.get(ticket.key)
        await bump_elsewhere()
        cmd = ActOnTicket(ticket.key, Action.SET_PRIORITY, "bob", SLACK, SetPriority("high"))
        return await act(cmd, uow, ctx)

    await press(writer, ctx, ticket.key, Action.CLAIM, "bob")
    with pytest.raises(ConcurrencyError, match="try again"):
        await writer.submit(set_priority)

    assert len(runs) == 1 + CONFLICT_ATTEMPTS  # the batch, then each retry on its own
    assert await scalar(engine, "SELECT priority FROM tickets") == "normal"
