"""Run the service with DingTalk pointed at FakeDingTalk, and wait for what the double sees."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import yaml

from bot.config import Config, parse_config
from core.clock import Clock
from tests.e2e.harness import TEST_CONFIG, Running, running
from tests.fakes.dingtalk import Card, FakeDingTalk

GROUP = "cidGroupHelpDesk0001=="
TEMPLATE = "gongdan-generic.schema"
# staffIds of the test company's people (tests/e2e/gongdan.test.yaml)
STAFF = {
    "li.lei": "manager4220",
    "zhao.li": "staff0002",
    "han.meimei": "staff0003",
    "bob.smith": "staffBob0005",  # reads English
}


def dingtalk_config(
    db_url: str,
    fake: FakeDingTalk,
    edit: Callable[[dict[str, Any]], None] | None = None,
    **section: Any,
) -> Config:
    data = yaml.safe_load(TEST_CONFIG.read_text(encoding="utf-8"))
    if edit is not None:
        edit(data)
    for person in data["people"]:
        if person["id"] in STAFF:
            person["identities"] = {"dingtalk": STAFF[person["id"]]}
    data["channels"]["dingtalk"] = {
        "client_id": fake.app_key,
        "client_secret": fake.app_secret,
        "card_template_id": TEMPLATE,
        "api_base_url": fake.base_url,
        "oapi_base_url": fake.base_url,
        "help_desk_groups": {GROUP: "it"},
        "default_ticket_type": "it",
    } | section
    env = {**os.environ, "GONGDAN_DATABASE_URL": db_url}
    return parse_config(yaml.safe_dump(data, allow_unicode=True), env)


@dataclass
class DingTalkDriver:
    svc: Running
    fake: FakeDingTalk

    @property
    def callback_url(self) -> str:
        """Where DingTalk POSTs robot messages in HTTP mode."""
        return f"{self.svc.url}/dingtalk/callback"

    async def settle(self) -> None:
        """Deliver everything due now (the background dispatcher may take some of it)."""
        for _ in range(50):
            if await self.svc.services.dispatcher.run_once() == 0:
                await asyncio.sleep(0.02)
                if await self.svc.services.dispatcher.run_once() == 0:
                    return

    async def until(self, check: Callable[[], bool], within: float = 5.0) -> None:
        async with asyncio.timeout(within):
            while not check():
                await self.settle()
                await asyncio.sleep(0.01)

    async def cards(self, count: int = 1) -> list[Card]:
        await self.until(lambda: len(self.fake.cards) >= count)
        return list(self.fake.cards.values())

    async def ticket(self, key: str) -> dict[str, Any]:
        async with self.svc.http.get(
            f"{self.svc.url}/api/v1/tickets/{key}", headers=self.svc.auth("admin")
        ) as r:
            assert r.status == 200, await r.text()
            return dict(await r.json())

    async def tickets(self) -> list[dict[str, Any]]:
        async with self.svc.http.get(
            self.svc.url + "/api/v1/tickets", headers=self.svc.auth("admin")
        ) as r:
            assert r.status == 200
            return list((await r.json())["items"])

    async def card_known(self, conversation: str, track: str, within: float = 5.0) -> str:
        """Until the dispatcher stored the card's ref (the message carrying it, its
        outTrackId as state)."""
        service = self.svc.services.service
        message = self.fake.cards[track].carriers[conversation]
        async with asyncio.timeout(within):
            while True:
                key = await service.ticket_for_message("dingtalk", conversation, message)
                if key is not None:
                    return key
                await asyncio.sleep(0.01)


@asynccontextmanager
async def dingtalk_service(
    db_url: str, fake: FakeDingTalk, *, clock: Clock | None = None, **section: Any
) -> AsyncIterator[DingTalkDriver]:
    config = dingtalk_config(db_url, fake, **section)
    async with running(config, clock=clock) as svc:
        if section.get("mode") != "http":  # HTTP mode opens no Stream connection
            await fake.wait_connected()
        yield DingTalkDriver(svc, fake)
