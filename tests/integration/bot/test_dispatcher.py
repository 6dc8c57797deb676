"""The outbox dispatcher: at-least-once delivery that backs off, honours 429s and paces channels."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web

from adapters.base import CardRenderer, DeliveryError, MessageRef
from bot.bootstrap import Services, build
from bot.delivery.dispatcher import Dispatcher, DispatchPolicy
from core.clock import FrozenClock
from core.commands import ActOnTicket, OpenTicket
from core.i18n import Locale
from core.ticket import ChannelRef
from core.workflow import Action
from storage.tables import outbox
from tests.dbs import fresh_database
from tests.e2e.harness import service_config


@dataclass
class FakeChannel:
    """A channel that records what it was asked to send and fails when told to."""

    name: str = "fake"
    failures: list[DeliveryError] = field(default_factory=list)
    posts: list[tuple[str, str]] = field(default_factory=list)  # (conversation, status label)
    updates: list[tuple[str, str]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    def routes(self) -> list[web.AbstractRouteDef]:
        return []

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def _maybe_fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    async def post_card(self, where: ChannelRef, cards: CardRenderer) -> MessageRef:
        self._maybe_fail()
        self.posts.append((where.conversation or "", cards("en").status_label))
        return MessageRef(self.name, where.conversation or "", f"m{len(self.posts)}")

    async def update_card(self, ref: MessageRef, cards: CardRenderer) -> None:
        self._maybe_fail()
        self.updates.append((ref.message, cards("en").status_label))

    async def post_text(
        self, where: ChannelRef, text: dict[Locale, str], *, ephemeral_to: str | None = None
    ) -> MessageRef | None:
        self._maybe_fail()
        self.texts.append(text["en"])
        return None


World = tuple[Services, FakeChannel, Dispatcher, FrozenClock]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    clock = FrozenClock()
    async with fresh_database("sqlite", tmp_path) as url:
        services = await build(service_config(url), clock=clock)
        await services.writer.start()  # no background dispatcher: the test drives run_once()
        channel = FakeChannel()
        policy = DispatchPolicy(max_attempts=3, base_backoff_s=2.0, rate_limits={"fake": 1.0})
        dispatcher = Dispatcher(
            services.engine,
            services.writer,
            {"fake": channel},
            services.service.ctx,
            clock,
            services.metrics,
            policy,
        )
        try:
            yield services, channel, dispatcher, clock
        finally:
            await services.writer.stop()
            await services.engine.dispose()


async def _open(services: Services, room: str = "r1") -> str:
    done = await services.service.submit(
        OpenTicket("it", "Printer jammed", "zhao.li", ChannelRef("fake", room))
    )
    return str(done.value.key)


# the assignee's "assigned to you" line is an outbox row too; these tests are about cards
_CARDS = outbox.c.kind != "notice"


async def _rows(services: Services) -> list[sa.Row[tuple[object, ...]]]:
    async with services.engine.connect() as conn:
        result = await conn.execute(
            sa.select(outbox.c.kind, outbox.c.status, outbox.c.attempts).where(_CARDS)
        )
        return list(result)


async def test_a_429_pauses_the_channel_until_retry_after(world: World) -> None:
    services, channel, dispatcher, clock = world
    await _open(services)
    channel.failures.append(DeliveryError("ratelimited", retry_after=30))
    assert await dispatcher.run_once() == 1
    assert channel.posts == []
    clock.advance(timedelta(seconds=29))
    assert await dispatcher.run_once() == 0
    assert channel.posts == []
    clock.advance(timedelta(seconds=1))
    assert await dispatcher.run_once() == 1
    assert channel.posts == [("r1", "Assigned")]


async def test_card_updates_render_the_current_state(world: World) -> None:
    services, channel, dispatcher, clock = world
    key = await _open(services)
    await dispatcher.run_once()
    await services.service.submit(
        ActOnTicket(key, Action.ACCEPT, "li.lei", ChannelRef("fake", "r1"))
    )
    await services.service.submit(
        ActOnTicket(key, Action.START, "li.lei", ChannelRef("fake", "r1"))
    )
    clock.advance(timedelta(seconds=1))
    assert await dispatcher.run_once() == 1  # two changes, one coalesced update
    assert channel.updates == [("m1", "In progress")]


async def test_a_change_racing_the_first_post_still_reaches_the_card(world: World) -> None:
    services, channel, dispatcher, clock = world
    key = await _open(services)
    await services.service.submit(ActOnTicket(key, Action.ACCEPT, "li.lei", ChannelRef("api")))
    await dispatcher.run_once()
    assert channel.posts == [("r1", "Accepted")]  # rendered at send time, not at enqueue time
    clock.advance(timedelta(seconds=1))
    assert await dispatcher.run_once() == 0  # nothing stale left to fix


async def test_failures_back_off_then_give_up(world: World) -> None:
    services, channel, dispatcher, clock = world
    await _open(services)
    channel.failures += [DeliveryError("boom"), DeliveryError("boom"), DeliveryError("boom")]
    assert await dispatcher.run_once() == 1
    assert await dispatcher.run_once() == 0  # backing off: not due yet
    clock.advance(timedelta(seconds=2))  # first backoff is at most base (2 s)
    assert await dispatcher.run_once() == 1
    clock.advance(timedelta(seconds=4))
    assert await dispatcher.run_once() == 1
    assert [(r.kind, r.status, r.attempts) for r in await _rows(services)] == [
        ("card_post", "failed", 3)
    ]
    assert channel.posts == []


async def test_permanent_errors_are_not_retried(world: World) -> None:
    services, channel, dispatcher, _clock = world
    await _open(services)
    channel.failures.append(DeliveryError("channel_not_found", permanent=True))
    await dispatcher.run_once()
    assert [(r.kind, r.status) for r in await _rows(services)] == [("card_post", "failed")]


async def test_rate_limit_spaces_sends_in_one_conversation_without_counting_attempts(
    world: World,
) -> None:
    services, channel, dispatcher, clock = world
    await _open(services, "r1")
    await _open(services, "r1")
    await _open(services, "r2")
    await dispatcher.run_once()
    assert sorted(room for room, _ in channel.posts) == ["r1", "r2"]  # other rooms are not held up
    assert sorted((r.status, r.attempts) for r in await _rows(services)) == [
        ("pending", 0),
        ("sent", 0),
        ("sent", 0),
    ]
    clock.advance(timedelta(seconds=1))
    await dispatcher.run_once()
    assert sorted(room for room, _ in channel.posts) == ["r1", "r1", "r2"]


async def test_a_disabled_channel_fails_the_row_with_a_reason(world: World) -> None:
    services, _channel, dispatcher, _clock = world
    await services.service.submit(OpenTicket("it", "x", "zhao.li", ChannelRef("nowhere", "c")))
    await dispatcher.run_once()
    async with services.engine.connect() as conn:
        error = (await conn.execute(sa.select(outbox.c.last_error).where(_CARDS))).scalar_one()
    assert error == "channel nowhere is not enabled"


async def test_an_idle_service_waits_for_work_instead_of_claiming_over_and_over(
    tmp_path: Path,
) -> None:
    # The dispatcher's own claim commits must not wake it again: that was a busy loop that kept
    # an idle service at 100 % of a core, one claim transaction every few milliseconds.
    async with fresh_database("sqlite", tmp_path) as url:
        services = await build(service_config(url))
        writes: list[object] = []
        run = services.writer.run

        async def counted(fn: Any, **options: Any) -> Any:
            writes.append(fn)
            return await run(fn, **options)

        services.writer.run = counted  # type: ignore[method-assign]
        await services.start()
        try:
            await _open(services)  # a card to deliver: the dispatcher claims, posts, settles
            await asyncio.sleep(0.3)  # real time: a spinning loop shows as dozens of claims
            settled = len(writes)
            await asyncio.sleep(0.3)
            idle = len(writes) - settled
        finally:
            await services.stop()

    assert settled >= 2  # the card's pass ran (claim + settle)
    assert idle == 0
