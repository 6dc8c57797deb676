"""The web chat under abuse: a browser that stops reading, a flood of frames, and bad frames."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from adapters.webchat.channel import WebchatChannel
from core.ticket import ChannelRef
from tests.e2e.harness import Running
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
