"""Inbound dedupe: a platform's retry or a repeated Idempotency-Key never runs twice."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FrozenClock
from core.handlers.opening import open_ticket
from core.ticket import Ticket
from storage.unit_of_work import StorageUnitOfWork
from storage.writer import IdempotencyMismatch, Inbound, Writer
from tests.integration.storage.world import context, opening, scalar


def _key_of(ticket: Ticket) -> dict[str, str]:
    return {"key": ticket.key}


async def test_a_redelivered_event_returns_the_first_response_and_writes_nothing(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)
    event = Inbound("slack", "Ev0001", "sha256:aaa")

    async def work(uow: StorageUnitOfWork) -> Ticket:
        return await open_ticket(opening(), uow, ctx)

    first = await writer.submit(work, inbound=event, respond=_key_of, reserve="IT")
    again = await writer.submit(work, inbound=event, respond=_key_of, reserve="IT")

    assert first.duplicate is False
    assert again.duplicate is True
    assert again.value is None
    assert again.response == {"key": "IT-1001"}
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 1
    assert await scalar(engine, "SELECT count(*) FROM outbox") == 1


async def test_the_same_key_twice_in_one_batch_runs_once(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)
    event = Inbound("webchat", "msg-7")

    async def work(uow: StorageUnitOfWork) -> Ticket:
        return await open_ticket(opening(), uow, ctx)

    outcomes = await asyncio.gather(
        *(writer.submit(work, inbound=event, respond=_key_of, reserve="IT") for _ in range(3))
    )

    assert [o.duplicate for o in outcomes] == [False, True, True]
    assert {str(o.response) for o in outcomes[1:]} == {"{'key': 'IT-1001'}"}
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 1


async def test_a_reused_key_with_another_payload_is_refused(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)

    async def work(uow: StorageUnitOfWork) -> Ticket:
        return await open_ticket(opening(), uow, ctx)

    await writer.submit(work, inbound=Inbound("api:ops", "k1", "sha256:aaa"))
    with pytest.raises(IdempotencyMismatch, match="different request"):
        await writer.submit(work, inbound=Inbound("api:ops", "k1", "sha256:bbb"))
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 1


async def test_a_failed_attempt_does_not_burn_its_key(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)
    event = Inbound("dingtalk", "evt-9")
    calls: list[int] = []

    async def flaky(uow: StorageUnitOfWork) -> Ticket:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("directory lookup timed out")
        return await open_ticket(opening(), uow, ctx)

    outcomes = await asyncio.gather(
        writer.submit(flaky, inbound=event),
        writer.submit(flaky, inbound=event),
        return_exceptions=True,
    )

    assert isinstance(outcomes[0], ConnectionError)
    assert not isinstance(outcomes[1], BaseException)
    assert outcomes[1].duplicate is False
    assert await scalar(engine, "SELECT count(*) FROM inbox") == 1
