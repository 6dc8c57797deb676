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

from adapters.contract import Capabilities, CardRenderer, DeliveryError, MessageRef, Quota
from bot.bootstrap import Services, build
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.flight import DispatchPolicy
from core.clock import FrozenClock
from core.commands import ActOnTicket, OpenTicket
from core.i18n import Locale
from core.ticket import ChannelRef
from core.workflow import Action
from storage import outbox as storage_outbox
from storage.tables import outbox
from tests.dbs import fresh_database
from tests.e2e.harness import service_config
from tests.fakes.channel import ReachesNobody


@dataclass
class FakeChannel(ReachesNobody):
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

    # posts to these conversations wait for the event before answering (a hung platform call)
    hang: dict[str, asyncio.Event] = field(default_factory=dict)

    def _maybe_fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    async def post_card(self, where: ChannelRef, cards: CardRenderer) -> MessageRef:
        gate = self.hang.get(where.conversation or "") or self.hang.get("*")
        if gate is not None:
            await gate.wait()
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


async def _rows(services: Services) -> list[sa.Row[Any, Any, Any]]:
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


async def test_a_wait_for_one_places_limit_holds_back_that_row_not_the_channel(
    world: World,
) -> None:
    # a group webhook's 20 a minute is spent (WeCom's 45009): the rest of the channel goes on
    services, channel, dispatcher, clock = world
    await _open(services, "hook")
    channel.failures.append(
        DeliveryError("api freq out of limit", retry_after=60, this_place_only=True)
    )
    await dispatcher.run_once()
    await _open(services, "room")
    await dispatcher.run_once()
    assert channel.posts == [("room", "Assigned")]
    clock.advance(timedelta(seconds=60))
    await dispatcher.run_once()
    assert sorted(room for room, _ in channel.posts) == ["hook", "room"]


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


async def _waiting_seconds(services: Services, clock: FrozenClock) -> list[float]:
    """When each card still pending may go, in seconds from now."""
    async with services.engine.connect() as conn:
        result = await conn.execute(
            sa.select(outbox.c.next_attempt_at).where(_CARDS, outbox.c.status == "pending")
        )
        return sorted((at - clock.now()).total_seconds() for (at,) in result)


async def test_a_backlog_in_one_conversation_waits_for_its_own_slots_not_one_instant(
    world: World,
) -> None:
    # held back by the conversation's rate (one a second), each card waits for a slot of its
    # own: retried all at the same instant, all but one would be put back again and again
    services, channel, dispatcher, clock = world
    for _ in range(4):
        await _open(services, "r1")
    await dispatcher.run_once()
    assert len(channel.posts) == 1
    assert await _waiting_seconds(services, clock) == [1.0, 2.0, 3.0]
    for sent in (2, 3, 4):
        clock.advance(timedelta(seconds=1))
        await dispatcher.run_once()
        assert len(channel.posts) == sent
    assert sorted((r.status, r.attempts) for r in await _rows(services)) == [("sent", 0)] * 4


@dataclass
class MemberQuotaChannel(FakeChannel):
    """A platform that shows one member two messages at once, then one a second (WeCom's app:
    30 a minute), and has no limit in group rooms."""

    def quotas(self, kind: str, conversation: str) -> tuple[Quota, ...]:
        if conversation.startswith("dm-") and kind != "card_update":
            return (Quota(f"member:{conversation}", 1.0, burst=2),)
        return ()


async def test_a_platforms_limit_on_one_member_holds_back_only_that_members_messages(
    world: World,
) -> None:
    services, _channel, _dispatcher, clock = world
    channel = MemberQuotaChannel()
    dispatcher = _quota_dispatcher(services, channel, clock)
    for _ in range(5):
        await _open(services, "dm-lilei")
    await _open(services, "dm-hanmei")
    await _open(services, "room")
    await dispatcher.run_once()
    assert sorted(room for room, _ in channel.posts) == [
        "dm-hanmei",
        "dm-lilei",
        "dm-lilei",
        "room",
    ]
    # the other three wait in the outbox for Li Lei's next slots, uncounted
    assert await _waiting_seconds(services, clock) == [1.0, 2.0, 3.0]
    clock.advance(timedelta(seconds=3))
    await dispatcher.run_once()
    assert len(channel.posts) == 7
    assert sorted((r.status, r.attempts) for r in await _rows(services)) == [("sent", 0)] * 7


