"""DingTalk from its side: Stream frames in over FakeDingTalk's gateway, its open API out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from bot.config import Config
from tests.contract.drivers.base import NOTICE_COALESCING, Answer, ChannelDriver, Shown
from tests.e2e.dingtalk.driver import GROUP, STAFF, dingtalk_config
from tests.fakes.dingtalk import Card, FakeDingTalk
from tests.fakes.dingtalk.faults import Fault
from tests.fakes.dingtalk.payloads import TOPIC_BOT_MESSAGE
from tests.fakes.dingtalk.stream import Ack

CREATE = "/v1.0/card/instances/createAndDeliver"


class DingTalkContractDriver(ChannelDriver):
    name = "dingtalk"

    fake: FakeDingTalk
    _last: dict[str, Any] | None = None

    async def platform(self) -> AsyncIterator[None]:
        async with FakeDingTalk(clock=self.clock) as fake:
            self.fake = fake
            yield

    def config(self, db_url: str) -> Config:
        return dingtalk_config(db_url, self.fake)

    async def _acked(self, message_id: str) -> Answer:
        ack: Ack = await self.fake.stream.wait_ack(message_id)
        assert ack.code is not None, ack
        return Answer(ack.code, f"{ack.message or ''} {ack.data or ''}")

    async def open_ticket(self, text: str) -> str:
        await self.fake.wait_connected()
        payload, push = await self.fake.send_bot_message(
            text=text, sender_staff_id=STAFF["zhao.li"], conversation_id=GROUP
        )
        self._last = payload
        answer = await self._acked(push.message_id)
        assert answer.status == 200, answer
        [*_, key] = await self.tickets()
        return key

    async def deliver_again(self) -> Answer:
        # a repeated frame carries the same robot message (same msgId) in a new frame
        assert self._last is not None
        push = await self.fake.stream.push("CALLBACK", TOPIC_BOT_MESSAGE, self._last, {})
        return await self._acked(push.message_id)

    async def cards(self, key: str) -> list[Shown]:
        return [
            _shown(card, GROUP)
            for card in self.fake.cards.values()
            if card.params.get("key") == key and ("IM_GROUP", GROUP) in card.spaces
        ]

    def fail_next_send(self, *, retry_after: int | None) -> None:
        # DingTalk names no time to wait (Capabilities.retry_after is False): only the
        # permanent case is asked for
        fault = (
            Fault.error(400, "invalidParameter.openSpaceId")
            if retry_after is None
            else Fault.throttle(status=429)
        )
        self.fake.fail_next(CREATE, fault)

    def send_attempts(self) -> int:
        return len(self.fake.calls_to(CREATE))

    async def send_unparseable(self) -> Answer:
        await self.fake.wait_connected()
        push = await self.fake.stream.push(
            "CALLBACK", TOPIC_BOT_MESSAGE, {"msgtype": "text", "text": {"content": "x"}}, {}
        )
        return await self._acked(push.message_id)

    async def send_unhandled(self) -> Answer:
        await self.fake.wait_connected()
        push = await self.fake.push_event("user_add_org", {"UserId": ["staff0099"]})
        return await self._acked(push.message_id)

    async def message_to_bob(self) -> Shown:
        key = await self.open_ticket("printer jammed on 3F")
        await self.settle()
        await self.act(key, "assign", "li.lei", assignee="bob.smith")
        self.clock.advance(NOTICE_COALESCING)
        await self.settle()
        bob = STAFF["bob.smith"]
        [*_, last] = [s for s in self.fake.sent if s.via == "oto" and s.target == bob]
        return Shown("", bob, str(last.param.get("content") or last.param.get("text") or ""))


def _shown(card: Card, space: str) -> Shown:
    text = "\n".join(f"{k}: {v}" for k, v in card.params.items())
    return Shown(card.carriers.get(space, card.out_track_id), space, text, len(card.history) - 1)
