"""Web chat under abuse: one socket flooding frames, and one socket that never reads.

Starts `gongdan serve` as a subprocess on a fresh database (the example configuration, email
off so no SMTP port is taken), then:
  1. flood — one person sends FRAMES `say` frames into the general room as fast as the socket
     takes them, reconnecting whenever the service closes the socket; meanwhile a REST client
     opens a ticket every 50 ms. Prints the service's RSS before and after, REST latency
     p50/p99 before and during the flood, and how the service answered (rate notices, 1008s);
  2. stall — a raw TCP client with a tiny receive buffer joins the help-desk room and never
     reads (a new one whenever the service drops it), while SENDERS people each post a message
     every 250 ms, each opening a ticket whose card the outbox dispatcher posts to the room.
     Prints send-to-card latency p50/p99 at the reading sockets and how often the stalled socket
     was dropped.
Usage:
  .venv/bin/python bench/webchat_flood.py [--frames 100000] [--duration 20] [--senders 8]
                                          [--db sqlite|pg]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import EXAMPLE_CONFIG, fresh_database, pct, reference_ms, rss_mb, serve  # noqa: E402

TOKEN = os.environ.get("GONGDAN_API_TOKEN", "dev-token-change-me-0123456789")
FLOODER = "zhao.min"
STALLED = "admin"
SENDERS = ["li.lei", "han.meimei", "zhang.wei", "wang.fang", "liu.yang", "chen.jing"]
SENDERS += ["alice.chen", "bob.smith"]


def write_config(directory: Path) -> Path:
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    data["channels"]["email"]["enabled"] = False
    path = directory / "gongdan.webchat-bench.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


# ---- 1. flood ------------------------------------------------------------------------------
async def rest_latencies(url: str, stop: asyncio.Event, every: float = 0.05) -> list[float]:
    """Open a ticket over REST every `every` seconds until stop; each request's latency."""
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {TOKEN}"}
    pending: set[asyncio.Task[None]] = set()
    async with aiohttp.ClientSession() as http:

        async def one(i: int) -> None:
            body = {"type": "it", "title": f"rest during flood {i}"}
            t0 = time.perf_counter()
            async with http.post(url + "/api/v1/tickets", json=body, headers=headers) as r:
                await r.read()
            latencies.append(time.perf_counter() - t0)

        i = 0
        while not stop.is_set():
            task = asyncio.create_task(one(i))
            pending.add(task)
            task.add_done_callback(pending.discard)
            i += 1
            await asyncio.sleep(every)
        if pending:
            await asyncio.gather(*pending)
    return latencies


async def flooder(url: str, frames: int) -> dict[str, Any]:
    """Send `frames` frames as fast as possible, reconnecting whenever the service closes."""
    sent = connections = notices = closed_1008 = 0
    t0 = time.perf_counter()
    async with aiohttp.ClientSession() as http:
        while sent < frames:
            connections += 1
            ws = await http.ws_connect(url + "/webchat/ws")
            seen: list[dict[str, Any]] = []

            async def read(ws: aiohttp.ClientWebSocketResponse, seen: list[dict[str, Any]]) -> None:
                async for msg in ws:
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        seen.append(json.loads(msg.data))

            reading = asyncio.create_task(read(ws, seen))
            try:
                await ws.send_json({"type": "hello", "person": FLOODER, "room": "general"})
                while sent < frames and not ws.closed:
                    await ws.send_str(json.dumps({"type": "say", "text": f"flood {sent}"}))
                    sent += 1
                    if sent % 100 == 0:
                        await asyncio.sleep(0)  # let the reader see a notice or a close
            except (ConnectionError, aiohttp.ClientError):
                pass
            await ws.close()
            reading.cancel()
            notices += sum(1 for f in seen if f.get("type") == "notice")
            closed_1008 += ws.close_code == aiohttp.WSCloseCode.POLICY_VIOLATION
    return {
        "frames": sent,
        "seconds": time.perf_counter() - t0,
        "connections": connections,
        "notices": notices,
        "closed_1008": closed_1008,
    }


async def flood(url: str, pid: int, frames: int) -> dict[str, Any]:
    stop = asyncio.Event()
    quiet_task = asyncio.create_task(rest_latencies(url, stop))
    await asyncio.sleep(3)
    stop.set()
    quiet = await quiet_task
    rss_before = rss_mb(pid)[0]
    stop = asyncio.Event()
    during_task = asyncio.create_task(rest_latencies(url, stop))
    result = await flooder(url, frames)
    stop.set()
    during = await during_task
    await asyncio.sleep(2)
    rss_after, peak = rss_mb(pid)
    return result | {
        "rss_before": rss_before,
        "rss_after": rss_after,
        "rss_peak": peak,
        "rest_quiet": (pct(quiet, 0.5) * 1e3, pct(quiet, 0.99) * 1e3, len(quiet)),
        "rest_flood": (pct(during, 0.5) * 1e3, pct(during, 0.99) * 1e3, len(during)),
    }


