"""Drive the running service the way WeCom does, against the local double (tests/fakes/wecom)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import yaml

from adapters.wecom.channel import CALLBACK_PATH, WeComChannel
from bot.config import Config, parse_config
from tests.e2e.harness import TEST_CONFIG, Running, running
from tests.fakes.wecom import CallbackSender, FakeWeCom

TOKEN = "e2e-callback-token"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
USERS = {"li.lei": "lilei", "zhao.li": "zhaoli", "bob.smith": "bob"}
GROUP = "wrgroup-helpdesk"


class WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def wecom_config(
    db_url: str,
    fake: FakeWeCom,
    *,
    robot: bool = True,
    app: bool = True,
    edit: Callable[[dict[str, Any]], None] | None = None,
    **extra: Any,
) -> Config:
    """The e2e company with WeCom pointed at the double; `edit` changes the rest."""
    data = yaml.safe_load(TEST_CONFIG.read_text(encoding="utf-8"))
    if edit is not None:
        edit(data)
    for person in data["people"]:
        if person["id"] in USERS:
            person["identities"] = {"wecom": USERS[person["id"]]}
    section: dict[str, Any] = {"default_ticket_type": "it", **extra}
    if robot:
        section["robot"] = {
            "bot_id": fake.bot.bot_id,
            "secret": fake.bot.secret,
            "ws_url": fake.ws_url,
        }
    if app:
        section["app"] = {
            "corp_id": fake.api.corp_id,
            "agent_id": fake.api.agent_id,
            "secret": fake.api.corp_secret,
            "token": TOKEN,
            "encoding_aes_key": AES_KEY,
            "api_base_url": fake.base_url,
        }
    data["channels"]["wecom"] = section
    env = {**os.environ, "GONGDAN_DATABASE_URL": db_url}
    return parse_config(yaml.safe_dump(data, allow_unicode=True), env)


@dataclass
class WeComDriver:
    svc: Running
    fake: FakeWeCom
    sender: CallbackSender

    @property
    def channel(self) -> WeComChannel:
        channel = self.svc.services.channels["wecom"]
        assert isinstance(channel, WeComChannel)
        return channel

    @property
    def callback_url(self) -> str:
        return self.svc.url + CALLBACK_PATH

    async def tickets(self) -> list[dict[str, Any]]:
        async with self.svc.http.get(
            self.svc.url + "/api/v1/tickets", headers=self.svc.auth("admin")
        ) as r:
            assert r.status == 200
            return list((await r.json())["items"])

    async def comment(self, person: str, key: str, body: str) -> int:
        async with self.svc.http.post(
            self.svc.url + f"/api/v1/tickets/{key}/comments",
            json={"body": body},
            headers=self.svc.auth(person),
        ) as r:
            return r.status

    async def settle(self) -> None:
        """Deliver everything due now (the background dispatcher may take some of it)."""
        dispatcher = self.svc.services.dispatcher
        for _ in range(50):
            if await dispatcher.run_once() == 0:
                await asyncio.sleep(0.02)
                if await dispatcher.run_once() == 0:
                    return

    async def act(self, person: str, key: str, action: str) -> int:
        async with self.svc.http.post(
            self.svc.url + f"/api/v1/tickets/{key}/actions/{action}", headers=self.svc.auth(person)
        ) as r:
            return r.status


async def until(done: Callable[[], Any], within: float = 5.0) -> Any:
    """Poll until `done()` is truthy; returns it."""
    async with asyncio.timeout(within):
        while True:
            value = done()
            if value:
                return value
            await asyncio.sleep(0.02)


def shows(card: dict[str, Any]) -> str:
    return json.dumps(card, ensure_ascii=False)


def button(card: dict[str, Any], action: str) -> str:
    return next(str(b["key"]) for b in card["button_list"] if b["key"].startswith(action + "|"))


@asynccontextmanager
async def wecom_service(db_url: str, fake: FakeWeCom, **options: Any) -> AsyncIterator[WeComDriver]:
    sender = CallbackSender(TOKEN, AES_KEY, fake.api.corp_id, fake.api.agent_id, WallClock())
    subscribed = fake.bot.subscriptions  # a restart subscribes again to the same double
    async with running(wecom_config(db_url, fake, **options)) as svc:
        driver = WeComDriver(svc, fake, sender)
        if driver.channel.robot is not None:
            await fake.bot.wait_subscribed(subscribed + 1)
        yield driver
