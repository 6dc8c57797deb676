"""WeCom's encrypted callbacks to a company app's URL (docs 90238, 90239, 90240, 90968).

The plaintext is callback XML; `wechatpy.enterprise.crypto.WeChatCrypto` encrypts it for the
app's Token / EncodingAESKey / corp id, and the POST carries `msg_signature`, `timestamp` and
`nonce` in the query and `<xml><ToUserName/><Encrypt/><AgentID/></xml>` as the body. WeCom waits
5 s for an HTTP 200, then drops the connection and sends the same request again, 3 retries in
total (any non-200 is retried as well).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from defusedxml import ElementTree
from wechatpy.enterprise.crypto import WeChatCrypto

from core.clock import Clock


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


@dataclass(frozen=True)
class Encrypted:
    """One signed, encrypted callback: POST `body` to url?`query`."""

    body: str
    query: dict[str, str]


@dataclass(frozen=True)
class Attempt:
    status: int | None  # None: no answer within the timeout
    body: str
    elapsed: float


@dataclass
class Delivery:
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].status == 200


@dataclass(frozen=True)
class Verification:
    status: int
    body: str
    echostr_plaintext: str


@dataclass(eq=False)
class CallbackSender:
    """Builds, encrypts and POSTs WeCom callbacks; `timeout` and `retries` as WeCom's by default."""

    token: str
    encoding_aes_key: str
    corp_id: str
    agent_id: int
    clock: Clock
    timeout: float = 5.0
    retries: int = 3
    seed: int = 11
    deliveries: list[Delivery] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._crypto = WeChatCrypto(self.token, self.encoding_aes_key, self.corp_id)
        self._random = random.Random(self.seed)
        self._msg_ids = 7_000_000_000_000_000_000

    # --- plaintext XML ---------------------------------------------------------------------

    def text_message(self, from_user: str, content: str) -> str:
        self._msg_ids += 1
        return self._xml(
            from_user,
            "text",
            f"<Content>{cdata(content)}</Content><MsgId>{self._msg_ids}</MsgId>",
        )

    def video_message(self, from_user: str) -> str:
        """A video sent to the app (doc 90239): only a MediaId, which Gongdan does not fetch."""
        self._msg_ids += 1
        extra = (
            f"<MediaId>{cdata('media-video-1')}</MediaId>"
            f"<ThumbMediaId>{cdata('media-thumb-1')}</ThumbMediaId><MsgId>{self._msg_ids}</MsgId>"
        )
        return self._xml(from_user, "video", extra)

    def card_click(
        self,
        from_user: str,
        task_id: str,
        event_key: str,
        response_code: str,
        *,
        card_type: str = "button_interaction",
        selected: dict[str, list[str]] | None = None,
    ) -> str:
        """A template_card_event; `selected` maps QuestionKey → OptionIds (vote/multiple cards)."""
        items = "".join(
            f"<SelectedItem><QuestionKey>{cdata(q)}</QuestionKey><OptionIds>"
            + "".join(f"<OptionId>{cdata(o)}</OptionId>" for o in ids)
            + "</OptionIds></SelectedItem>"
            for q, ids in (selected or {}).items()
        )
        extra = (
            f"<Event>{cdata('template_card_event')}</Event><EventKey>{cdata(event_key)}</EventKey>"
            f"<TaskId>{cdata(task_id)}</TaskId><CardType>{cdata(card_type)}</CardType>"
            f"<ResponseCode>{cdata(response_code)}</ResponseCode>"
        )
        if items:
            extra += f"<SelectedItems>{items}</SelectedItems>"
        return self._xml(from_user, "event", extra)

    def enter_agent(self, from_user: str) -> str:
        extra = f"<Event>{cdata('enter_agent')}</Event><EventKey>{cdata('')}</EventKey>"
        return self._xml(from_user, "event", extra)

    def _xml(self, from_user: str, msg_type: str, extra: str) -> str:
        return (
            f"<xml><ToUserName>{cdata(self.corp_id)}</ToUserName>"
            f"<FromUserName>{cdata(from_user)}</FromUserName>"
            f"<CreateTime>{int(self.clock.now().timestamp())}</CreateTime>"
            f"<MsgType>{cdata(msg_type)}</MsgType>{extra}<AgentID>{self.agent_id}</AgentID></xml>"
        )

    # --- crypto ----------------------------------------------------------------------------

    def encrypt(self, plaintext: str) -> Encrypted:
        nonce = str(self._random.randrange(10**9, 10**10))
        timestamp = str(int(self.clock.now().timestamp()))
        reply = ElementTree.fromstring(self._crypto.encrypt_message(plaintext, nonce, timestamp))
        encrypt, signature = reply.findtext("Encrypt", ""), reply.findtext("MsgSignature", "")
        body = (
            f"<xml><ToUserName>{cdata(self.corp_id)}</ToUserName>"
            f"<Encrypt>{cdata(encrypt)}</Encrypt>"
            f"<AgentID>{cdata(str(self.agent_id))}</AgentID></xml>"
        )
        query = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}
        return Encrypted(body, query)

    # --- the wire --------------------------------------------------------------------------

    async def deliver(self, url: str, plaintext: str) -> Delivery:
        """POST the encrypted callback; retry like WeCom until a 200 or the retries run out."""
        message = self.encrypt(plaintext)
        delivery = Delivery()
        self.deliveries.append(delivery)
        async with aiohttp.ClientSession() as session:
            for _ in range(1 + self.retries):
                attempt = await self._post(session, url, message)
                delivery.attempts.append(attempt)
                if attempt.status == 200:
                    break
        return delivery

    async def _post(self, session: aiohttp.ClientSession, url: str, message: Encrypted) -> Attempt:
        started = time.monotonic()
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        headers = {"Content-Type": "text/xml"}
        try:
            async with session.post(
                url,
                params=message.query,
                data=message.body.encode(),
                headers=headers,
                timeout=timeout,
            ) as response:
                text = await response.text()
                return Attempt(response.status, text, time.monotonic() - started)
        except (TimeoutError, aiohttp.ClientError):
            return Attempt(None, "", time.monotonic() - started)

    async def verify_url(self, url: str, echo: str | None = None) -> Verification:
        """The GET WeCom sends when the callback URL is saved: answer the decrypted echostr."""
        plaintext = echo or str(self._random.randrange(10**18, 10**19))
        message = self.encrypt(plaintext)
        encrypted = ElementTree.fromstring(message.body).findtext("Encrypt", "")
        query = {k: message.query[k] for k in ("msg_signature", "timestamp", "nonce")}
        query["echostr"] = encrypted
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with (
            aiohttp.ClientSession() as session,
            session.get(url, params=query, timeout=timeout) as response,
        ):
            return Verification(response.status, await response.text(), plaintext)


def parse_body(body: str) -> dict[str, Any]:
    """The outer callback XML as a dict of its child elements' text."""
    root = ElementTree.fromstring(body)
    return {child.tag: child.text or "" for child in root}
