"""WeCom from its side: the company app's encrypted callbacks in, its API (cards 1:1) out.

The app is the path the contract drives: its callbacks are HTTP requests with an answer, and its
cards update in place. (The smart robot's long connection answers nothing per frame.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from bot.config import Config
from tests.contract.drivers.base import NOTICE_COALESCING, Answer, ChannelDriver, Shown
from tests.e2e.wecom.driver import AES_KEY, TOKEN, USERS, wecom_config
from tests.fakes.wecom import CallbackSender, FakeWeCom, SentCard
from tests.fakes.wecom.callbacks import Encrypted

SEND = "message/send"
REFUSED = 60020  # "not allow to access from your ip": no retry fixes it


class WeComContractDriver(ChannelDriver):
    name = "wecom"

    fake: FakeWeCom
    sender: CallbackSender
    _last: Encrypted | None = None

    async def platform(self) -> AsyncIterator[None]:
        async with FakeWeCom(clock=self.clock) as fake:
            self.fake = fake
            self.sender = CallbackSender(
                TOKEN, AES_KEY, fake.api.corp_id, fake.api.agent_id, self.clock
            )
            yield

    def config(self, db_url: str) -> Config:
        return wecom_config(db_url, self.fake, robot=False)

    @property
    def _url(self) -> str:
        return self.svc.url + "/wecom/callback"

    async def _post(self, message: Encrypted) -> Answer:
        async with self.svc.http.post(self._url, params=message.query, data=message.body) as r:
            return Answer(r.status, await r.text())

    async def open_ticket(self, text: str) -> str:
        self._last = self.sender.encrypt(self.sender.text_message(USERS["zhao.li"], text))
        answer = await self._post(self._last)
        assert answer.status == 200, answer
        [*_, key] = await self.tickets()
        return key

    async def deliver_again(self) -> Answer:
        # WeCom's own retry: the same request, same nonce and signature
        assert self._last is not None
        return await self._post(self._last)

    async def cards(self, key: str) -> list[Shown]:
        user = USERS["zhao.li"]
        return [
            _shown(card, user)
            for card in self.fake.api.cards.values()
            if user in card.touser and key in str(card.template_card)
        ]

    def fail_next_send(self, *, retry_after: int | None) -> None:
        # WeCom names no time to wait (Capabilities.retry_after is False): only the permanent
        # case is asked for
        self.fake.api.fail_next(SEND, REFUSED if retry_after is None else 45009)

    def send_attempts(self) -> int:
        calls = self.fake.api.calls_to(SEND)
        return sum(1 for c in calls if c.body.get("msgtype") == "template_card")

    async def send_unparseable(self) -> Answer:
        # signed and decryptable, but no sender: nothing to act on
        return await self._post(self.sender.encrypt("<xml><MsgType>text</MsgType></xml>"))

    async def send_unhandled(self) -> Answer:
        return await self._post(self.sender.encrypt(self.sender.enter_agent(USERS["zhao.li"])))

    async def message_to_bob(self) -> Shown:
        key = await self.open_ticket("printer jammed on 3F")
        await self.settle()
        await self.act(key, "assign", "li.lei", assignee="bob.smith")
        self.clock.advance(NOTICE_COALESCING)
        await self.settle()
        bob = USERS["bob.smith"]
        [*_, last] = [m for m in self.fake.api.messages if bob in str(m.get("touser", ""))]
        text = last.get("text") or last.get("markdown") or {}
        return Shown("", bob, str(text.get("content", "")) if isinstance(text, dict) else "")


def _shown(card: SentCard, user: str) -> Shown:
    return Shown(card.task_id, user, str(card.template_card), len(card.updates))
