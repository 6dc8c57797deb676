"""The smart robot's long connection (doc 101463), spoken directly on aiohttp.

Frames are JSON `{cmd, headers: {req_id}, body}`. We send `aibot_subscribe` (bot id + secret)
first and `ping` every `heartbeat_s`; WeCom acks each request with `{headers: {req_id},
errcode, errmsg}` and pushes `aibot_msg_callback` / `aibot_event_callback`, which we answer
(`aibot_respond_*`) with the callback's own req_id.

A dropped connection is reopened with backoff (1, 2, 5, 10, 30 s, jittered). Two things end
the loop for good, each logged as an error saying why: WeCom refusing the bot id or secret,
and `disconnected_event` — WeCom allows one live connection per bot, and it kicks the older one
when another replica (or a stray process) subscribes; reconnecting would kick that one in turn.

Why not the official SDK (wecom-aibot-python-sdk 1.0.2): it cannot use ws:// (so it cannot be
pointed at a plain local endpoint), trusts only certifi's CAs (a corporate proxy's CA needs code
changes), warns on import (DeprecationWarning), and after `disconnected_event` goes quiet without
saying so. The protocol is small; owning it gives us our own backoff, logging and stop rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import orjson

from adapters.kit.wire import compact_json
from adapters.ports import mark_received
from adapters.wecom.client import WeComError

log = logging.getLogger("gongdan.wecom")

BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)
ACK_TIMEOUT_S = 5.0
OnFrame = Callable[[dict[str, Any]], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


class RobotConnection:
    def __init__(
        self,
        ws_url: str,
        bot_id: str,
        secret: str,
        on_frame: OnFrame,
        *,
        heartbeat_s: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        backoff: tuple[float, ...] = BACKOFF_S,
    ) -> None:
        self.ws_url = ws_url
        self._bot_id = bot_id
        self._secret = secret
        self._on_frame = on_frame
        self.heartbeat_s = heartbeat_s
        self._sleep = sleep
        self._backoff = backoff
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._handling: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()
        self.stopped_because: str | None = None  # why it will not reconnect (None: it will)
        self.connects = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="wecom-robot")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for t in list(self._handling):
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(t), ACK_TIMEOUT_S)

    async def done(self) -> None:
        """Until the connection loop has ended for good (kicked or refused)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def request(
        self, cmd: str, body: Mapping[str, Any], *, req_id: str | None = None
    ) -> dict[str, Any]:
        """Send a frame and wait for its ack; WeComError when errcode is not 0."""
        ws = self._ws
        if ws is None or ws.closed:
            raise WeComError(-1, "the smart robot is not connected")
        req_id = req_id or f"{cmd}_{uuid.uuid4().hex}"
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = waiter
        try:
            frame = {"cmd": cmd, "headers": {"req_id": req_id}, "body": dict(body)}
            await ws.send_str(compact_json(frame))
            ack = await asyncio.wait_for(waiter, ACK_TIMEOUT_S)
        except (TimeoutError, ConnectionError, aiohttp.ClientError) as exc:
            raise WeComError(-1, f"{cmd}: no answer ({type(exc).__name__})") from exc
        finally:
            self._pending.pop(req_id, None)
        code = ack.get("errcode", 0)
        if isinstance(code, int) and code != 0:
            raise WeComError(code, f"{cmd}: {ack.get('errmsg', '')}", permanent=True)
        return ack

    # ---- the loop ---------------------------------------------------------------------------
    async def _run(self) -> None:
        attempt = 0
        async with aiohttp.ClientSession() as session:
            while self.stopped_because is None:
                try:
                    await self._connect(session)
                    if self.subscribed.is_set():
                        attempt = 0
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    log.warning("wecom smart robot connection failed", extra={"error": str(exc)})
                finally:
                    self._ws = None
                    self.subscribed.clear()
                    for waiter in self._pending.values():
                        if not waiter.done():
                            waiter.set_exception(ConnectionError("connection closed"))
                if self._ended():
                    break
                wait = self._backoff[min(attempt, len(self._backoff) - 1)]
                wait *= random.uniform(0.8, 1.2)
                attempt += 1
                log.warning(
                    "wecom smart robot disconnected; reconnecting",
                    extra={"retry_in_s": round(wait, 1)},
                )
                await self._sleep(wait)
        log.error("wecom smart robot stopped: %s", self.stopped_because)

    def _ended(self) -> bool:
        return self.stopped_because is not None

    async def _connect(self, session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(
            self.ws_url, autoping=True, timeout=aiohttp.ClientWSTimeout(ws_close=5.0)
        ) as ws:
            self._ws = ws
            self.connects += 1
            keeper = asyncio.create_task(self._subscribe_and_ping(ws))
            try:
                async for message in ws:
                    if message.type == aiohttp.WSMsgType.TEXT:
                        self._on_text(message.data)
            finally:
                keeper.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await keeper

    async def _subscribe_and_ping(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            await self.request("aibot_subscribe", {"bot_id": self._bot_id, "secret": self._secret})
        except WeComError as exc:
            if exc.errcode != -1:
                self.stopped_because = (
                    f"WeCom refused the bot id or secret ({exc}); check channels.wecom.robot"
                )
            await ws.close()
            return
        self.subscribed.set()
        log.info("wecom smart robot subscribed")
        while not ws.closed:
            await asyncio.sleep(self.heartbeat_s)
            try:
                await self.request("ping", {})
            except WeComError:
                log.warning("wecom smart robot heartbeat unanswered; reconnecting")
                await ws.close()
                return

    def _on_text(self, raw: str) -> None:
        try:
            frame = orjson.loads(raw)
        except orjson.JSONDecodeError:
            log.warning("wecom smart robot sent a frame that is not JSON; ignored")
            return
        if not isinstance(frame, dict):
            return
        headers = frame.get("headers")
        req_id = str(headers.get("req_id", "")) if isinstance(headers, dict) else ""
        if not frame.get("cmd"):
            waiter = self._pending.get(req_id)
            if waiter is not None and not waiter.done():
                waiter.set_result(frame)
            return
        body = frame.get("body")
        event = body.get("event") if isinstance(body, dict) else None
        if isinstance(event, dict) and event.get("eventtype") == "disconnected_event":
            self.stopped_because = (
                "another connection subscribed with this bot id (WeCom keeps one live connection "
                "per bot), so this one was closed and will not reconnect; run the smart robot in "
                "one process only"
            )
            return
        mark_received()  # the frame's task is timed from here
        task = asyncio.create_task(self._handle(frame))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _handle(self, frame: dict[str, Any]) -> None:
        try:
            await self._on_frame(frame)
        except Exception:
            log.exception("wecom smart robot frame failed", extra={"cmd": frame.get("cmd")})