@dataclass
class QuotaChannel(FakeChannel):
    """A platform that takes two sends a second from the app, in all conversations together."""

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(sends_per_second=2.0)


def _posted(channel: FakeChannel, count: int) -> Any:
    async def check() -> bool:
        return len(channel.posts) >= count

    return check


def _quota_dispatcher(services: Services, channel: FakeChannel, clock: FrozenClock) -> Dispatcher:
    return Dispatcher(
        services.engine,
        services.writer,
        {"fake": channel},
        services.service.ctx,
        clock,
        services.metrics,
        DispatchPolicy(max_attempts=3),
    )


async def test_a_channels_app_wide_rate_holds_a_burst_back_without_counting_attempts(
    world: World,
) -> None:
    services, _channel, _dispatcher, clock = world
    channel = QuotaChannel()
    dispatcher = _quota_dispatcher(services, channel, clock)
    for room in ("r1", "r2", "r3", "r4", "r5"):
        await _open(services, room)
    await dispatcher.run_once()
    assert len(channel.posts) == 2  # a second's worth, though every room is free
    assert sorted((r.status, r.attempts) for r in await _rows(services)) == [
        *[("pending", 0)] * 3,
        *[("sent", 0)] * 2,
    ]
    await dispatcher.run_once()
    assert len(channel.posts) == 2  # no time passed: nothing more
    clock.advance(timedelta(seconds=1))
    await dispatcher.run_once()
    assert len(channel.posts) == 4
    clock.advance(timedelta(seconds=1))
    await dispatcher.run_once()
    assert sorted(room for room, _ in channel.posts) == ["r1", "r2", "r3", "r4", "r5"]


async def test_the_running_dispatcher_sends_what_the_rate_held_back_when_time_allows(
    world: World,
) -> None:
    services, _channel, _dispatcher, clock = world
    channel = QuotaChannel()
    dispatcher = _quota_dispatcher(services, channel, clock)
    await dispatcher.start()
    try:
        for room in ("r1", "r2", "r3", "r4", "r5"):
            await _open(services, room)
        dispatcher.wake()
        await _until(_posted(channel, 2))
        assert len(channel.posts) == 2
        clock.advance(timedelta(seconds=1))  # the loop looks again when the next send may go
        await _until(_posted(channel, 4))
        clock.advance(timedelta(seconds=1))
        await _until(_posted(channel, 5))
    finally:
        await dispatcher.stop()
    assert sorted(room for room, _ in channel.posts) == ["r1", "r2", "r3", "r4", "r5"]