# ---- 2. stall ------------------------------------------------------------------------------
async def stalled_socket(url: str, person: str, room: str) -> socket.socket:
    """Join `room` over a raw socket with a tiny receive buffer; the caller never reads it."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.setblocking(False)
    host, port = url.removeprefix("http://").split(":")
    await loop.sock_connect(sock, (host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /webchat/ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += await loop.sock_recv(sock, 1)
    payload = json.dumps({"type": "hello", "person": person, "room": room}).encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    await loop.sock_sendall(sock, bytes([0x81, 0x80 | len(payload)]) + mask + masked)
    return sock


def was_dropped(sock: socket.socket) -> bool:
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0 or sock.fileno() < 0


async def keep_stalled(url: str, stop: asyncio.Event) -> int:
    """Keep one non-reading socket in the help-desk room; how many times it was dropped."""
    drops = 0
    sock = await stalled_socket(url, STALLED, "helpdesk")
    while not stop.is_set():
        await asyncio.sleep(0.1)
        if was_dropped(sock):
            drops += 1
            sock.close()
            sock = await stalled_socket(url, STALLED, "helpdesk")
    sock.close()
    return drops


async def sender(url: str, person: str, duration: float, latencies: list[float]) -> int:
    """Post a help-desk message every 250 ms; each card's latency from send to this socket."""
    sent_at: dict[str, float] = {}  # client id -> send time
    ticket_of: dict[str, str] = {}  # ticket key -> client id
    carded: dict[str, float] = {}  # ticket key -> card arrival
    text = "打印机卡纸 " * 300  # about 5 kB: the stalled socket's buffers fill sooner
    async with aiohttp.ClientSession() as http, http.ws_connect(url + "/webchat/ws") as ws:
        await ws.send_json({"type": "hello", "person": person, "room": "helpdesk"})

        async def read() -> None:
            async for msg in ws:
                frame = json.loads(msg.data)
                if frame.get("type") == "ack" and frame.get("ticket"):
                    ticket_of[frame["ticket"]] = frame["client_id"]
                elif frame.get("type") == "card":
                    carded.setdefault(frame["ticket"], time.perf_counter())

        reading = asyncio.create_task(read())
        end = time.perf_counter() + duration
        i = 0
        while time.perf_counter() < end:
            client_id = f"{person}-{i}"
            sent_at[client_id] = time.perf_counter()
            await ws.send_json({"type": "say", "text": f"{i} {text}", "client_id": client_id})
            i += 1
            await asyncio.sleep(0.25)
        await asyncio.sleep(3)  # the last cards
        reading.cancel()
    for ticket, client_id in ticket_of.items():
        if ticket in carded:
            latencies.append(carded[ticket] - sent_at[client_id])
    return i


async def stall(url: str, duration: float, senders: int) -> dict[str, Any]:
    stop = asyncio.Event()
    stalling = asyncio.create_task(keep_stalled(url, stop))
    await asyncio.sleep(0.5)
    latencies: list[float] = []
    sent = await asyncio.gather(*(sender(url, p, duration, latencies) for p in SENDERS[:senders]))
    stop.set()
    drops = await stalling
    return {
        "messages": sum(sent),
        "cards_seen": len(latencies),
        "p50_ms": pct(latencies, 0.5) * 1e3,
        "p99_ms": pct(latencies, 0.99) * 1e3,
        "max_ms": max(latencies, default=float("nan")) * 1e3,
        "stalled_drops": drops,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    args = parser.parse_args()
    print(f"machine reference: {reference_ms():.0f} ms")
    with tempfile.TemporaryDirectory(prefix="gongdan-webchat-bench-") as tmp:
        config = write_config(Path(tmp))
        async with fresh_database(args.db) as db_url, serve(config, db_url) as (url, pid):
            f = await flood(url, pid, args.frames)
            print(
                f"flood: {f['frames']:,} frames in {f['seconds']:.1f} s over "
                f"{f['connections']:,} connections; rate notices {f['notices']:,}, "
                f"closed with 1008 {f['closed_1008']:,}"
            )
            print(
                f"  service RSS before {f['rss_before']:.0f} MiB, after {f['rss_after']:.0f} MiB"
                f" (peak {f['rss_peak']:.0f} MiB)"
            )
            q, d = f["rest_quiet"], f["rest_flood"]
            print(
                f"  REST POST /api/v1/tickets before: p50 {q[0]:.1f} ms, p99 {q[1]:.1f} ms (n={q[2]})"
            )
            print(
                f"  REST POST /api/v1/tickets during: p50 {d[0]:.1f} ms, p99 {d[1]:.1f} ms (n={d[2]})"
            )
            s = await stall(url, args.duration, args.senders)
            print(
                f"stall: {s['messages']:,} help-desk messages from {args.senders} people, "
                f"{s['cards_seen']:,} cards seen by the reading sockets; stalled socket dropped "
                f"{s['stalled_drops']} times (and replaced)"
            )
            print(
                f"  send-to-card latency p50 {s['p50_ms']:.0f} ms, p99 {s['p99_ms']:.0f} ms, "
                f"max {s['max_ms']:.0f} ms"
            )
    print(f"machine reference: {reference_ms():.0f} ms")


if __name__ == "__main__":
    asyncio.run(main())
