"""Limits on the HTTP server's connections: how many may be open, and how long a new one may take
to deliver its first request head.

aiohttp bounds an idle keep-alive connection (keepalive_timeout) and the size of a request head,
but not the time a client takes to send that head: a client sending one byte every few seconds
held a connection (and its buffers) for as long as it liked. The guard is the protocol factory of
the listening socket: it refuses connections over the cap with a 503, and closes with a 408 a
connection whose first request head is not complete in time. Request bodies have their own
deadline in the error middleware (bot.errors); later requests on a kept-alive connection are
bounded by aiohttp's keepalive_timeout.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler

from bot.logs import Throttle, one_line

log = logging.getLogger("gongdan.http")


def _answer(status: str, text: str, *headers: str) -> bytes:
    body = text.encode()
    head = [f"HTTP/1.1 {status}", "Connection: close", "Content-Type: text/plain", *headers]
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


_REFUSED = _answer("503 Service Unavailable", "too many connections; retry soon", "Retry-After: 5")
_TIMED_OUT = _answer("408 Request Timeout", "the request head did not arrive in time")


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int = 1000
    header_timeout_s: float = 10.0


class ConnectionGuard:
    """Protocol factory around aiohttp's Server: caps open connections, times out slow heads."""

    def __init__(
        self, server: web.Server, limits: ConnectionLimits, throttle: Throttle | None = None
    ) -> None:
        self.server = server
        self.limits = limits
        self.throttle = throttle or Throttle(20)
        self.open: dict[RequestHandler, _Watched] = {}
        # aiohttp builds each request with the server's request factory once its head is parsed:
        # the one moment a connection has delivered a complete request head
        make_request = server.request_factory

        def request_factory(
            message: Any, payload: Any, protocol: RequestHandler, writer: Any, task: Any
        ) -> web.BaseRequest:
            watched = self.open.get(protocol)
            if watched is not None:
                watched.head_received()
            return make_request(message, payload, protocol, writer, task)

        server.request_factory = request_factory

    def __call__(self) -> asyncio.Protocol:
        if len(self.open) >= self.limits.max_connections:
            return _Refused(self)
        return _Watched(self, self.server())

    def note(self, kind: str, message: str, **extra: object) -> None:
        suppressed = self.throttle.admit(kind)
        if suppressed is None:
            return
        if suppressed:
            extra["suppressed"] = suppressed
        log.info(message, extra=extra)


class _Watched(asyncio.Protocol):
    """An accepted connection: aiohttp's handler, plus the deadline for its first request head."""

    def __init__(self, guard: ConnectionGuard, handler: RequestHandler) -> None:
        self.guard = guard
        self.handler = handler
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.guard.open[self.handler] = self
        loop = asyncio.get_running_loop()
        self.timer = loop.call_later(self.guard.limits.header_timeout_s, self._expired)
        self.handler.connection_made(self.transport)

    def head_received(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _expired(self) -> None:
        self.timer = None
        if self.transport is None or self.transport.is_closing():
            return
        self.guard.note(
            "header timeout",
            "closed a connection that sent no complete request head in time",
            peer=_peer(self.transport),
            header_timeout_s=self.guard.limits.header_timeout_s,
        )
        self.transport.write(_TIMED_OUT)
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.handler.data_received(data)

    def eof_received(self) -> bool | None:
        self.handler.eof_received()
        return None  # as aiohttp's handler: the transport closes itself

    def pause_writing(self) -> None:
        self.handler.pause_writing()

    def resume_writing(self) -> None:
        self.handler.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.head_received()
        self.transport = None
        self.guard.open.pop(self.handler, None)
        self.handler.connection_lost(exc)


class _Refused(asyncio.Protocol):
    """A connection over the cap: answered 503 and closed, never handed to aiohttp."""

    def __init__(self, guard: ConnectionGuard) -> None:
        self.guard = guard

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        tcp = cast(asyncio.Transport, transport)
        self.guard.note(
            "connection cap",
            "refused a connection: too many open",
            peer=_peer(transport),
            max_connections=self.guard.limits.max_connections,
        )
        tcp.write(_REFUSED)
        tcp.close()


class GuardedSite(web.BaseSite):
    """A TCP site whose connections go through a ConnectionGuard (aiohttp's TCPSite hands them
    to the runner's server directly)."""

    __slots__ = ("_guard", "_host", "_port")

    def __init__(self, runner: web.AppRunner, host: str, port: int, guard: ConnectionGuard) -> None:
        super().__init__(runner)
        self._host = host
        self._port = port
        self._guard = guard

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._guard, self._host, self._port, reuse_address=True
        )


class MalformedRequests(logging.Filter):
    """aiohttp logs a request it cannot parse (a NUL in a header, a bad request line) with its
    traceback, at ERROR: any client could fill the disk. This turns each into one rate-limited
    INFO line on the logger handed to aiohttp's request handlers."""

    def __init__(self, throttle: Throttle) -> None:
        super().__init__()
        self.throttle = throttle

    @classmethod
    def install(cls, logger: logging.Logger, throttle: Throttle) -> logging.Logger:
        for old in [f for f in logger.filters if isinstance(f, cls)]:
            logger.removeFilter(old)
        logger.addFilter(cls(throttle))
        return logger

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError) or exc.code >= 500:
            return True
        if not logging.getLogger(record.name).isEnabledFor(logging.INFO):
            return False  # logged at ERROR by aiohttp, but it is a client's mistake
        suppressed = self.throttle.admit(f"{exc.code} malformed")
        if suppressed is None:
            return False
        record.msg, record.args = "refused a malformed request: %s", (one_line(exc.message),)
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.INFO, "INFO"
        if suppressed:
            record.suppressed = suppressed
        return True


def _peer(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) else str(peer)
