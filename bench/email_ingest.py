"""Email ingest benchmark: mail over SMTP to committed tickets, and their acknowledgements.

Starts `gongdan serve` (SQLite by default) with the built-in SMTP listener and a relay pointed
at a local aiosmtpd sink in this process, warms up, then sends TOTAL distinct mails (one sender
address each, so every one is acknowledged) over CONCURRENCY SMTP connections, each connection
reused for many messages. It reports

  - mails/s from the first MAIL FROM to the last 250 (each 250 means the ticket committed),
  - p50/p99 of DATA-to-250 (what a sending MTA waits for),
  - acknowledgements received by the sink (outbox -> aiosmtplib -> relay) and their rate,
  - duplicates: DUPES mails resent with the same Message-ID must add no acknowledgement.

Usage:  .venv/bin/python bench/email_ingest.py [--total 5000] [--concurrency 16] [--db sqlite|pg]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib
import yaml
from aiosmtpd.smtp import SMTP

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import EXAMPLE_CONFIG as CONFIG
from bench.harness import free_port, fresh_database, pct, serve

TO = "it@acme.test"


class Sink:
    """The relay: counts what Gongdan sends."""

    def __init__(self) -> None:
        self.count = 0
        self.first: float | None = None
        self.last = 0.0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.perf_counter()
        self.first = self.first or now
        self.last = now
        self.count += 1
        return "250 2.0.0 queued"


def write_config(directory: Path, smtp_port: int, relay_port: int | None) -> Path:
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    email = data["channels"]["email"]
    email["smtp_listen"] = f"127.0.0.1:{smtp_port}"
    if relay_port is not None:
        relay = {"host": "127.0.0.1", "port": relay_port, "security": "none", "from": TO}
        email["relay"] = relay
    path = directory / "gongdan.email-bench.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def mail(i: int, run: str) -> tuple[str, bytes]:
    sender = f"user{i}.{run}@example.cn"
    msg = EmailMessage()
    msg["From"] = f"用户{i} <{sender}>"
    msg["To"] = TO
    msg["Subject"] = f"打印机 {i} 卡纸 / printer {i} jammed"
    msg["Message-ID"] = make_msgid(idstring=f"{run}.{i}", domain="example.cn")
    msg.set_content(f"三楼东侧的打印机 {i} 一直卡纸。\n\nCategory: hardware\n")
    return sender, msg.as_bytes()


async def send_all(
    port: int, mails: list[tuple[str, bytes]], concurrency: int
) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    failures = 0
    queue = iter(mails)

    async def connection() -> None:
        nonlocal failures
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60) as smtp:
            for sender, raw in queue:
                await smtp.mail(sender)
                await smtp.rcpt(TO)
                t0 = time.perf_counter()
                try:
                    reply = await smtp.data(raw)
                except aiosmtplib.SMTPResponseException:
                    failures += 1
                    await smtp.rset()
                    continue
                latencies.append(time.perf_counter() - t0)
                if reply.code != 250:
                    failures += 1

    start = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return time.perf_counter() - start, latencies, failures


async def wait_for_acks(sink: Sink, expected: int, within_s: float) -> None:
    deadline = time.perf_counter() + within_s
    while time.perf_counter() < deadline:
        if sink.count >= expected:
            return
        await asyncio.sleep(0.05)


async def run(total: int, concurrency: int, dupes: int, db: str, relay_on: bool) -> None:
    loop = asyncio.get_running_loop()
    sink = Sink()
    relay = await loop.create_server(lambda: SMTP(sink, loop=loop), "127.0.0.1", 0)
    relay_port = relay.sockets[0].getsockname()[1]
    smtp_port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp), smtp_port, relay_port if relay_on else None)
        async with (
            fresh_database(db) as db_url,
            serve(config, db_url, log_level="ERROR") as (_url, _pid),
        ):
            run_id = uuid.uuid4().hex[:6]
            warm = [mail(i, "warm" + run_id) for i in range(200)]
            await send_all(smtp_port, warm, concurrency)
            await wait_for_acks(sink, len(warm) if relay_on else 0, 60)
            sink.count, sink.first = 0, None

            mails = [mail(i, run_id) for i in range(total)]
            elapsed, latencies, failures = await send_all(smtp_port, mails, concurrency)
            sent_at = time.perf_counter()
            await wait_for_acks(sink, total if relay_on else 0, 120)
            acked = sink.count
            ack_span = (sink.last - (sent_at - elapsed)) if acked else float("nan")

            _, _, dupe_failures = await send_all(smtp_port, mails[:dupes], concurrency)
            await asyncio.sleep(2)  # give the outbox time to (wrongly) send anything extra
            extra = sink.count - acked
    relay.close()
    ms = [x * 1000 for x in latencies]
    print(f"database: {db}, mails: {total}, SMTP connections: {concurrency}")
    print(
        f"committed: {len(latencies) / elapsed:,.0f} mails/s "
        f"(DATA->250 p50 {pct(ms, 0.5):.1f} ms, p99 {pct(ms, 0.99):.1f} ms, "
        f"max {max(ms):.1f} ms), failures {failures}"
    )
    if relay_on:
        rate = acked / ack_span
        print(f"acknowledged: {acked}/{total} in {ack_span:.1f} s ({rate:,.0f} mails/s)")
    print(f"duplicates resent: {dupes}, failures {dupe_failures}, extra acknowledgements {extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--total", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--dupes", type=int, default=500)
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument(
        "--no-relay", action="store_true", help="intake only: Gongdan sends no mail"
    )
    args = parser.parse_args()
    asyncio.run(run(args.total, args.concurrency, args.dupes, args.db, not args.no_relay))


if __name__ == "__main__":
    main()
