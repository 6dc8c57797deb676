"""The DingTalk double's HTTP-mode sender POSTs a robot message the way DingTalk's robot
documentation describes: JSON body, headers `timestamp` (ms) and `sign` =
base64(HmacSHA256(appSecret, timestamp + "\\n" + appSecret))."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from core.clock import FrozenClock
from tests.fakes.dingtalk import FakeDingTalk

Received = list[tuple[dict[str, str], bytes]]


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, Received]]:
    got: Received = []

    async def take(request: web.Request) -> web.Response:
        got.append((dict(request.headers), await request.read()))
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/in", take)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/in", got
    await runner.cleanup()


async def test_a_posted_robot_message_is_signed_with_the_app_secret_at_the_doubles_time(
    dt: FakeDingTalk, clock: FrozenClock, receiver: tuple[str, Received]
) -> None:
    url, got = receiver
    payload, answer = await dt.post_bot_message(url, text="你好", sender_staff_id="staff0002")

    [(headers, body)] = got
    stamp = headers["timestamp"]
    mac = hmac.new(dt.app_secret.encode(), f"{stamp}\n{dt.app_secret}".encode(), hashlib.sha256)
    assert int(stamp) == int(clock.now().timestamp() * 1000)
    assert headers["sign"] == base64.b64encode(mac.digest()).decode()
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == payload and payload["text"] == {"content": "你好"}
    assert answer.status == 200 and dt.outgoing.deliveries == [answer]


async def test_headers_can_be_forged_or_stale_and_any_body_sent(
    dt: FakeDingTalk, receiver: tuple[str, Received]
) -> None:
    url, got = receiver
    stale = dt.outgoing.headers(timestamp="1000", secret="wrong")
    await dt.outgoing.post(url, body=b"{not json", headers=stale)

    [(headers, body)] = got
    assert headers["timestamp"] == "1000" and body == b"{not json"
    mac = hmac.new(b"wrong", b"1000\nwrong", hashlib.sha256)
    assert headers["sign"] == base64.b64encode(mac.digest()).decode()
