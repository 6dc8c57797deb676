"""The Stream-mode connection on aiohttp: open-connection call → WebSocket, frames in, acks out.

- `ping` is answered at once (the opaque echoed);
- `disconnect` opens the next connection at once, while the old socket stays open for the
  frames already in flight to be acked (the server closes it about 10 s later): no gap;
- a dropped socket or a failed open reconnects with exponential backoff (1 → 60 s) and full
  jitter; a connection that worked resets it;
- EVENT and CALLBACK frames are handled concurrently (at most `in_flight` at once; the others
  wait in memory, so the reader always sees the next ping) and acked on the socket they came on
  only when the handler returned, i.e. after commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import aiohttp

from adapters.contract import DeliveryError
from adapters.dingtalk.client import DingTalkClient
from adapters.dingtalk.inbound import DingTalkPayloadError, Frame, parse_frame
from adapters.dingtalk.types import SUBSCRIPTIONS
from adapters.kit.wire import compact_json
from adapters.ports import mark_received

log = logging.getLogger("gongdan.dingtalk")

BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 60.0
IN_FLIGHT = 256
HEARTBEAT_S = 60.0

# A frame handler returns (code, data): the ack's code and its data (sent as a JSON string).
Handler = Callable[[Frame], Awaitable[tuple[int, Any]]]
Sleep = Callable[[float], Awaitable[None]]


def backoff(attempt: int, rng: random.Random) -> float:
    """Full jitter: a random wait up to min(60 s, 1 s · 2^attempt)."""
    return rng.uniform(0, min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2**attempt))


class StreamClient:
    def __init__(
        self,
        client: DingTalkClient,
        handle: Handler,
        *,
        in_flight: int = IN_FLIGHT,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.client = client
        self.handle = handle
        self.rng = rng or random.Random()
        self.sleep = sleep
        self.connected = 0  # connections opened so far (tests and metrics)
        self._slots = asyncio.Semaphore(in_flight)
        self._runner: asyncio.Task[None] | None = None
        self._readers: set[asyncio.Task[None]] = set()
        self._work: set[asyncio.Task[None]] = set()
        self._sockets: set[aiohttp.ClientWebSocketResponse] = set()

    def start(self) -> None:
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="dingtalk-stream")

    async def stop(self) -> None:
        """Stop reading; frames being handled finish and are acked first."""
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        if self._work:
            await asyncio.wait(set(self._work), timeout=10)
        for ws in list(self._sockets):
            await ws.close()
        for task in list(self._readers):
            task.cancel()
        for task in list(self._readers):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                ws = await self._open()
            except Exception as exc:  # the open call or the handshake: try again later
                wait = backoff(attempt, self.rng)
                attempt += 1
                extra = {"error": str(exc), "retry_in_s": round(wait, 2)}
                if isinstance(exc, DeliveryError) and exc.permanent:
                    # DingTalk refused us (wrong credentials, a base URL that is not DingTalk):
                    # a configuration mistake, said as an error; retried in case it is mended
                    log.error("dingtalk stream cannot connect; retrying", extra=extra)
                else:
                    log.warning("dingtalk stream connect failed; retrying", extra=extra)
                await self.sleep(wait)
                continue
            replace: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            reader = asyncio.create_task(self._read(ws, replace), name="dingtalk-stream-read")
            self._readers.add(reader)
            reader.add_done_callback(self._readers.discard)
            why = await replace
            if why == "disconnect":
                attempt = 0  # the server asked: the next one opens at once, no gap
                continue
            wait = backoff(attempt, self.rng)
            attempt = min(attempt + 1, 16)
            log.warning("dingtalk stream dropped; reconnecting", extra={"retry_in_s": wait})
            await self.sleep(wait)

    async def _open(self) -> aiohttp.ClientWebSocketResponse:
        endpoint, ticket = await self.client.open_connection(SUBSCRIPTIONS)
        ws = await self.client.session.ws_connect(
            f"{endpoint}?ticket={quote(ticket, safe='')}", heartbeat=HEARTBEAT_S
        )
        self.connected += 1
        self._sockets.add(ws)
        return ws

    async def _read(
        self, ws: aiohttp.ClientWebSocketResponse, replace: asyncio.Future[str]
    ) -> None:
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    frame = parse_frame(msg.data)
                except DingTalkPayloadError as exc:
                    log.warning("dingtalk frame refused", extra={"error": str(exc)})
                    continue
                if frame.kind == "SYSTEM":
                    await self._system(ws, frame, replace)
                    continue
                # the reader never waits for a slot, so pings and disconnects are seen at once
                mark_received()  # the frame's task is timed from here
                task = asyncio.create_task(self._serve(ws, frame))
                self._work.add(task)
                task.add_done_callback(self._done)
        finally:
            self._sockets.discard(ws)
            if not replace.done():
                replace.set_result("dropped")

    def _done(self, task: asyncio.Task[None]) -> None:
        self._work.discard(task)

    async def _system(
        self, ws: aiohttp.ClientWebSocketResponse, frame: Frame, replace: asyncio.Future[str]
    ) -> None:
        if frame.topic == "ping":
            await _send_ack(ws, frame.message_id, 200, frame.data)
        elif frame.topic == "disconnect":
            log.info("dingtalk stream asked to reconnect", extra={"reason": frame.data})
            if not replace.done():
                replace.set_result("disconnect")

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse, frame: Frame) -> None:
        try:
            async with self._slots:
                code, data = await self.handle(frame)
        except Exception:
            log.exception("dingtalk frame handler failed", extra={"topic": frame.topic})
            # an EVENT comes again after LATER; a CALLBACK is not resent, the 500 is only logged
            code, data = (200, {"status": "LATER"}) if frame.kind == "EVENT" else (500, {})
        if frame.kind == "CALLBACK":
            data = {"response": data}
        await _send_ack(ws, frame.message_id, code, data)


async def _send_ack(
    ws: aiohttp.ClientWebSocketResponse, message_id: str, code: int, data: Any
) -> None:
    ack = {
        "code": code,
        "headers": {"messageId": message_id, "contentType": "application/json"},
        "message": "OK" if code == 200 else "error",
        "data": _dumps(data),
    }
    try:
        await ws.send_str(_dumps(ack))
    except (ConnectionError, RuntimeError) as exc:
        # the socket went away: an EVENT comes again, a robot message was committed already
        log.info("dingtalk ack not sent", extra={"error": str(exc)})


def _dumps(value: Any) -> str:
    """Compact JSON; the standard encoder for what orjson refuses (a lone surrogate in an
    error text quoted from a bad frame), so an ack always goes out."""
    try:
        return compact_json(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
