"""HTTP mode's sender: DingTalk POSTing a robot message to the app's message receiving address.

Headers `timestamp` (ms, on the double's clock) and `sign` = base64(HmacSHA256(key=appSecret,
f"{timestamp}\\n{appSecret}")); the body is the robot message JSON, the same as a Stream
callback's data. A test can sign with another secret, send a stale or missing header, or send
any body. DingTalk never sends a robot message again, whatever the answer: `deliveries` keeps
each answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp

from tests.fakes.dingtalk.payloads import CONTENT_TYPE, JSON, dumps

if TYPE_CHECKING:
    from tests.fakes.dingtalk.fake import FakeDingTalk


def outgoing_sign(secret: str, timestamp: str) -> str:
    """The signature DingTalk puts in the `sign` header for `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


@dataclass(frozen=True)
class Delivery:
    """What the app answered one POST."""

    status: int
    text: str
    headers: dict[str, str]


class OutgoingRobot:
    def __init__(self, fake: FakeDingTalk) -> None:
        self.fake = fake
        self.deliveries: list[Delivery] = []

    def headers(self, *, timestamp: str | None = None, secret: str | None = None) -> dict[str, str]:
        """Signed headers for now (or `timestamp`), with the app secret (or `secret`)."""
        stamp = timestamp if timestamp is not None else str(self.fake.now_ms())
        key = secret if secret is not None else self.fake.app_secret
        sign = outgoing_sign(key, stamp)
        return {"Content-Type": f"{CONTENT_TYPE}; charset=utf-8", "timestamp": stamp, "sign": sign}

    async def post(
        self,
        url: str,
        payload: JSON | None = None,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Delivery:
        """POST `payload` (or raw `body`) with `headers` (default: signed now)."""
        data = body if body is not None else dumps(payload).encode()
        sent = self.headers() if headers is None else headers
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=data, headers=sent) as r,
        ):
            delivery = Delivery(r.status, await r.text(), dict(r.headers))
        self.deliveries.append(delivery)
        return delivery
