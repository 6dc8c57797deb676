"""Slack from its side: signed Events API deliveries in, FakeSlack's Web API out."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from bot.config import Config
from tests.contract.drivers.base import FIXTURES, NOTICE_COALESCING, Answer, ChannelDriver, Shown
from tests.e2e.slack.driver import HELP_DESK, SECRET, USERS, card_text, slack_config
from tests.fakes.slack import FakeSlack, PostedMessage, SignedRequest, events_request, sign

FIXTURE = FIXTURES / "slack"


class SlackContractDriver(ChannelDriver):
    name = "slack"

    fake: FakeSlack
    _last: SignedRequest | None = None
    _ts = 0

    async def platform(self) -> AsyncIterator[None]:
        self.fake = FakeSlack(clock=self.clock)
        await self.fake.start()
        try:
            yield
        finally:
            await self.fake.stop()

    def config(self, db_url: str) -> Config:
        return slack_config(db_url, self.fake)

    def _event(self, fixture: str, **event: Any) -> dict[str, Any]:
        """A real payload (tests/fixtures/slack), addressed to the test workspace."""
        body: dict[str, Any] = json.loads((FIXTURE / fixture).read_text(encoding="utf-8"))
        body["team_id"] = self.fake.team_id
        body["api_app_id"] = self.fake.app_id
        body["event"] |= event
        return body

    async def _deliver(self, raw: bytes, headers: dict[str, str]) -> Answer:
        async with self.svc.http.post(
            self.svc.url + "/slack/events", data=raw, headers=headers
        ) as r:
            return Answer(r.status, await r.text())

    async def _signed(self, body: dict[str, Any]) -> Answer:
        self._last = events_request(SECRET, body, int(time.time()))
        return await self._deliver(self._last.body, self._last.headers)

    async def open_ticket(self, text: str) -> str:
        self._ts += 1
        ts = f"1767600000.{self._ts:06d}"
        event = {"user": USERS["zhao.li"], "channel": HELP_DESK, "text": text, "ts": ts}
        answer = await self._signed(self._event("message_channels.json", **event, event_ts=ts))
        assert answer.status == 200, answer
        [*_, key] = await self.tickets()
        return key

    async def deliver_again(self) -> Answer:
        assert self._last is not None
        return await self._deliver(self._last.body, self._last.headers)

    async def cards(self, key: str) -> list[Shown]:
        return [
            _shown(m) for m in self.fake.messages_in(HELP_DESK) if m.blocks and key in card_text(m)
        ]

    def fail_next_send(self, *, retry_after: int | None) -> None:
        if retry_after is None:
            self.fake.fail_next("chat.postMessage", status=200, error="channel_not_found")
        else:
            self.fake.fail_next("chat.postMessage", status=429, retry_after=retry_after)

    def send_attempts(self) -> int:
        return len([c for c in self.fake.calls_to("chat.postMessage") if c.body.get("blocks")])

    async def send_unparseable(self) -> Answer:
        raw = b'{"type": "event_callback", "event": '  # cut off mid-object
        headers = {"Content-Type": "application/json", **_sign(raw)}
        return await self._deliver(raw, headers)

    async def send_unhandled(self) -> Answer:
        body = self._event("message_changed.json", channel=HELP_DESK)
        return await self._signed(body)

    async def message_to_bob(self) -> Shown:
        key = await self.open_ticket("printer jammed on 3F")
        await self.settle()
        await self.act(key, "assign", "li.lei", assignee="bob.smith")
        self.clock.advance(NOTICE_COALESCING)
        await self.settle()
        [*_, last] = self.fake.messages_in(USERS["bob.smith"])
        return _shown(last)


def _sign(raw: bytes) -> dict[str, str]:
    return sign(SECRET, raw, int(time.time()))


def _shown(m: PostedMessage) -> Shown:
    text = card_text(m) if m.blocks else m.text
    return Shown(m.ts, m.thread_ts or m.channel, text, m.edits)
