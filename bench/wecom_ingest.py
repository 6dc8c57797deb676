"""WeCom ingest benchmark: encrypted company-app callbacks and smart-robot frames to tickets.

Starts `gongdan serve` as a subprocess on a fresh database (SQLite file, or PostgreSQL with
--db pg) with WeCom's smart robot and company app pointed at the WeCom double
(tests/fakes/wecom) running in this process. Then, for each path:
  app:   TOTAL encrypted text callbacks POSTed to /wecom/callback, CONCURRENCY at a time (HTTP
         200 = the ticket is committed): callbacks/s and ack latency; then an open loop at RATE/s
         for DURATION s (ack latency). The app's cards keep WeCom's member limit (the product's
         default, `channels.wecom.keep_quotas`): 50 bench users each writing 20 times a second
         are shown 13 cards at once, then one every 3.7 s, and the rest wait in the outbox (the
         double drops what a member is sent past the limit, as WeCom does; none must be). With
         --no-quotas the cards go as fast as the service sends them and each phase waits for
         the double to have every card (message/send): the service's whole cost per message;
  robot: TOTAL `aibot_msg_callback` frames (from 50 users in 50 groups: the outbox keeps one
         delivery in flight per conversation) pushed over the long connection as fast as the
         socket takes them: frames/s until every ticket's card is back (aibot_send_msg, i.e.
         committed + delivered through the outbox); then an open loop at RATE/s for DURATION s,
         latency from push to card;
Each phase also prints the service's own figures for it: receive-to-commit p50/p99 (its
gongdan_inbound_commit_seconds histogram for source "wecom"), CPU per message until the last
card (with quotas kept: until the last ack), and commands per group commit. With --no-quotas the
app's open loop is waited out to its last card before the robot starts, so the robot's figures
carry none of the app's backlog (with quotas, what trails is 50 cards every 3.7 s).
And, unless --no-slack, bench/slack_ingest.py with the same figures beside them. Usage:
  .venv/bin/python bench/wecom_ingest.py [--total 3000] [--concurrency 64] [--db sqlite|pg]
                                         [--rate 1000] [--duration 5] [--no-slack]
                                         [--no-quotas]
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
import sqlalchemy as sa
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import slack_ingest  # noqa: E402
from bench.harness import EXAMPLE_CONFIG as CONFIG  # noqa: E402
from bench.harness import (  # noqa: E402
    Phase,
    fresh_database,
    pct,
    reference_ms,
    serve,
)
from storage.db import create_engine  # noqa: E402
from storage.tables import outbox  # noqa: E402
from tests.fakes.wecom import CallbackSender, Encrypted, FakeWeCom  # noqa: E402

TOKEN = "bench-callback-token"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
GROUPS = [f"wrbench-group-{i:02d}" for i in range(50)]
DB_NAMES = {"sqlite": "SQLite", "pg": "PostgreSQL"}
ROBOT_TEXT = re.compile(r"bench robot (\d+)")
APP_TEXT = re.compile(r"bench app (\d+)")
USERS = [f"user{i:03d}" for i in range(50)]


class WallClock:
    def now(self) -> Any:
        from datetime import UTC, datetime

        return datetime.now(UTC)


def write_config(directory: Path, fake: FakeWeCom, quotas: bool) -> Path:
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    data["channels"]["wecom"] = {
        "default_ticket_type": "it",
        # kept (the default): each bench user is shown 13 cards at once, then one every 3.7 s
        "keep_quotas": quotas,
        "robot": {"bot_id": fake.bot.bot_id, "secret": fake.bot.secret, "ws_url": fake.ws_url},
        "app": {
            "corp_id": fake.api.corp_id,
            "agent_id": fake.api.agent_id,
            "secret": fake.api.corp_secret,
            "token": TOKEN,
            "encoding_aes_key": AES_KEY,
            "api_base_url": fake.base_url,
        },
    }
    path = directory / "gongdan.wecom-bench.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def callbacks(sender: CallbackSender, first: int, count: int) -> list[Encrypted]:
    return [
        sender.encrypt(sender.text_message(USERS[i % len(USERS)], f"bench app {i}"))
        for i in range(first, first + count)
    ]


async def post_all(
    url: str, messages: list[Encrypted], concurrency: int
) -> tuple[list[float], Counter[int], float]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    queue = iter(messages)

    async def client(http: aiohttp.ClientSession) -> None:
        for m in queue:
            t0 = time.perf_counter()
            async with http.post(url, params=m.query, data=m.body) as r:
                await r.read()
                statuses[r.status] += 1
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
    return latencies, statuses, time.perf_counter() - t0


async def post_at_rate(
    url: str, messages: list[Encrypted], rate: float
) -> tuple[list[float], Counter[int]]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512)) as http:

        async def one(m: Encrypted) -> None:
            t0 = time.perf_counter()
            async with http.post(url, params=m.query, data=m.body) as r:
                await r.read()
                statuses[r.status] += 1
            latencies.append(time.perf_counter() - t0)

        start, tasks = time.perf_counter(), []
        for n, m in enumerate(messages):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(m)))
        await asyncio.gather(*tasks)
    return latencies, statuses


async def until(done: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("the service did not deliver every card in time")
        await asyncio.sleep(0.01)


class RobotCards:
    """Message index -> when its card came back over the long connection; reads only the
    frames recorded since the last look (the double keeps every frame)."""

    def __init__(self, fake: FakeWeCom) -> None:
        self.fake = fake
        self.seen: dict[int, float] = {}
        self._read = 0

    def __call__(self) -> dict[int, float]:
        frames = self.fake.bot.frames
        for frame in frames[self._read :]:
            if frame.direction == "in" and frame.cmd == "aibot_send_msg":
                match = ROBOT_TEXT.search(json.dumps(frame.data, ensure_ascii=False))
                if match:
                    self.seen.setdefault(int(match.group(1)), frame.at.timestamp())
        self._read = len(frames)
        return self.seen


async def push_robot(fake: FakeWeCom, indexes: range, rate: float | None) -> dict[int, float]:
    sent: dict[int, float] = {}
    start = time.perf_counter()
    for n, i in enumerate(indexes):
        if rate is not None:
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        sent[i] = time.time()
        await fake.bot.send_group_message(
            GROUPS[i % len(GROUPS)], USERS[i % len(USERS)], f"bench robot {i}"
        )
    return sent


async def waiting_in_outbox(db_url: str) -> int:
    """WeCom sends the service still holds for their slot (the member limit)."""
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(
                sa.select(sa.func.count()).where(
                    outbox.c.channel == "wecom", outbox.c.status == "pending"
                )
            )
    finally:
        await engine.dispose()
    return int(found or 0)


def app_cards_by_message(fake: FakeWeCom) -> Counter[int]:
    """How many cards each bench app message got (a ticket's card carries its title)."""
    shown: Counter[int] = Counter()
    for body in fake.api.messages:
        match = APP_TEXT.search(json.dumps(body, ensure_ascii=False))
        if match:
            shown[int(match.group(1))] += 1
    return shown


async def run(args: argparse.Namespace) -> None:
    speed_before = reference_ms()
    total, rate, duration = args.total, args.rate, args.duration
    quotas = not args.no_quotas  # kept: the app's cards trail at WeCom's member limit
    fake = FakeWeCom(clock=WallClock())
    fake.api.member_limits = quotas  # without them WeCom would drop most of the app's cards
    await fake.start()
    sender = CallbackSender(TOKEN, AES_KEY, fake.api.corp_id, fake.api.agent_id, WallClock())
    robot_cards = RobotCards(fake)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp), fake, quotas)
            async with fresh_database(args.db) as db_url, serve(config, db_url) as (url, pid):
                await fake.bot.wait_subscribed(within=30)
                callback_url = url + "/wecom/callback"
                # warm up both paths (and meet every user once: user/get, new people)
                await post_all(callback_url, callbacks(sender, 10**6, 200), args.concurrency)
                await push_robot(fake, range(10**6, 10**6 + 200), None)
                if not quotas:
                    await until(lambda: len(fake.api.messages) >= 200, 60)
                await until(lambda: len(robot_cards()) >= 200, 60)

                # --- app callbacks, closed loop (until every card is sent)
                msgs = callbacks(sender, 0, total)
                sent_before = len(fake.api.messages)
                t0 = time.perf_counter()
                async with Phase(url, pid, "wecom", total) as app_burst:
                    app_lat, app_status, app_acked = await post_all(
                        callback_url, msgs, args.concurrency
                    )
                    if not quotas:
                        await until(lambda: len(fake.api.messages) >= sent_before + total, 120)
                    app_carded = time.perf_counter() - t0
                # replays of a slice: no ticket or card may be added
                replays = msgs[:: max(total // 100, 1)]
                _, replay_status, _ = await post_all(callback_url, replays, args.concurrency)
                # --- app callbacks, open loop (until every card is sent, so that none of its
                # work is left for the robot's phases to pay for)
                steady = callbacks(sender, 2 * 10**6, int(rate * duration))
                expected_app = 200 + total + len(steady)
                async with Phase(url, pid, "wecom", len(steady)) as app_steady:
                    app_open, app_open_status = await post_at_rate(callback_url, steady, rate)
                    if not quotas:
                        await until(lambda: len(fake.api.messages) >= expected_app, 120)

                # --- robot frames, burst
                have = len(robot_cards())
                t0 = time.perf_counter()
                async with Phase(url, pid, "wecom", total) as robot_burst:
                    await push_robot(fake, range(total), None)
                    pushed_in = time.perf_counter() - t0
                    await until(lambda: len(robot_cards()) >= have + total, 120)
                    robot_carded = time.perf_counter() - t0
                # --- robot frames, open loop
                steady_range = range(3 * 10**6, 3 * 10**6 + int(rate * duration))
                async with Phase(url, pid, "wecom", len(steady_range)) as robot_steady:
                    sent = await push_robot(fake, steady_range, rate)
                    await until(lambda: all(i in robot_cards() for i in steady_range), 120)
                shown = robot_cards()
                robot_open = [shown[i] - sent[i] for i in steady_range]
                await asyncio.sleep(1)
                app_cards = len(fake.api.messages)
                app_shown = app_cards_by_message(fake)
                waiting = await waiting_in_outbox(db_url)
                robot_sent = sum(
                    1 for f in fake.bot.frames if f.direction == "in" and f.cmd == "aibot_send_msg"
                )
                robot_seen = len(robot_cards())
    finally:
        await fake.stop()

    until_what = "(to acks; cards trail at WeCom's member limit)" if quotas else "(to cards)"
    print(f"machine: reference loop {speed_before:.0f} ms before, {reference_ms():.0f} ms after")
    print(f"wecom ingest, {DB_NAMES[args.db]}, {total} per path, {args.concurrency} concurrent")
    print(f"  app callbacks acked: {total / app_acked:8.0f}/s  statuses {dict(app_status)}")
    if not quotas:
        print(f"  app callbacks carded: {total / app_carded:7.0f}/s  (commit + card sent)")
    print(
        f"  app ack latency p50 {pct(app_lat, 0.5) * 1000:.1f} ms, "
        f"p99 {pct(app_lat, 0.99) * 1000:.1f} ms; {app_burst.summary()} {until_what}"
    )
    print(f"  app replays {len(replays)}: statuses {dict(replay_status)}")
    print(
        f"  app open loop {rate:.0f}/s for {duration:.0f} s: ack p50 "
        f"{pct(app_open, 0.5) * 1000:.1f} ms, p99 {pct(app_open, 0.99) * 1000:.1f} ms, "
        f"statuses {dict(app_open_status)}; {app_steady.summary()} {until_what}"
    )
    # follow-ups are off for benchmarks (bench.harness): every message is a new ticket
    if quotas:
        doubled = sum(n - 1 for n in app_shown.values() if n > 1)
        print(
            f"  app cards: {app_cards} of {expected_app} shown by the end, {waiting} WeCom sends "
            f"waiting for their slot (13 at once per member, then 0.27/s); duplicated {doubled}, "
            f"dropped by WeCom {len(fake.api.dropped)}"
        )
    else:
        print(
            f"  app cards: {app_cards} for {expected_app} messages; lost "
            f"{max(expected_app - app_cards, 0)}, duplicated {max(app_cards - expected_app, 0)}"
        )
    expected_robot = 200 + total + len(steady_range)
    print(
        f"  robot cards: {robot_seen} for {expected_robot} frames; "
        f"lost {expected_robot - robot_seen}, duplicated {robot_sent - robot_seen}"
    )
    print(
        f"  robot frames pushed: {total / pushed_in:8.0f}/s; to cards: "
        f"{total / robot_carded:.0f}/s (commit + card back over the socket); "
        f"{robot_burst.summary()} (to cards)"
    )
    print(
        f"  robot open loop {rate:.0f}/s for {duration:.0f} s: push to card p50 "
        f"{pct(robot_open, 0.5) * 1000:.1f} ms, p99 {pct(robot_open, 0.99) * 1000:.1f} ms; "
        f"{robot_steady.summary()} (to cards)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--no-slack", action="store_true")
    parser.add_argument(
        "--no-quotas",
        action="store_true",
        help="send the app's cards as fast as the service goes (channels.wecom.keep_quotas: "
        "false; the double then drops none): the service's full cost per message",
    )
    args = parser.parse_args()
    asyncio.run(run(args))
    if not args.no_slack:
        asyncio.run(
            slack_ingest.run(args.total, args.concurrency, args.rate, args.duration, args.db)
        )


if __name__ == "__main__":
    main()
