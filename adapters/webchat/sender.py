"""One browser's outgoing frames: a bounded queue drained by one task, never waited on.

Nothing that delivers to a room (the outbox dispatcher, another person's message) may wait for a
browser: a socket that stops reading would hold every delivery behind it. So a frame is put in
the socket's queue and the call returns; the socket's own task writes it. A socket whose queue
overflows, or whose write takes longer than the send timeout, is dropped by aborting its
transport: a graceful close would itself wait to flush into the socket that does not read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections import deque

from aiohttp import WSMsgType, web

from adapters.webchat.limits import Limits

log = logging.getLogger("gongdan.webchat")


class Sender:
    def __init__(
        self, ws: web.WebSocketResponse, transport: asyncio.Transport | None, limits: Limits
    ) -> None:
        self.ws = ws
        self.limits = limits
        self._transport = transport
        self._queue: deque[bytes] = deque()
        self._bytes = 0
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()  # set while nothing is queued or being written
        self._drained.set()
        self._task: asyncio.Task[None] | None = None
        self.dropped: str | None = None  # why the socket was dropped, once it was

    def __len__(self) -> int:
        return len(self._queue)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webchat-sender")

    def offer(self, data: bytes) -> bool:
        """Queue one text frame (UTF-8); False when the socket is gone or was dropped for it."""
        if self.dropped is not None:
            return False
        lim = self.limits
        # a lone frame always fits (a room's history can be large); a queue never grows past
        # its limits
        if self._queue and (
            len(self._queue) >= lim.send_queue_frames
            or self._bytes + len(data) > lim.send_queue_bytes
        ):
            self.drop("send queue full")
            return False
        self._queue.append(data)
        self._bytes += len(data)
        self._drained.clear()
        self._wake.set()
        return True

    def drop(self, reason: str, level: int = logging.WARNING) -> None:
        """Abort the connection now: no close handshake, nothing flushed."""
        if self.dropped is not None:
            return
        self.dropped = reason
        log.log(level, "web chat socket dropped: %s", reason)
        self._queue.clear()
        self._bytes = 0
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
        if self._transport is not None:
            _reset_on_close(self._transport)
            self._transport.abort()

    async def close(self, code: int, message: str) -> None:
        """Send what is queued and close with `code`, all within close_timeout_s; then abort
        whatever is left."""
        if self.dropped is not None:
            return
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self.limits.close_timeout_s):
                await self._drained.wait()
                if self._task is not None:
                    self._task.cancel()
                await self.ws.close(code=code, message=message.encode(), drain=False)
        self.drop(f"closed ({code} {message})", logging.INFO)

    async def stop(self) -> None:
        """The socket's handler is over: stop the sender task (the connection is already gone)."""
        self.dropped = self.dropped or "disconnected"
        self._queue.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                data = self._queue.popleft()
                self._bytes -= len(data)
                try:
                    async with asyncio.timeout(self.limits.send_timeout_s):
                        await self.ws.send_frame(data, WSMsgType.TEXT)
                except TimeoutError:
                    self.drop(f"a send took longer than {self.limits.send_timeout_s:g} s")
                    return
                except Exception as exc:  # the peer went away mid-write
                    self.drop(f"send failed: {exc!r}")
                    return
            self._drained.set()


def _reset_on_close(transport: asyncio.Transport) -> None:
    """Make closing send a TCP reset: the kernel then frees the data still queued for the peer
    at once, instead of keeping it (and the connection) until a peer that does not read
    times out."""
    sock = transport.get_extra_info("socket")
    with contextlib.suppress(OSError, AttributeError, ValueError):  # gone, or no socket
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
