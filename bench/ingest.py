"""Ingest benchmark: drive a running `gongdan serve` over HTTP and print what it sustains.

Starts the service as a subprocess on a fresh database (SQLite file and/or a new PostgreSQL
database), then measures:
  1. closed loop  — REST creates as fast as CONCURRENCY clients can push: tickets/s, p50/p99;
  2. open loop    — REST creates at a fixed RATE for DURATION seconds: p50/p99/max latency;
  3. web chat     — messages in a help-desk room over WebSockets until acked: tickets/s, p50/p99;
and the server's peak RSS. Usage:  .venv/bin/python bench/ingest.py [--db sqlite|pg|both]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import EXAMPLE_CONFIG as CONFIG
from bench.harness import fresh_database, pct, rss_mb, serve

TOKEN = os.environ.get("GONGDAN_API_TOKEN", "dev-token-change-me-0123456789")


class RawClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams.

    aiohttp's client costs about as much CPU per request as the service does, and both share
    this machine's two cores; this one costs a fraction, so the figures measure the service.
    """

    def __init__(self, url: str) -> None:
        host_port = url.removeprefix("http://")
        self.host, port = host_port.split(":")
        self.port = int(port)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post_json(self, path: str, body: dict[str, Any]) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        payload = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode()
        self.writer.write(head + payload)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(status_line.split()[1])

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def closed_loop(url: str, total: int, concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    counter = iter(range(total))
    errors = 0

    async def client() -> None:
        nonlocal errors
        raw = RawClient(url)
        try:
            for i in counter:
                body = {
                    "type": "it",
                    "title": f"bench ticket {i}",
                    "fields": {"category": "hardware"},
                }
                t0 = time.perf_counter()
                if await raw.post_json("/api/v1/tickets", body) != 201:
                    errors += 1
                latencies.append(time.perf_counter() - t0)
        finally:
            await raw.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "tickets": total,
        "errors": errors,
        "seconds": elapsed,
        "per_s": total / elapsed,
        "p50_ms": pct(latencies, 0.50) * 1e3,
        "p99_ms": pct(latencies, 0.99) * 1e3,
    }


async def open_loop(url: str, rate: float, duration: float) -> dict[str, Any]:
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {TOKEN}"}
    errors = 0

    async def one(http: aiohttp.ClientSession, i: int) -> None:
        nonlocal errors
        body = {"type": "it", "title": f"paced ticket {i}"}
        t0 = time.perf_counter()
        async with http.post(url + "/api/v1/tickets", json=body, headers=headers) as r:
            await r.read()
            if r.status != 201:
                errors += 1
        latencies.append(time.perf_counter() - t0)

    total = int(rate * duration)
    conn = aiohttp.TCPConnector(limit=512)
    async with aiohttp.ClientSession(connector=conn) as http:
        start = time.perf_counter()
        tasks = []
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(http, i)))
        await asyncio.gather(*tasks)
    return {
        "rate": rate,
        "tickets": total,
        "errors": errors,
        "p50_ms": pct(latencies, 0.5) * 1e3,
        "p99_ms": pct(latencies, 0.99) * 1e3,
        "max_ms": max(latencies) * 1e3,
    }


async def webchat(url: str, total: int, sockets: int) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(url + "/webchat/bootstrap") as r:
        boot = await r.json()
    room = next(r["id"] for r in boot["rooms"] if r["help_desk"])
    person = boot["people"][0]["id"]
    latencies: list[float] = []
    per_socket = total // sockets

    async def client(n: int) -> None:
        async with aiohttp.ClientSession() as http, http.ws_connect(url + "/webchat/ws") as ws:
            await ws.send_json({"type": "hello", "person": person, "room": room})
            sent: dict[str, float] = {}
            pending = per_socket
            for i in range(per_socket):
                cid = f"b{n}-{i}"
                sent[cid] = time.perf_counter()
                await ws.send_json(
                    {"type": "say", "room": room, "text": f"bench chat {cid}", "client_id": cid}
                )
            async for msg in ws:
                frame = json.loads(msg.data)
                if frame.get("type") == "ack" and frame.get("client_id") in sent:
                    latencies.append(time.perf_counter() - sent.pop(frame["client_id"]))
                    pending -= 1
                    if pending == 0:
                        break

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(sockets)))
    elapsed = time.perf_counter() - started
    done = per_socket * sockets
    return {
        "tickets": done,
        "seconds": elapsed,
        "per_s": done / elapsed,
        "p50_ms": pct(latencies, 0.5) * 1e3,
        "p99_ms": pct(latencies, 0.99) * 1e3,
    }


def bench_config(directory: Path) -> Path:
    """The example config with the web chat's per-browser limits lifted (frames in flight per
    socket at their maximum, 64): the burst phase is a machine sending 500 messages per socket
    at once, which the defaults (sized for people typing) would refuse as a flood; this
    measures throughput, not abuse protection."""
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    limits = data["channels"]["webchat"].setdefault("limits", {})
    limits.update(
        socket_burst=1_000_000,
        socket_rate=1_000_000.0,
        person_burst=1_000_000,
        person_rate=1_000_000.0,
        send_queue_frames=100_000,
        send_queue_bytes=1 << 30,
        in_flight=64,  # the most a socket may have: the burst shares group commits
    )
    path = directory / "gongdan.bench.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


async def run(db: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await _run(db, args, bench_config(Path(tmp)))


async def _run(db: str, args: argparse.Namespace, config: Path) -> None:
    async with fresh_database(db) as db_url, serve(config, db_url) as (url, pid):
        await closed_loop(url, 500, 16)  # warm up caches and connections
        closed = await closed_loop(url, args.total, args.concurrency)
        paced = await open_loop(url, args.rate, args.duration)
        chat = await webchat(url, args.chat_total, args.chat_sockets)
        rss, peak = rss_mb(pid)
    print(f"\n== {db} ==")
    print(
        f"REST closed loop  {closed['tickets']} tickets, {args.concurrency} clients: "
        f"{closed['per_s']:.0f} tickets/s, p50 {closed['p50_ms']:.1f} ms, p99 {closed['p99_ms']:.1f} ms, "
        f"errors {closed['errors']}"
    )
    print(
        f"REST open loop    {paced['rate']:.0f}/s for {args.duration:.0f} s: p50 {paced['p50_ms']:.1f} ms, "
        f"p99 {paced['p99_ms']:.1f} ms, max {paced['max_ms']:.1f} ms, errors {paced['errors']}"
    )
    print(
        f"web chat          {chat['tickets']} messages on {args.chat_sockets} sockets: {chat['per_s']:.0f} "
        f"tickets/s, ack p50 {chat['p50_ms']:.1f} ms, p99 {chat['p99_ms']:.1f} ms"
    )
    print(f"server RSS        {rss:.0f} MiB now, {peak:.0f} MiB peak")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "pg", "both"], default="both")
    parser.add_argument("--total", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--chat-total", type=int, default=5_000)
    parser.add_argument("--chat-sockets", type=int, default=10)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    for db in ["sqlite", "pg"] if args.db == "both" else [args.db]:
        asyncio.run(run(db, args))


if __name__ == "__main__":
    main()
