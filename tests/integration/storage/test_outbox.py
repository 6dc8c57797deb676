"""The outbox: card posts, coalesced card updates, comment relays and leased claiming."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.clock import FrozenClock
from core.ticket import Ticket
from core.workflow import Action
from storage import outbox
from storage.db import create_engine
from storage.settle import Retry, Settlement
from storage.settle import settle as settle_pass
from storage.writer import Writer
from tests.integration.storage.world import (
    SLACK,
    WEBCHAT,
    comment,
    context,
    open_one,
    press,
    rows,
)

LEASE = timedelta(seconds=30)


async def _card_posted(writer: Writer, clock: FrozenClock, ticket: Ticket, version: int) -> int:
    """What the dispatcher does after Slack accepted chat.postMessage."""
    assert ticket.id is not None
    ticket_id = ticket.id

    async def record(conn: AsyncConnection) -> int:
        return await outbox.record_card_ref(
            conn,
            ticket_id,
            "slack",
            "C-HELP",
            None,
            "1700000001.000200",
            "en",
            version,
            clock.now(),
        )

    return await writer.run(record)


async def _pending(engine: AsyncEngine, kind: str) -> list[int | None]:
    found = await rows(
        engine,
        "SELECT card_ref_id FROM outbox WHERE kind = :k AND status = 'pending' ORDER BY id",
        k=kind,
    )
    return [r.card_ref_id for r in found]


async def test_many_changes_to_a_ticket_queue_one_card_update_per_card(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)
    ticket = await open_one(writer, ctx)
    ref = await _card_posted(writer, clock, ticket, version=1)

    await press(writer, ctx, ticket.key, Action.CLAIM, "bob")
    await press(writer, ctx, ticket.key, Action.START, "bob")
    await press(writer, ctx, ticket.key, Action.SET_PRIORITY, "bob", priority="high")

    assert await _pending(engine, "card_update") == [ref]


async def test_a_change_while_the_update_is_being_sent_queues_another(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)
    ticket = await open_one(writer, ctx)
    ref = await _card_posted(writer, clock, ticket, version=1)
    await press(writer, ctx, ticket.key, Action.CLAIM, "bob")

    async def claim_all(conn: AsyncConnection) -> list[outbox.OutboxItem]:
        return await outbox.claim(conn, "dispatcher-1", clock.now(), 100, LEASE)

    in_flight = await writer.run(claim_all)
    await press(writer, ctx, ticket.key, Action.START, "bob")

    assert [i.kind for i in in_flight] == ["card_post", "card_update"]
    assert await _pending(engine, "card_update") == [ref, ref]


async def test_a_card_posted_after_the_ticket_moved_on_is_updated_at_once(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)
    ticket = await open_one(writer, ctx)
    await press(writer, ctx, ticket.key, Action.CLAIM, "bob")  # before the post came back

    ref = await _card_posted(writer, clock, ticket, version=1)

    assert await _pending(engine, "card_update") == [ref]


async def test_a_card_posted_with_the_current_version_needs_no_update(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ticket = await open_one(writer, context(clock))

    first = await _card_posted(writer, clock, ticket, version=1)
    again = await _card_posted(writer, clock, ticket, version=1)

    assert first == again
    assert await _pending(engine, "card_update") == []


async def test_a_comment_is_relayed_to_the_other_channels_cards_only(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)
    ticket = await open_one(writer, ctx)
    slack_ref = await _card_posted(writer, clock, ticket, version=1)

    await comment(writer, ctx, ticket.key, "alice", "still broken", WEBCHAT)
    await comment(writer, ctx, ticket.key, "alice", "and now?", SLACK)

    relays = await rows(
        engine, "SELECT channel, card_ref_id, payload FROM outbox WHERE kind = 'comment'"
    )
    assert [(r.channel, r.card_ref_id) for r in relays] == [("slack", slack_ref)]


async def test_claimed_rows_are_settled_sent_retried_or_failed(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ctx = context(clock)
    for title in ("one", "two", "three"):
        await open_one(writer, ctx, title)

    async def claim(conn: AsyncConnection) -> list[outbox.OutboxItem]:
        return await outbox.claim(conn, "d1", clock.now(), 10, LEASE)

    items = await writer.run(claim)
    assert [i.ticket_key for i in items] == ["IT-1001", "IT-1002", "IT-1003"]
    assert await writer.run(claim) == []  # leased

    sent, later, dead = (i.id for i in items)
    retry_at = clock.now() + timedelta(minutes=5)

    async def settle(conn: AsyncConnection) -> None:
        done = Settlement(
            sent=[sent],
            retries=[Retry(later, retry_at, "429 ratelimited")],
            failed=[(dead, "channel_not_found")],
        )
        await settle_pass(conn, clock.now(), done)

    await writer.run(settle)

    async with engine.connect() as conn:
        assert await outbox.next_due(conn) == retry_at
    clock.advance(timedelta(minutes=5))
    retried = await writer.run(claim)
    assert [(i.id, i.attempts) for i in retried] == [(later, 1)]
    states = await rows(engine, "SELECT status, last_error FROM outbox ORDER BY id")
    assert [tuple(s) for s in states] == [
        ("sent", None),
        ("pending", "429 ratelimited"),
        ("failed", "channel_not_found"),
    ]


async def test_an_expired_lease_is_claimed_again(writer: Writer, clock: FrozenClock) -> None:
    await open_one(writer, context(clock))

    async def claim(owner: str) -> list[outbox.OutboxItem]:
        return await writer.run(lambda conn: outbox.claim(conn, owner, clock.now(), 10, LEASE))

    assert len(await claim("crashed")) == 1
    clock.advance(LEASE + timedelta(seconds=1))
    assert len(await claim("survivor")) == 1


async def test_a_claim_of_some_channels_leases_only_their_rows_oldest_first(
    writer: Writer, clock: FrozenClock
) -> None:
    ctx = context(clock)
    for title in ("one", "two", "three"):
        await open_one(writer, ctx, title, where=SLACK)
        clock.advance(timedelta(seconds=1))
        await open_one(writer, ctx, title, where=WEBCHAT)

    async def claim(conn: AsyncConnection) -> list[outbox.OutboxItem]:
        return await outbox.claim(conn, "d1", clock.now(), 2, LEASE, ["webchat", "slack"])

    first = await writer.run(claim)
    assert [(i.channel, i.ticket_key) for i in first] == [
        ("webchat", "IT-1002"),
        ("webchat", "IT-1004"),
    ]  # the first channel named fills the limit
    rest = await writer.run(lambda conn: outbox.claim(conn, "d1", clock.now(), 10, LEASE, []))
    assert rest == []  # no channel named: nothing
    after = await writer.run(
        lambda conn: outbox.claim(conn, "d1", clock.now(), 10, LEASE, ["webchat", "slack"])
    )
    assert [(i.channel, i.ticket_key) for i in after] == [
        ("slack", "IT-1001"),
        ("slack", "IT-1003"),
        ("slack", "IT-1005"),
        ("webchat", "IT-1006"),
    ]  # oldest first across the channels read


async def test_a_claim_of_one_channel_reads_its_own_rows_not_the_whole_backlog(
    writer: Writer, engine: AsyncEngine, db_url: str, clock: FrozenClock
) -> None:
    # A paced channel's backlog (thousands of due rows) must not be walked by a claim of the
    # other channels: the claim of one channel is a range of an index of pending rows.
    if not db_url.startswith("sqlite"):
        pytest.skip("the plan is read with SQLite's EXPLAIN QUERY PLAN")
    await open_one(writer, context(clock))
    captured: list[tuple[str, Any]] = []

    def remember(_c: object, _cursor: object, statement: str, params: Any, *_a: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE OUTBOX"):
            captured.append((statement, params))

    async def claim(conn: AsyncConnection) -> list[outbox.OutboxItem]:
        sync = conn.sync_connection
        assert sync is not None
        sa.event.listen(sync, "before_cursor_execute", remember)
        try:
            return await outbox.claim(conn, "d1", clock.now(), 5, LEASE, ["webchat"])
        finally:
            sa.event.remove(sync, "before_cursor_execute", remember)

    await writer.run(claim)
    [(statement, params)] = captured
    async with engine.connect() as conn:
        plan = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
        details = " ".join(str(row[-1]) for row in plan)
    assert "ix_outbox_pending_channel" in details, details


async def test_two_dispatchers_on_postgresql_never_get_the_same_row(
    db_url: str, writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite serves one replica only; replicas share PostgreSQL")
    ctx = context(clock)
    await asyncio.gather(*(open_one(writer, ctx, f"t{i}") for i in range(200)))
    engines = [create_engine(db_url) for _ in range(2)]

    async def drain(owner: str, eng: AsyncEngine) -> list[int]:
        got: list[int] = []
        while True:
            async with eng.begin() as conn:
                batch = await outbox.claim(conn, owner, clock.now(), 7, LEASE)
            if not batch:
                return got
            got += [i.id for i in batch]

    try:
        a, b = await asyncio.gather(drain("a", engines[0]), drain("b", engines[1]))
    finally:
        for eng in engines:
            await eng.dispose()

    assert not set(a) & set(b)
    assert len(a) + len(b) == 200


async def test_recent_card_refs_keeps_the_newest_per_conversation(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    ticket = await open_one(writer, context(clock))
    assert ticket.id is not None
    ticket_id = ticket.id

    async def post(conn: AsyncConnection) -> None:
        for conversation, message in [("C1", "1"), ("C1", "2"), ("C1", "3"), ("C2", "4")]:
            await outbox.record_card_ref(
                conn, ticket_id, "slack", conversation, None, message, None, 1, clock.now()
            )

    await writer.run(post)

    async with engine.connect() as conn:
        recent = await outbox.recent_card_refs(conn, "slack", 2)
        every = await outbox.card_refs_for(conn, ticket_id)
    assert [(r.conversation, r.message) for r in recent] == [("C2", "4"), ("C1", "3"), ("C1", "2")]
    assert len(every) == 4
    assert every[0].created_at == clock.now()


async def test_a_failing_raw_write_leaves_the_rest_of_its_batch_alone(
    writer: Writer, engine: AsyncEngine, clock: FrozenClock
) -> None:
    async def broken(conn: AsyncConnection) -> None:
        await conn.execute(text("INSERT INTO counters (name, value) VALUES ('x', 1)"))
        await conn.execute(text("INSERT INTO counters (name, value) VALUES ('x', 2)"))

    results = await asyncio.gather(
        writer.run(broken), open_one(writer, context(clock)), return_exceptions=True
    )

    assert isinstance(results[0], Exception)
    assert isinstance(results[1], Ticket)
    assert await rows(engine, "SELECT name FROM counters WHERE name = 'x'") == []
