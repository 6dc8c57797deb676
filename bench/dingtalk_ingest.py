"""DingTalk ingest benchmark: robot messages over the Stream socket until each ticket is committed.

Starts `gongdan serve` as a subprocess on a fresh database (SQLite file, or PostgreSQL with
--db pg), with DingTalk enabled and pointed at FakeDingTalk (tests/fakes/dingtalk/, in this
process, on the wall clock). Then:
  1. warms up with 200 messages;
  2. pushes TOTAL distinct group @robot messages as CALLBACK frames, CONCURRENCY pushes in flight;
     a frame is acked only after its ticket committed, so "frames/s committed" is TOTAL over the
     time until the last ack, and push → ack is an upper bound of receive-to-commit (it adds the
     socket both ways);
  3. pushes a slice of them again (same msgId, new frame) and checks no ticket is added;
  4. open loop: RATE messages per second for DURATION seconds, each pushed at its own instant
     (below capacity, as people write), and push → ack percentiles there;
  5. waits for every card (createAndDeliver) and counts lost and duplicated ones.
Usage:
  .venv/bin/python bench/dingtalk_ingest.py [--total 5000] [--concurrency 64] [--db sqlite|pg]
                                            [--rate 1000] [--duration 10] [--with-slack]
                                            [--api-rate 20]  (the standard edition's pace)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import EXAMPLE_CONFIG as CONFIG  # noqa: E402
from bench.harness import (  # noqa: E402
    Phase,
    fresh_database,
    pct,
    reference_ms,
    serve,
)
from tests.fakes.dingtalk import FakeDingTalk, Push  # noqa: E402
from tests.fakes.dingtalk.payloads import TOPIC_BOT_MESSAGE  # noqa: E402

GROUP = "cidBenchHelpDesk0001=="
DB_NAMES = {"sqlite": "SQLite", "pg": "PostgreSQL"}


def write_config(directory: Path, fake: FakeDingTalk, api_rate: float | None) -> Path:
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    data["channels"]["dingtalk"] = {
        "client_id": fake.app_key,
        "client_secret": fake.app_secret,
        "card_template_id": "gongdan-bench.schema",
        "api_base_url": fake.base_url,
        "oapi_base_url": fake.base_url,
        "help_desk_groups": {GROUP: "it"},
        # unpaced by default (a dedicated edition's view), so cards keep up with intake;
        # --api-rate 20 is the standard edition: cards follow at that pace, after the burst
        "api_calls_per_second": api_rate,
    }
    path = directory / "gongdan.dingtalk-bench.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


async def push_all(
    fake: FakeDingTalk, first: int, count: int, concurrency: int
) -> tuple[list[tuple[float, Push, dict[str, Any]]], float]:
    """Push `count` messages, `concurrency` at a time; returns (push instant, push, payload)."""
    sent: list[tuple[float, Push, dict[str, Any]]] = []
    numbers = iter(range(first, first + count))

    async def pusher() -> None:
        for i in numbers:
            t0 = time.time()
            payload, push = await fake.send_bot_message(
                text=f"bench message {i}",
                sender_staff_id=f"staff{i % 50:04d}",
                conversation_id=GROUP,
            )
            sent.append((t0, push, payload))

    t0 = time.perf_counter()
    await asyncio.gather(*(pusher() for _ in range(concurrency)))
    return sent, time.perf_counter() - t0


async def push_at_rate(
    fake: FakeDingTalk, first: int, rate: float, duration: float
) -> list[tuple[float, Push]]:
    """Each message at its own instant (start + n / rate), whatever the earlier ones do."""
    out: list[tuple[float, Push]] = []

    async def one(i: int) -> None:
        t0 = time.time()
        _, push = await fake.send_bot_message(
            text=f"bench message {i}", sender_staff_id=f"staff{i % 50:04d}", conversation_id=GROUP
        )
        out.append((t0, push))

    start = time.perf_counter()
    tasks = []
    for n in range(int(rate * duration)):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(first + n)))
    await asyncio.gather(*tasks)
    return out


async def until_acked(pushes: list[Push], within: float) -> None:
    deadline = time.perf_counter() + within
    while any(not p.acks for p in pushes):
        if time.perf_counter() > deadline:
            missing = sum(1 for p in pushes if not p.acks)
            raise RuntimeError(f"{missing} frames were never acked")
        await asyncio.sleep(0.005)


async def until_cards(fake: FakeDingTalk, count: int, within: float) -> None:
    deadline = time.perf_counter() + within
    while True:
        if len(fake.cards) >= count or time.perf_counter() > deadline:
            return
        await asyncio.sleep(0.02)


async def run(
    total: int,
    concurrency: int,
    db: str,
    rate: float,
    duration: float,
    api_rate: float | None = None,
) -> None:
    paced = api_rate is not None  # cards trail at the app's rate: wait for the acks only
    speed_before = reference_ms()
    fake = FakeDingTalk()
    await fake.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp), fake, api_rate)
            async with fresh_database(db) as db_url, serve(config, db_url) as (url, pid):
                await fake.wait_connected(within=30)
                warm, _ = await push_all(fake, 10_000_000, 200, concurrency)
                await until_acked([p for _, p, _ in warm], 120)
                await until_cards(fake, len(warm), 120)

                async with Phase(url, pid, "dingtalk", total) as burst:
                    start = time.perf_counter()
                    sent, pushed_in = await push_all(fake, 0, total, concurrency)
                    pushes = [p for _, p, _ in sent]
                    await until_acked(pushes, 300)
                    committed_in = time.perf_counter() - start
                if not paced:
                    await until_cards(fake, len(warm) + total, 300)
                carded_in = time.perf_counter() - start

                sample = sent[:: max(total // 250, 1)]
                again = [
                    await fake.stream.push("CALLBACK", TOPIC_BOT_MESSAGE, payload, {})
                    for _, _, payload in sample
                ]
                await until_acked(again, 60)
                await asyncio.sleep(2)  # let any (wrong) extra card reach the double

                async with Phase(url, pid, "dingtalk", int(rate * duration)) as open_loop:
                    steady = await push_at_rate(fake, 20_000_000, rate, duration)
                    await until_acked([p for _, p in steady], 120)
                if not paced:
                    await until_cards(fake, len(warm) + total + len(steady), 120)
    finally:
        await fake.stop()

    ack_lat = [p.acks[0].at.timestamp() - t0 for t0, p, _ in sent]
    codes = Counter(p.acks[0].code for p in pushes)
    cards = len(fake.cards)
    creates = len(fake.calls_to("/v1.0/card/instances/createAndDeliver"))
    expected = total + len(warm) + len(steady)
    open_lat = [p.acks[0].at.timestamp() - t0 for t0, p in steady]
    print(f"machine: reference loop {speed_before:.0f} ms before, {reference_ms():.0f} ms after")
    print(
        f"dingtalk ingest, {DB_NAMES[db]}, {total} robot messages, {concurrency} pushes in flight"
    )
    print(f"  pushed:     {total / pushed_in:8.0f} frames/s")
    print(f"  committed:  {total / committed_in:8.0f} frames/s   ack codes {dict(codes)}")
    if not paced:
        print(f"  carded:     {total / carded_in:8.0f} frames/s   (commit + card createAndDeliver)")
    print(
        f"  ack latency (push → ack, after commit) p50 {pct(ack_lat, 0.5) * 1000:.1f} ms, "
        f"p99 {pct(ack_lat, 0.99) * 1000:.1f} ms, max {max(ack_lat) * 1000:.1f} ms"
    )
    print(f"  burst (the service's own figures): {burst.summary()}")
    print(f"  service CPU ceiling on one core: {total / burst.cpu:.0f} messages/s")
    print(
        f"  open loop {rate:.0f}/s for {duration:.0f} s: push → ack "
        f"p50 {pct(open_lat, 0.5) * 1000:.1f} ms, p99 {pct(open_lat, 0.99) * 1000:.1f} ms, "
        f"max {max(open_lat) * 1000:.1f} ms; {open_loop.summary()}"
    )
    print(f"  API calls: {dict(Counter(c.path for c in fake.calls))}")
    print(
        f"  repeated {len(again)} frames (same msgId): ack codes {dict(Counter(p.acks[0].code for p in again))}"
    )
    if paced:
        print(
            f"  cards: {cards} of {expected} delivered by the end, paced at {api_rate:g} API "
            f"calls/s (the rest wait in the outbox); duplicated creates {creates - cards}; "
            f"protocol errors {len(fake.stream.protocol_errors)}"
        )
    else:
        print(
            f"  cards: {cards} for {expected} messages; lost {expected - cards}, duplicated "
            f"creates {creates - cards}; protocol errors {len(fake.stream.protocol_errors)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--rate", type=float, default=1000.0, help="open loop: messages/s")
    parser.add_argument("--duration", type=float, default=10.0, help="open loop: seconds")
    parser.add_argument("--with-slack", action="store_true", help="then run slack_ingest too")
    parser.add_argument(
        "--api-rate",
        type=float,
        default=None,
        help="the app's API calls/s (channels.dingtalk.api_calls_per_second; default: unpaced)",
    )
    args = parser.parse_args()
    asyncio.run(run(args.total, args.concurrency, args.db, args.rate, args.duration, args.api_rate))
    if args.with_slack:
        from bench import slack_ingest

        asyncio.run(slack_ingest.run(args.total, args.concurrency, 300.0, 10.0, args.db))


if __name__ == "__main__":
    main()
