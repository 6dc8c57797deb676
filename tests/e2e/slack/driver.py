"""Drive the running service the way Slack does: signed HTTP deliveries, checked against FakeSlack."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import yaml

from adapters.slack.channel import EVENTS_PATH
from bot.config import Config, parse_config
from core.clock import Clock
from tests.e2e.harness import TEST_CONFIG, Running, running
from tests.fakes.slack import (
    FakeSlack,
    PostedMessage,
    SignedRequest,
    block_actions,
    event_callback,
    events_request,
    interactivity_request,
    message_event,
    slash_command_request,
)

SECRET = "e2e-signing-secret-0123456789abcdef"
HELP_DESK = "C0HELPDESK"
GENERAL = "C0GENERAL"
# Slack user ids of the test company's people (tests/e2e/gongdan.test.yaml)
USERS = {"li.lei": "U0LILEI", "bob.smith": "U0BOB", "zhao.li": "U0ZHAOLI"}
HAN_EMAIL = "han.meimei@example.com"  # han.meimei is found on Slack by e-mail only
STRANGER = "U0STRANGER"  # in the workspace, not in the config


def slack_config(
    db_url: str,
    fake: FakeSlack,
    edit: Callable[[dict[str, Any]], None] | None = None,
    **slack: Any,
) -> Config:
    """The e2e company with Slack enabled and pointed at the fake; `edit` changes the rest."""
    data = yaml.safe_load(TEST_CONFIG.read_text(encoding="utf-8"))
    if edit is not None:
        edit(data)
    for person in data["people"]:
        if person["id"] in USERS:
            person["identities"] = {"slack": USERS[person["id"]]}
        if person["id"] == "han.meimei":
            person["email"] = HAN_EMAIL
    data["channels"]["slack"] = {
        "bot_token": fake.bot_token,
        "signing_secret": SECRET,
        "api_base_url": fake.base_url,
        "help_desk_channels": {HELP_DESK: "it"},
        "default_ticket_type": "it",
    } | slack
    env = {**os.environ, "GONGDAN_DATABASE_URL": db_url}
    return parse_config(yaml.safe_dump(data, allow_unicode=True), env)


@dataclass
class Reply:
    status: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


@dataclass
class SlackDriver:
    svc: Running
    fake: FakeSlack
    _ts: int = 0

    def next_ts(self) -> str:
        self._ts += 1
        return f"1767600000.{self._ts:06d}"

    async def deliver(self, request: SignedRequest) -> Reply:
        async with self.svc.http.post(
            self.svc.url + EVENTS_PATH, data=request.body, headers=request.headers
        ) as r:
            return Reply(r.status, await r.text())

    async def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        signed_at: int | None = None,
        secret: str = SECRET,
    ) -> Reply:
        body = event_callback(event, team_id=self.fake.team_id, event_id=event_id)
        at = int(time.time()) if signed_at is None else signed_at
        return await self.deliver(events_request(secret, body, at, retry_num=retry_num))

    async def mention(self, user: str, text: str, channel: str = GENERAL, **extra: Any) -> str:
        """An @mention of the bot; returns the message's ts."""
        ts = self.next_ts()
        event = message_event(user, channel, f"<@{self.fake.bot_user_id}> {text}", ts, **extra)
        reply = await self.event(event | {"type": "app_mention"})
        assert reply.status == 200, reply
        return ts

    async def interact(self, payload: Mapping[str, Any]) -> Reply:
        return await self.deliver(interactivity_request(SECRET, payload, int(time.time())))

    async def click(self, user: str, card: PostedMessage, action_id: str, **action: Any) -> Reply:
        """Press a button (or choose in a select) on a card the service posted."""
        element = find_element(card, action_id)
        chosen: dict[str, Any] = {"action_id": action_id, "type": element["type"]}
        chosen |= {"block_id": element["block_id"], "action_ts": f"{time.time():.6f}"}
        if element["type"] == "button":
            chosen["value"] = element["value"]
        chosen |= action
        payload = block_actions(
            user=user,
            channel=card.channel,
            message_ts=card.ts,
            action=chosen,
            trigger_id=self.fake.issue_trigger(),
            team_id=self.fake.team_id,
        )
        payload["message"] = card.to_json(self.fake.bot_user_id, self.fake.bot_id)
        return await self.interact(payload)

    async def slash(self, user: str, text: str, channel: str = GENERAL) -> Reply:
        fields = {
            "token": "scrubbed",
            "team_id": self.fake.team_id,
            "team_domain": "gongdan-test",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/ticket",
            "text": text,
            "api_app_id": self.fake.app_id,
            "response_url": "https://hooks.slack.com/commands/T0/1/scrubbed",
            "trigger_id": self.fake.issue_trigger(),
        }
        request = slash_command_request(SECRET, fields, int(time.time()))
        return await self.deliver(request)

    async def submit_view(
        self, user: str, view: Mapping[str, Any], values: dict[str, str]
    ) -> Reply:
        """Submit a modal the service opened, typing `values` into its text inputs by block id."""
        state = {
            block: {"value": {"type": "plain_text_input", "value": value}}
            for block, value in values.items()
        }
        payload = {
            "type": "view_submission",
            "team": {"id": self.fake.team_id, "domain": "gongdan-test"},
            "user": {"id": user, "username": user.lower(), "team_id": self.fake.team_id},
            "api_app_id": self.fake.app_id,
            "trigger_id": self.fake.issue_trigger(),
            "view": dict(view) | {"state": {"values": state}},
        }
        return await self.interact(payload)

    # ---- what the fake saw -------------------------------------------------------------
    async def posted(self, count: int = 1, within: float = 5.0) -> list[PostedMessage]:
        """Wait until `count` chat.postMessage calls were answered; the messages, oldest first."""
        await self.fake.wait_answered("chat.postMessage", count, within)
        return sorted(self.fake.messages.values(), key=lambda m: (m.channel, m.ts))

    async def cards(self, count: int = 1) -> list[PostedMessage]:
        await self.posted(count)
        return [m for m in self.fake.messages.values() if m.blocks]

    async def card_known(self, card: PostedMessage, within: float = 5.0) -> str:
        """Wait until the service has recorded `card` as a ticket's card; returns the ticket key.

        The fake answers chat.postMessage before the dispatcher stores the returned ts, and only
        then do replies in the card's thread find their ticket.
        """
        service = self.svc.services.service
        async with asyncio.timeout(within):
            while True:
                key = await service.ticket_for_message("slack", card.channel, card.ts)
                if key is not None:
                    return key
                await asyncio.sleep(0.01)

    async def tickets(self) -> list[dict[str, Any]]:
        async with self.svc.http.get(
            self.svc.url + "/api/v1/tickets", headers=self.svc.auth("admin")
        ) as r:
            assert r.status == 200
            return list((await r.json())["items"])

    async def ticket(self, key: str) -> dict[str, Any]:
        async with self.svc.http.get(
            self.svc.url + f"/api/v1/tickets/{key}", headers=self.svc.auth("admin")
        ) as r:
            return dict(await r.json())

    async def settle(self) -> None:
        """Deliver everything due now (the background dispatcher may take some of it)."""
        for _ in range(50):
            if await self.svc.services.dispatcher.run_once() == 0:
                await asyncio.sleep(0.02)
                if await self.svc.services.dispatcher.run_once() == 0:
                    return


def find_element(card: PostedMessage, action_id: str) -> dict[str, Any]:
    for block in card.blocks:
        for element in block.get("elements", ()):
            if element.get("action_id") == action_id:
                return dict(element) | {"block_id": block.get("block_id", "")}
    raise AssertionError(f"no {action_id} on the card: {card.blocks}")


def card_text(card: PostedMessage) -> str:
    """Everything a person reads on a card, as one string."""
    return json.dumps(card.blocks, ensure_ascii=False)


@asynccontextmanager
async def slack_service(
    db_url: str, fake: FakeSlack, clock: Clock | None = None, **slack: Any
) -> AsyncIterator[SlackDriver]:
    async with running(slack_config(db_url, fake, **slack), clock=clock) as svc:
        yield SlackDriver(svc, fake)
