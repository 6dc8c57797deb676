"""Slack ingest benchmark: signed Events API deliveries through /slack/events until each card is posted.

Starts `gongdan serve` as a subprocess on a fresh database (a SQLite file, or a new PostgreSQL
database with --db pg), with Slack enabled over HTTP and pointed at FakeSlack
(tests/fakes/slack.py) running in this process. Then:
  1. sends TOTAL distinct help-desk messages, CONCURRENCY at a time, each signed like Slack signs
     it; measures each ack (HTTP 200 = the ticket is committed), the time until FakeSlack has
     received every card (chat.postMessage), and the service's CPU time per event;
  2. redelivers a slice of them (same event_id with X-Slack-Retry-Num, and new event_ids for the
     same message) and checks no ticket or card is added;
  3. open loop: RATE deliveries per second for DURATION seconds, each sent at its own instant;
     ack latency and send-to-card latency;
and prints events/s, latency percentiles, and lost / duplicated cards. Usage:
  .venv/bin/python bench/slack_ingest.py [--total 5000] [--concurrency 64] [--db sqlite|pg]
                                         [--rate 300] [--duration 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import EXAMPLE_CONFIG as CONFIG  # noqa: E402
from bench.harness import cpu_seconds, fresh_database, pct, reference_ms, serve  # noqa: E402
from tests.fakes.slack import FakeSlack, event_callback, events_request, message_event  # noqa: E402

SECRET = "bench-signing-secret-0123456789abcdef"
CHANNEL = "C0BENCHDESK"
KEY = re.compile(r"IT-\d+")
DB_NAMES = {"sqlite": "SQLite", "pg": "PostgreSQL"}
MESSAGE = re.compile(r"bench message (\d+)")


def write_config(directory: Path, fake: FakeSlack) -> Path:
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    data["channels"]["slack"] = {
        "bot_token": fake.bot_token,
        "signing_secret": SECRET,
        "api_base_url": fake.base_url,
        "help_desk_channels": {CHANNEL: "it"},
    }
    path = directory / "gongdan.slack-bench.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def delivery(i: int, *, event_id: str | None = None, retry: int | None = None) -> Any:
    ts = f"1767600000.{i:06d}"
    event = message_event(f"U{i % 50:08d}", CHANNEL, f"bench message {i}", ts)
    body = event_callback(event, event_id=event_id or f"Ev{i:010d}")
    return events_request(SECRET, body, int(time.time()), retry_num=retry)


async def send_all(
    url: str, requests: list[Any], concurrency: int
) -> tuple[list[float], Counter[int], float]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    queue = iter(requests)

    async def client(http: aiohttp.ClientSession) -> None:
        for request in queue:
            t0 = time.perf_counter()
            async with http.post(
                url + "/slack/events", data=request.body, headers=request.headers
            ) as r:
                await r.read()
                statuses[r.status] += 1
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
    return latencies, statuses, time.perf_counter() - t0


@dataclass
class OpenLoop:
    latencies: list[float]
    statuses: Counter[int]
    sent_at: dict[int, float]  # message index -> wall-clock send time


async def send_at_rate(url: str, requests: list[Any], rate: float) -> OpenLoop:
    """Each request at its own instant (start + i / rate), whatever the earlier ones are doing."""
    result = OpenLoop([], Counter(), {})
    connector = aiohttp.TCPConnector(limit=512)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one(i: int, request: Any) -> None:
            t0 = time.perf_counter()
            result.sent_at[i] = time.time()
            async with http.post(
                url + "/slack/events", data=request.body, headers=request.headers
            ) as r:
                await r.read()
                result.statuses[r.status] += 1
            result.latencies.append(time.perf_counter() - t0)

        start = time.perf_counter()
        tasks = []
        for n, request in enumerate(requests):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            index = int(MESSAGE.search(request.body.decode()).group(1))  # type: ignore[union-attr]
            tasks.append(asyncio.create_task(one(index, request)))
        await asyncio.gather(*tasks)
    return result


def card_latencies(fake: FakeSlack, sent_at: dict[int, float]) -> list[float]:
    """Seconds from sending a message to FakeSlack receiving its card."""
    lags = []
    for call in fake.calls_to("chat.postMessage"):
        match = MESSAGE.search(json.dumps(call.body, ensure_ascii=False))
        if match and int(match.group(1)) in sent_at:
            lags.append(call.at.timestamp() - sent_at[int(match.group(1))])
    return lags


def cards_by_ticket(fake: FakeSlack) -> Counter[str]:
    found: Counter[str] = Counter()
    for call in fake.calls_to("chat.postMessage"):
        match = KEY.search(json.dumps(call.body.get("blocks", []), ensure_ascii=False))
        if match:
            found[match.group(0)] += 1
    return found


async def run(total: int, concurrency: int, rate: float, duration: float, db: str) -> None:
    speed_before = reference_ms()
    fake = FakeSlack()
    await fake.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp), fake)
            async with fresh_database(db) as db_url, serve(config, db_url) as (url, pid):
                warm = [delivery(total + 1 + i) for i in range(200)]
                await send_all(url, warm, concurrency)
                await fake.wait_answered("chat.postMessage", len(warm), within=60)
                before = len(fake.calls_to("chat.postMessage"))

                requests = [delivery(i) for i in range(total)]
                cpu_before = cpu_seconds(pid)
                start = time.perf_counter()
                latencies, statuses, acked_in = await send_all(url, requests, concurrency)
                carded_by_ack = len(fake.calls_to("chat.postMessage")) - before
                await fake.wait_answered("chat.postMessage", before + total, within=120)
                carded_in = time.perf_counter() - start
                cpu_used = cpu_seconds(pid) - cpu_before

                # Slack's redeliveries: same event_id with retry headers, and new event_ids
                sample = range(0, total, max(total // 250, 1))
                again = [delivery(i, event_id=f"Ev{i:010d}", retry=1) for i in sample]
                again += [delivery(i, event_id=f"EvCOPY{i:010d}") for i in sample]
                _, again_statuses, _ = await send_all(url, again, concurrency)
                await asyncio.sleep(2)  # let any (wrong) extra card reach the fake

                # open loop: deliveries at a steady rate, as Slack sends them, not as fast as
                # a closed loop of clients can push (whose latency is concurrency / throughput)
                first = 2 * total + 1000
                steady = [delivery(first + i) for i in range(int(rate * duration))]
                open_loop = await send_at_rate(url, steady, rate)
                await fake.wait_answered(
                    "chat.postMessage", before + total + len(steady), within=120
                )
    finally:
        await fake.stop()

    card_lag = card_latencies(fake, open_loop.sent_at)
    cards = cards_by_ticket(fake)
    posted = sum(cards.values())
    expected = total + len(warm) + len(steady)
    print(f"machine: reference loop {speed_before:.0f} ms before, {reference_ms():.0f} ms after")
    print(f"slack ingest, {DB_NAMES[db]}, {total} events, {concurrency} concurrent deliveries")
    print(f"  acked:      {total / acked_in:8.0f} events/s   statuses {dict(statuses)}")
    print(f"  carded:     {total / carded_in:8.0f} events/s   (ack + commit + card posted)")
    print(
        f"  cards posted while deliveries arrived: {carded_by_ack} of {total}; the rest in "
        f"{carded_in - acked_in:.1f} s after the last ack"
    )
    print(
        f"  ack latency p50 {pct(latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {pct(latencies, 0.99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
    )
    print(
        f"  service CPU {cpu_used / total * 1000:.2f} ms per event "
        f"(ceiling on one core: {total / cpu_used:.0f} events/s)"
    )
    print(f"  Web API calls: {dict(Counter(c.method for c in fake.calls))}")
    print(f"  redelivered {len(again)} (retries + new event ids): statuses {dict(again_statuses)}")
    print(
        f"  cards: {posted} for {expected} messages; lost {expected - len(cards)}, "
        f"duplicated {posted - len(cards)}"
    )
    ack = open_loop.latencies
    print(
        f"  open loop {rate:.0f}/s for {duration:.0f} s: ack p50 {pct(ack, 0.5) * 1000:.1f} ms, "
        f"p99 {pct(ack, 0.99) * 1000:.1f} ms, max {max(ack) * 1000:.1f} ms; "
        f"card posted p50 {pct(card_lag, 0.5) * 1000:.1f} ms, "
        f"p99 {pct(card_lag, 0.99) * 1000:.1f} ms; statuses {dict(open_loop.statuses)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--rate", type=float, default=300.0, help="open loop: events per second")
    parser.add_argument("--duration", type=float, default=10.0, help="open loop: seconds")
    args = parser.parse_args()
    asyncio.run(run(args.total, args.concurrency, args.rate, args.duration, args.db))


if __name__ == "__main__":
    main()
