"""Slack ingest benchmark: signed Events API deliveries through /slack/events until each card is posted.

Starts `gongdan serve` as a subprocess on a fresh SQLite file, with Slack enabled over HTTP and
pointed at FakeSlack (tests/fakes/slack.py) running in this process. Then:
  1. sends TOTAL distinct help-desk messages, CONCURRENCY at a time, each signed like Slack signs
     it; measures each ack (HTTP 200 = the ticket is committed) and the time until FakeSlack has
     received every card (chat.postMessage);
  2. redelivers a slice of them (same event_id with X-Slack-Retry-Num, and new event_ids for the
     same message) and checks no ticket or card is added;
and prints events/s, ack p50/p99, and lost / duplicated cards. Usage:
  .venv/bin/python bench/slack_ingest.py [--total 5000] [--concurrency 64]
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
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import EXAMPLE_CONFIG as CONFIG  # noqa: E402
from bench.harness import cpu_seconds, pct, serve  # noqa: E402
from tests.fakes.slack import FakeSlack, event_callback, events_request, message_event  # noqa: E402

SECRET = "bench-signing-secret-0123456789abcdef"
CHANNEL = "C0BENCHDESK"
KEY = re.compile(r"IT-\d+")


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


def cards_by_ticket(fake: FakeSlack) -> Counter[str]:
    found: Counter[str] = Counter()
    for call in fake.calls_to("chat.postMessage"):
        match = KEY.search(json.dumps(call.body.get("blocks", []), ensure_ascii=False))
        if match:
            found[match.group(0)] += 1
    return found


async def run(total: int, concurrency: int) -> None:
    fake = FakeSlack()
    await fake.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp), fake)
            db_url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            async with serve(config, db_url) as (url, pid):
                warm = [delivery(total + 1 + i) for i in range(200)]
                await send_all(url, warm, concurrency)
                await fake.wait_answered("chat.postMessage", len(warm), within=60)
                before = len(fake.calls_to("chat.postMessage"))

                requests = [delivery(i) for i in range(total)]
                cpu_before = cpu_seconds(pid)
                start = time.perf_counter()
                latencies, statuses, acked_in = await send_all(url, requests, concurrency)
                await fake.wait_answered("chat.postMessage", before + total, within=120)
                carded_in = time.perf_counter() - start
                cpu_used = cpu_seconds(pid) - cpu_before

                # Slack's redeliveries: same event_id with retry headers, and new event_ids
                sample = range(0, total, max(total // 250, 1))
                again = [delivery(i, event_id=f"Ev{i:010d}", retry=1) for i in sample]
                again += [delivery(i, event_id=f"EvCOPY{i:010d}") for i in sample]
                _, again_statuses, _ = await send_all(url, again, concurrency)
                await asyncio.sleep(2)  # let any (wrong) extra card reach the fake
    finally:
        await fake.stop()

    cards = cards_by_ticket(fake)
    posted = sum(cards.values())
    expected = total + len(warm)
    print(f"slack ingest, SQLite, {total} events, {concurrency} concurrent deliveries")
    print(f"  acked:      {total / acked_in:8.0f} events/s   statuses {dict(statuses)}")
    print(f"  carded:     {total / carded_in:8.0f} events/s   (ack + commit + card posted)")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    asyncio.run(run(args.total, args.concurrency))


if __name__ == "__main__":
    main()
