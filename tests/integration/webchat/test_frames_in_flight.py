"""One browser's burst is handled a few frames at once, in order, so it shares group commits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import WSMessage, web
from aiohttp.test_utils import TestClient, TestServer

from adapters.webchat.limits import Limits
from adapters.webchat.pump import pump, queued
from adapters.webchat.rooms import Client, RoomHub, WebchatSettings
from core.i18n import Text
from core.people import StaticDirectory


@dataclass
class SlowWriter:
    """Stands in for the group-commit writer: records the order frames queue their command in,
    and holds every one until the test commits them all at once."""

    limits: Limits
    order: list[int] = field(default_factory=list)
    commit: asyncio.Event = field(default_factory=asyncio.Event)
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, client: Client, msg: WSMessage) -> None:
        n = json.loads(msg.data)["n"]
        if n % 3 == 0:
            await asyncio.sleep(0)  # a frame that takes longer before it queues keeps its place
        queued()
        self.order.append(n)
        if len(self.order) == self.limits.in_flight:
            self.started.set()
        await self.commit.wait()


@pytest.fixture
async def chat() -> AsyncIterator[tuple[TestClient[web.Request, web.Application], SlowWriter]]:
    limits = Limits(socket_burst=100, in_flight=8)
    settings = WebchatSettings("Gongdan", Text("Gongdan", "工单助手"), (), ())
    hub = RoomHub(settings, StaticDirectory(), limits)
    writer = SlowWriter(limits)

    async def ws_handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        client = hub.connect(ws, request.transport)
        try:
            await pump(ws, client, limits, writer.handle, lambda _client: None)
        finally:
            await hub.disconnect(client)
        return ws

    app = web.Application()
    app.router.add_get("/ws", ws_handler)
    async with TestClient(TestServer(app)) as client:
        yield client, writer


async def test_a_burst_from_one_socket_is_handled_eight_at_a_time_in_the_order_sent(
    chat: tuple[TestClient[web.Request, web.Application], SlowWriter],
) -> None:
    client, writer = chat
    ws = await client.ws_connect("/ws")
    for n in range(12):
        await ws.send_json({"n": n})

    await asyncio.wait_for(writer.started.wait(), 5)
    await asyncio.sleep(0.05)  # time enough for a ninth frame, were it let in
    assert writer.order == list(range(8))

    writer.commit.set()  # one commit answers the eight; the other four follow
    for _ in range(100):
        if len(writer.order) == 12:
            break
        await asyncio.sleep(0.01)
    assert writer.order == list(range(12))
    await ws.close()
