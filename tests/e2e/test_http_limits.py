"""Slow clients cannot hold connections: head and body deadlines, and a cap on connections."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bot.config import Config, parse_config
from tests.e2e.harness import TEST_CONFIG, running

HEALTH = b"GET /healthz HTTP/1.1\r\nHost: gongdan\r\n\r\n"


def limited(db_url: str, **service: Any) -> Config:
    data = yaml.safe_load(TEST_CONFIG.read_text(encoding="utf-8"))
    data["service"] |= service
    return parse_config(
        yaml.safe_dump(data, allow_unicode=True), {**os.environ, "GONGDAN_DATABASE_URL": db_url}
    )


async def connect(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    where = urlsplit(url)
    return await asyncio.open_connection(where.hostname, where.port)


async def answer(reader: asyncio.StreamReader) -> bytes:
    """One response's head and body (bodies here are small and carry Content-Length)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    return head + await asyncio.wait_for(reader.readexactly(length), 5)


async def test_connection_without_a_complete_request_head_is_closed_after_the_header_timeout(
    sqlite_url: str,
) -> None:
    async with running(limited(sqlite_url, header_timeout_s=0.3)) as svc:
        reader, writer = await connect(svc.url)
        started = time.monotonic()
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: gon")  # and then nothing more
        rest = await asyncio.wait_for(reader.read(), 5)  # until the server closes
        waited = time.monotonic() - started
        writer.close()
        assert rest.startswith(b"HTTP/1.1 408 ")
        assert 0.25 <= waited < 3

        # a client that sends its head in time is served on a connection just as old
        reader, writer = await connect(svc.url)
        writer.write(HEALTH)
        assert (await answer(reader)).startswith(b"HTTP/1.1 200 ")
        await asyncio.sleep(0.5)  # past the head deadline: the request in flight was answered
        writer.close()


async def test_request_body_that_does_not_arrive_in_time_gets_408(sqlite_url: str) -> None:
    async with running(limited(sqlite_url, body_timeout_s=0.3)) as svc:
        reader, writer = await connect(svc.url)
        token = b"test-admin-token-0000000000"
        writer.write(
            b"POST /api/v1/tickets HTTP/1.1\r\nHost: gongdan\r\nAuthorization: Bearer "
            + token
            + b'\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"type"'
        )
        reply = await answer(reader)
        assert reply.startswith(b"HTTP/1.1 408 ")
        assert b'"error": "request_timeout"' in reply and b"body" in reply
        assert await asyncio.wait_for(reader.read(), 5) == b""  # and the connection is closed
        writer.close()


async def test_connections_over_the_cap_are_refused_until_one_closes(sqlite_url: str) -> None:
    async with running(limited(sqlite_url, max_connections=3)) as svc:
        held = []
        for _ in range(3):  # kept alive after one request each
            reader, writer = await connect(svc.url)
            writer.write(HEALTH)
            assert (await answer(reader)).startswith(b"HTTP/1.1 200 ")
            held.append(writer)

        reader, writer = await connect(svc.url)
        writer.write(HEALTH)
        refused = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        assert refused.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 5" in refused

        held.pop().close()
        for _ in range(50):  # the server notices the close on its next loop turn
            reader, writer = await connect(svc.url)
            writer.write(HEALTH)
            reply = await answer(reader)
            writer.close()
            if not reply.startswith(b"HTTP/1.1 503 "):
                break
            await asyncio.sleep(0.02)
        assert reply.startswith(b"HTTP/1.1 200 ")
        for w in held:
            w.close()


async def test_a_request_http_cannot_parse_logs_one_line_without_a_traceback(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(limited(sqlite_url)) as svc:
        caplog.set_level(logging.INFO)
        caplog.clear()
        reader, writer = await connect(svc.url)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: gongdan\r\nX-Probe: \x00\r\n\r\n")
        reply = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        assert reply.split(b" ")[1] == b"400"
        lines = [r for r in caplog.records if r.levelno >= logging.INFO]
        assert [(r.levelno, r.exc_info) for r in lines] == [(logging.INFO, None)]
        assert lines[0].getMessage().startswith("refused a malformed request: ")
        assert "\n" not in lines[0].getMessage()
