"""Web chat clients for end-to-end tests: a browser's socket, and one that stops reading."""

from __future__ import annotations

import asyncio
import base64
import errno
import json
import os
import socket
import struct
from collections.abc import Callable
from typing import Any

import aiohttp

from tests.e2e.harness import Running


class Chat:
    """One browser's socket. expect() returns the first unconsumed frame that matches, in order."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.backlog: list[dict[str, Any]] = []

    async def send(self, **frame: Any) -> None:
        await self.ws.send_json(frame)

    async def expect(self, kind: str, within: float = 5.0, **match: Any) -> dict[str, Any]:
        def matches(frame: dict[str, Any]) -> bool:
            return frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items())

        return await self.expect_where(matches, within)

    async def comment_under_card(self, key: str, within: float = 5.0) -> dict[str, Any]:
        """The first comment shown under `key`'s card: live, when the card is already up, or in
        the card's thread when the comment was written before its card was posted."""

        def shows_a_comment(frame: dict[str, Any]) -> bool:
            if frame.get("ticket") != key:
                return False
            return frame.get("type") == "comment" or (
                frame.get("type") == "card" and bool(frame.get("thread"))
            )

        frame = await self.expect_where(shows_a_comment, within)
        return dict(frame["comment"] if frame["type"] == "comment" else frame["thread"][0])

    async def expect_where(
        self, matches: Callable[[dict[str, Any]], bool], within: float = 5.0
    ) -> dict[str, Any]:
        for i, frame in enumerate(self.backlog):
            if matches(frame):
                return self.backlog.pop(i)

        async def next_match() -> dict[str, Any]:
            while True:
                frame: dict[str, Any] = await self.ws.receive_json()
                if matches(frame):
                    return frame
                self.backlog.append(frame)

        return await asyncio.wait_for(next_match(), within)


async def join(svc: Running, person: str, room: str = "helpdesk") -> Chat:
    ws = await svc.http.ws_connect(svc.url + "/webchat/ws", max_msg_size=16 * 1024 * 1024)
    chat = Chat(ws)
    await chat.send(type="hello", person=person, room=room)
    await chat.expect("history", room=room)
    return chat


class StalledSocket:
    """A browser that joins a room and then never reads again: a raw TCP socket with a tiny
    receive buffer, so the server's writes back up after a few kilobytes."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    async def join(cls, svc: Running, person: str, room: str) -> StalledSocket:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        sock.setblocking(False)
        host, port = svc.url.removeprefix("http://").split(":")
        await loop.sock_connect(sock, (host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /webchat/ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        )
        await loop.sock_sendall(sock, request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += await loop.sock_recv(sock, 1)  # byte by byte: read nothing past the headers
        assert head.startswith(b"HTTP/1.1 101"), head
        hello = json.dumps({"type": "hello", "person": person, "room": room}).encode()
        await loop.sock_sendall(sock, _masked_text_frame(hello))
        return cls(sock)

    @property
    def was_reset(self) -> bool:
        """The server aborted the connection (a TCP reset), rather than closing it politely."""
        return self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ECONNRESET

    def close(self) -> None:
        self.sock.close()


def _masked_text_frame(payload: bytes) -> bytes:
    mask = os.urandom(4)
    size = len(payload)
    head = bytes([0x81])
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", size)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", size)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + body
