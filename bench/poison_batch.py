"""Poison batch: do a few requests with unstorable text fail the valid ones committed with them?

Starts `gongdan serve` on a fresh database, fires N concurrent valid REST creates with a few
poison ones (a lone surrogate or a NUL, sent as JSON escapes) mixed in, and prints how many valid
creates failed and what each poison request got. Before the fix one poison title failed its whole
group commit on SQLite. Usage:  .venv/bin/python bench/poison_batch.py [--db sqlite|pg|both] [-n N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import EXAMPLE_CONFIG as CONFIG
from bench.harness import fresh_database, serve

TOKEN = os.environ.get("GONGDAN_API_TOKEN", "dev-token-change-me-0123456789")

# raw JSON text: json.dumps would refuse nothing, but writing the escapes shows what a client sends
POISON = [
    '{"type": "it", "title": "printer \\ud800 broken"}',
    '{"type": "it", "title": "nul\\u0000byte"}',
    '{"type": "it", "title": "fine", "description": "half an emoji \\ud83d"}',
    '{"type": "it", "title": "\\udfff"}',
    '{"type": "it", "title": "\\u0000", "description": "\\ud800"}',
]


async def fire(url: str, valid: int) -> tuple[Counter[int], list[int], float]:
    bodies = [json.dumps({"type": "it", "title": f"valid ticket {i}"}) for i in range(valid)]
    # poison spread evenly through the burst, so each lands in a different group commit
    step = valid // (len(POISON) + 1)
    requests = list(bodies)
    for n, raw in enumerate(POISON, 1):
        requests.insert(n * step + n - 1, raw)
    poison_at = {i for i, raw in enumerate(requests) if raw in POISON}
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def post(raw: str) -> int:
            async with http.post(url + "/api/v1/tickets", data=raw, headers=headers) as r:
                await r.read()
                return r.status

        started = time.perf_counter()
        statuses = await asyncio.gather(*(post(raw) for raw in requests))
        elapsed = time.perf_counter() - started
    valid_statuses = Counter(s for i, s in enumerate(statuses) if i not in poison_at)
    poison_statuses = [s for i, s in enumerate(statuses) if i in poison_at]
    return valid_statuses, poison_statuses, elapsed


async def run(db: str, valid: int) -> None:
    async with fresh_database(db) as db_url, serve(CONFIG, db_url) as (url, _pid):
        statuses, poison, elapsed = await fire(url, valid)
    failed = valid - statuses[201]
    print(
        f"{db}: {failed} of {valid} concurrent valid creates failed "
        f"(statuses {dict(sorted(statuses.items()))}); "
        f"{len(poison)} poison creates answered {poison}; {elapsed:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "pg", "both"], default="sqlite")
    parser.add_argument("-n", "--valid", type=int, default=1000)
    args = parser.parse_args()
    for db in ["sqlite", "pg"] if args.db == "both" else [args.db]:
        asyncio.run(run(db, args.valid))


if __name__ == "__main__":
    main()
