"""Web chat from its side: a browser's WebSocket (the frames app.js sends) in and out.

The platform is Gongdan's own (Capabilities.own_platform), so the cases about a third party
refusing or rate-limiting a send, or sending events the channel does not handle, do not apply.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from bot.config import Config
from tests.contract.drivers.base import FIXTURES, NOTICE_COALESCING, Answer, ChannelDriver, Shown
from tests.e2e.harness import service_config

FIXTURE = FIXTURES / "webchat"
ROOM = "helpdesk"


class WebchatContractDriver(ChannelDriver):
    name = "webchat"
    accepted = "ack"
    refused = "notice/error"

    _ws: aiohttp.ClientWebSocketResponse | None = None
    _last: dict[str, Any] | None = None
    _said = 0

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._seen: list[dict[str, Any]] = []  # frames the browser got that no step waited for

    async def platform(self) -> AsyncIterator[None]:
        yield  # the channel is its own platform
        if self._ws is not None:
            await self._ws.close()

    def config(self, db_url: str) -> Config:
        return service_config(db_url)

    def _frame(self, fixture: str, **fields: Any) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads((FIXTURE / fixture).read_text(encoding="utf-8"))
        return frame | fields

    async def _browser(self) -> aiohttp.ClientWebSocketResponse:
        """zhao.li's browser in the help desk room, opened once."""
        if self._ws is None:
            self._ws = await self.svc.http.ws_connect(self.svc.url + "/webchat/ws")
            await self._ws.send_json(self._frame("hello_helpdesk.json"))
            await _frame_of(self._ws, "history", keep=self._seen)
        return self._ws

    async def _say(self, frame: dict[str, Any]) -> Answer:
        ws = await self._browser()
        self._last = frame
        await ws.send_json(frame)
        got = await _frame_of(ws, "ack", "notice", keep=self._seen)
        if got["type"] == "notice":
            return Answer(f"notice/{got['level']}", str(got["text"]["en"]))
        return Answer("ack", str(got.get("ticket", "")))

    async def open_ticket(self, text: str) -> str:
        self._said += 1
        frame = self._frame("say_helpdesk.json", text=text, client_id=f"m-{self._said}")
        answer = await self._say(frame)
        assert answer.status == "ack" and answer.reason, answer
        return answer.reason

    async def deliver_again(self) -> Answer:
        assert self._last is not None
        return await self._say(self._last)

    async def cards(self, key: str) -> list[Shown]:
        """What zhao.li's browser shows: a card, replaced in place by each card_update."""
        cards: dict[str, Shown] = {}
        self._seen.extend(await _drain(await self._browser()))
        for frame in self._seen:
            if frame.get("type") not in ("card", "card_update") or frame["ticket"] != key:
                continue
            before = cards.get(frame["id"])
            edits = 0 if before is None else before.edits + 1
            cards[frame["id"]] = Shown(frame["id"], ROOM, frame["html"]["zh-CN"], edits)
        return list(cards.values())

    def fail_next_send(self, *, retry_after: int | None) -> None:
        raise AssertionError("web chat is its own platform: nothing refuses its sends")

    def send_attempts(self) -> int:
        raise AssertionError("web chat is its own platform: nothing refuses its sends")

    async def send_unparseable(self) -> Answer:
        ws = await self._browser()
        await ws.send_str('{"type": "say", "text": ')  # cut off mid-object
        got = await _frame_of(ws, "notice", keep=self._seen)
        return Answer(f"notice/{got['level']}", str(got["text"]["en"]))

    async def send_unhandled(self) -> Answer:
        raise AssertionError("web chat's frames are its own: it handles every one it knows")

    async def message_to_bob(self) -> Shown:
        key = await self.open_ticket("printer jammed on 3F")
        await self.settle()
        await self.act(key, "assign", "li.lei", assignee="bob.smith")
        self.clock.advance(NOTICE_COALESCING)
        await self.settle()
        room = "dm:bob.smith"
        ws = await self.svc.http.ws_connect(self.svc.url + "/webchat/ws")
        try:
            await ws.send_json(self._frame("hello_helpdesk.json", person="bob.smith", room=room))
            history = await _frame_of(ws, "history")
        finally:
            await ws.close()
        *_, last = history["messages"]
        # every frame carries each language; bob's browser shows his
        return Shown(str(last["id"]), room, str(last["texts"]["en"]))


async def _frame_of(
    ws: aiohttp.ClientWebSocketResponse, *kinds: str, keep: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The next frame of one of `kinds`; the frames before it go to `keep`."""
    async with asyncio.timeout(5.0):
        while True:
            frame: dict[str, Any] = await ws.receive_json()
            if frame.get("type") in kinds:
                return frame
            if keep is not None:
                keep.append(frame)


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    """Every frame the service has sent so far (it stops sending for a while)."""
    frames: list[dict[str, Any]] = []
    while True:
        try:
            async with asyncio.timeout(0.3):
                frames.append(await ws.receive_json())
        except TimeoutError:
            return frames
