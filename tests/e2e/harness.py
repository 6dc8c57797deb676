"""Run the real service on port 0 for end-to-end tests."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bot.bootstrap import Services, build, listen
from bot.config import Config, load_config
from core.clock import Clock

TEST_CONFIG = Path(__file__).with_name("gongdan.test.yaml")
EXAMPLE_CONFIG = Path(__file__).parents[2] / "deploy" / "gongdan.example.yaml"

TOKENS = {
    "admin": "test-admin-token-0000000000",
    "li.lei": "test-lilei-token-00000000000",
    "han.meimei": "test-hanmei-token-0000000000",
    "bob.smith": "test-bob-token-0000000000000",
    "zhao.li": "test-zhaoli-token-0000000000",
}


def service_config(
    db_url: str, path: Path = TEST_CONFIG, env: Mapping[str, str] | None = None
) -> Config:
    environ = {**os.environ, **(env or {}), "GONGDAN_DATABASE_URL": db_url}
    return load_config(path, environ)


@dataclass
class Running:
    services: Services
    url: str
    http: aiohttp.ClientSession

    def auth(self, person: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKENS[person]}"}


@asynccontextmanager
async def running(config: Config, clock: Clock | None = None) -> AsyncIterator[Running]:
    services = await build(config, clock=clock)
    await services.start()
    runner, url = await listen(services, "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            yield Running(services, url, http)
    finally:
        services.health.draining = True
        await runner.cleanup()
        await services.stop()


async def commit_histogram(svc: Running, source: str) -> tuple[int, float]:
    """gongdan_inbound_commit_seconds for `source` as /metrics shows it: (count, sum)."""
    async with svc.http.get(svc.url + "/metrics") as r:
        text = await r.text()
    count = re.search(rf'gongdan_inbound_commit_seconds_count{{source="{source}"}} (\S+)', text)
    total = re.search(rf'gongdan_inbound_commit_seconds_sum{{source="{source}"}} (\S+)', text)
    return (int(count.group(1)), float(total.group(1))) if count and total else (0, 0.0)
