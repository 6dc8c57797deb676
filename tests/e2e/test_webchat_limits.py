"""The web chat under abuse: a browser that stops reading, a flood of frames, and bad frames."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from adapters.webchat.channel import WebchatChannel
from core.ticket import ChannelRef
from tests.e2e.harness import Running, running, service_config
from tests.e2e.slack.driver import USERS, slack_service
from tests.e2e.webchat_clients import StalledSocket, join
from tests.fakes.slack import FakeSlack

BIG = "满" * 60_000  # one bot message of about 360 kB on the wire (text + both languages)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack()
    await slack.start()
    yield slack
    await slack.stop()


async def _until(done: Callable[[], bool], within: float) -> None:
    async with asyncio.timeout(within):
        while True:
            if done():
                return
            await asyncio.sleep(0.02)


def _webchat(svc: Running) -> WebchatChannel:
    channel = svc.services.channels["webchat"]
    assert isinstance(channel, WebchatChannel)
    return channel


async def test_a_browser_that_stops_reading_delays_no_delivery_and_is_dropped(
    sqlite_url: str, fake: FakeSlack
) -> None:
    async with slack_service(sqlite_url, fake) as slack:
        svc = slack.svc
        chat = _webchat(svc)
        stalled = await StalledSocket.join(svc, "han.meimei", "general")
        reader = await join(svc, "li.lei", room="general")
        general = ChannelRef("webchat", "general")

        async def post_big(i: int) -> None:
            t0 = time.perf_counter()
            ref = await asyncio.wait_for(chat.post_text(general, {"en": BIG, "zh-CN": str(i)}), 1)
            assert time.perf_counter() - t0 < 0.5, "post_text waited for a browser"
            assert ref is not None
            await reader.expect("message", within=1.0, id=ref.message)

        try:
            for i in range(30):  # far more than the stalled socket's buffers hold
                await post_big(i)

            # a ticket card in the same room, through the outbox dispatcher, and one on Slack
            await reader.send(type="say", room="general", text="@Gongdan 投影仪不亮", client_id="m")
            assert (await reader.expect("ack", client_id="m"))["ticket"] == "IT-1001"
            await reader.expect("card", within=1.0, ticket="IT-1001")
            await slack.mention(USERS["zhao.li"], "VPN 连不上")
            await fake.wait_answered("chat.postMessage", 1, 2.0)
            assert len(chat.hub.clients) == 2  # all of that while the stalled socket was open

            # once its send queue is full it is dropped (its connection aborted)
            for i in range(30, 50):
                await post_big(i)
            await _until(lambda: len(chat.hub.clients) == 1, within=2)
        finally:
            stalled.close()
        await reader.send(type="say", room="general", text="still here", client_id="s")
        await reader.expect("ack", client_id="s")


async def test_a_browser_that_takes_too_long_to_read_a_frame_is_dropped(sqlite_url: str) -> None:
    async with running(service_config(sqlite_url)) as svc:
        chat = _webchat(svc)
        chat.hub.limits = replace(chat.hub.limits, send_timeout_s=0.5)
        stalled = await StalledSocket.join(svc, "han.meimei", "general")
        try:
            await _until(lambda: bool(chat.hub.state["general"].clients), within=2)
            general = ChannelRef("webchat", "general")
            async with asyncio.timeout(1.0):
                for i in range(30):  # fills its buffers; its queue stays under the limit
                    await chat.post_text(general, {"en": BIG, "zh-CN": str(i)})
            await _until(lambda: not chat.hub.clients, within=3)
            await _until(lambda: stalled.was_reset, within=1)
        finally:
            stalled.close()


async def test_a_flood_of_frames_is_refused_with_one_notice_then_closed(sqlite_url: str) -> None:
    async with running(service_config(sqlite_url)) as svc:
        chat = _webchat(svc)
        flooder = await join(svc, "zhao.li", room="general")
        other = await join(svc, "bob.smith", room="general")
        baseline = len(asyncio.all_tasks())
        peak = {"tasks": 0, "queued": 0}

        async def sample() -> None:
            while True:
                peak["tasks"] = max(peak["tasks"], len(asyncio.all_tasks()) - baseline)
                queued = max((len(c.sender) for c in chat.hub.clients.values()), default=0)
                peak["queued"] = max(peak["queued"], queued)
                await asyncio.sleep(0.001)

        sampler = asyncio.create_task(sample())
        sent = 0
        with contextlib.suppress(ConnectionError):
            for i in range(5000):
                await flooder.ws.send_str(json.dumps({"type": "say", "text": f"spam {i}"}))
                sent += 1
        await other.send(type="say", room="general", text="anyone there?", client_id="q")
        await other.expect("ack", within=2.0, client_id="q")
        sampler.cancel()

        frames: list[dict[str, Any]] = []
        async with asyncio.timeout(5):
            async for msg in flooder.ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                frames.append(json.loads(msg.data))
        notices = [f for f in frames if f["type"] == "notice"]
        assert len(notices) == 1 and notices[0]["level"] == "error"
        assert "Too many messages" in notices[0]["text"]["en"]
        assert "消息发送过快" in notices[0]["text"]["zh-CN"]
        assert flooder.ws.close_code == aiohttp.WSCloseCode.POLICY_VIOLATION
        spam = [f for f in frames if f["type"] == "message" and f["text"].startswith("spam")]
        assert 19 <= len(spam) <= 25  # the burst of 20 (hello was one), and what trickled in
        assert peak["tasks"] < 10, peak
        assert peak["queued"] < 100, peak