async def test_a_channel_held_back_by_its_quota_costs_no_claim_and_holds_up_no_other(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A platform paced to its quota (DingTalk's 20 calls a second) builds a backlog under a
    # burst. Its new rows must not make every commit claim again (each claim walked the whole
    # backlog), and another channel's card must still go out at once.
    services, other, _dispatcher, clock = world
    paced = QuotaChannel()
    paced.name = "paced"
    dispatcher = Dispatcher(
        services.engine,
        services.writer,
        {"paced": paced, "fake": other},
        services.service.ctx,
        clock,
        services.metrics,
        DispatchPolicy(max_attempts=3, batch=8, channel_concurrency=4),
    )
    claims: list[list[str] | None] = []  # the channels each claim read (None: any)
    claim = storage_outbox.claim

    async def recorded(*args: Any) -> Any:
        channels = args[5] if len(args) > 5 else None
        claims.append(None if channels is None else list(channels))
        return await claim(*args)

    monkeypatch.setattr(storage_outbox, "claim", recorded)
    await dispatcher.start()
    try:
        for i in range(12):
            await _open_on(services, "paced", f"p{i}")
            dispatcher.wake({"paced"})
        await _until(_posted(paced, 2))  # two a second; the clock stands still
        await _until(_holding(services, "paced", 4))  # a full round waits for the quota
        await asyncio.sleep(0.05)  # a claim under way ends
        before, held = len(claims), await _held(services, "paced")
        for i in range(12, 20):
            await _open_on(services, "paced", f"p{i}")
            dispatcher.wake({"paced"})  # what each commit does
        await asyncio.sleep(0.05)
        # the paced channel is full: no claim reads its rows (a poll may read the others')
        assert [c for c in claims[before:] if c is None or "paced" in c] == []
        assert await _held(services, "paced") == held
        await _open_on(services, "fake", "r1")
        dispatcher.wake({"fake"})
        await _until(_posted(other, 1))
        assert ["fake"] in claims[before:]
        assert len(paced.posts) == 2
    finally:
        await dispatcher.stop(drain_timeout=0.2)  # the paced rows wait for time that never comes


async def _open_on(services: Services, channel: str, room: str) -> None:
    await services.service.submit(
        OpenTicket("it", "Printer jammed", "zhao.li", ChannelRef(channel, room))
    )


async def _held(services: Services, channel: str) -> int:
    """Rows of the channel the dispatcher claimed and holds unsent."""
    async with services.engine.connect() as conn:
        held = await conn.execute(
            sa.select(sa.func.count()).where(
                outbox.c.channel == channel,
                outbox.c.status == "pending",
                outbox.c.lease_owner.is_not(None),
            )
        )
        return int(held.scalar_one())


def _holding(services: Services, channel: str, count: int) -> Any:
    async def check() -> bool:
        return await _held(services, channel) >= count

    return check


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


async def _statuses(services: Services) -> dict[str, str]:
    """Each card post's status by the room it goes to."""
    async with services.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(outbox.c.target, outbox.c.status).where(outbox.c.kind == "card_post")
        )
        return {str(r.target["conversation"]): str(r.status) for r in rows}


async def _until(check: Any, within: float = 2.0) -> None:
    async with asyncio.timeout(within):
        while True:
            if await check():
                return
            await asyncio.sleep(0.01)


async def test_a_straggler_does_not_hold_back_settling_or_claiming_other_deliveries(
    world: World,
) -> None:
    services, channel, dispatcher, _clock = world
    gate = channel.hang["slow"] = asyncio.Event()
    await _open(services, "slow")
    await _open(services, "r2")
    await dispatcher.start()
    try:

        async def others_sent() -> bool:
            return (await _statuses(services)) == {"slow": "pending", "r2": "sent"}

        await _until(others_sent)  # settled while the slow post is still out
        await _open(services, "r3")  # committed after the straggler left: claimed and sent too
        dispatcher.wake()

        async def later_sent() -> bool:
            return (await _statuses(services)).get("r3") == "sent"

        await _until(later_sent)
        assert (await _statuses(services))["slow"] == "pending"
        gate.set()

        async def all_sent() -> bool:
            return set((await _statuses(services)).values()) == {"sent"}

        await _until(all_sent)
    finally:
        gate.set()
        await dispatcher.stop()
    assert sorted(room for room, _ in channel.posts) == ["r2", "r3", "slow"]


async def test_a_send_without_an_answer_times_out_and_is_retried_with_backoff(
    world: World,
) -> None:
    services, channel, dispatcher, clock = world
    dispatcher.policy.send_timeout_s = 0.05
    gate = channel.hang["r1"] = asyncio.Event()
    await _open(services)
    async with asyncio.timeout(2):
        assert await dispatcher.run_once() == 1
    async with services.engine.connect() as conn:
        row = (await conn.execute(sa.select(outbox).where(_CARDS))).mappings().one()
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["last_error"] == "no answer within 0.05 s"
    assert row["lease_until"] is None
    gate.set()
    clock.advance(timedelta(seconds=2))  # the first backoff is at most base_backoff_s
    assert await dispatcher.run_once() == 1
    assert channel.posts == [("r1", "Assigned")]


async def test_one_hung_channel_cannot_take_every_delivery_slot(world: World) -> None:
    services, channel, dispatcher, _clock = world
    other = FakeChannel(name="other")
    dispatcher.channels = {"fake": channel, "other": other}
    dispatcher.policy.concurrency = 3
    dispatcher.policy.channel_concurrency = 2
    gate = channel.hang["*"] = asyncio.Event()
    for room in ("a", "b", "c"):
        await _open(services, room)
    await services.service.submit(
        OpenTicket("it", "Scanner offline", "zhao.li", ChannelRef("other", "o1"))
    )
    await dispatcher.start()
    try:

        async def other_sent() -> bool:
            return (await _statuses(services)).get("o1") == "sent"

        await _until(other_sent)
        assert other.posts == [("o1", "Assigned")]
    finally:
        gate.set()
        await dispatcher.stop()
