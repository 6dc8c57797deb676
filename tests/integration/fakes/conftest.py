from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import aiohttp
import pytest

from core.clock import FrozenClock
from tests.fakes.dingtalk import FakeDingTalk

JSON = dict[str, Any]
FIXTURES = Path(__file__).parents[2] / "fixtures" / "dingtalk"
BOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"
ALL_TOPICS = [
    {"type": "EVENT", "topic": "*"},
    {"type": "CALLBACK", "topic": BOT_TOPIC},
    {"type": "CALLBACK", "topic": CARD_TOPIC},
]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def dt(clock: FrozenClock) -> AsyncIterator[FakeDingTalk]:
    # redelivery is driven by explicit redeliver_due() calls on the frozen clock
    async with FakeDingTalk(clock=clock, disconnect_grace=0.05, auto_redeliver=False) as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def token(http: aiohttp.ClientSession, dt: FakeDingTalk) -> str:
    body = {"appKey": dt.app_key, "appSecret": dt.app_secret}
    async with http.post(f"{dt.base_url}/v1.0/oauth2/accessToken", json=body) as resp:
        return str((await resp.json())["accessToken"])


async def open_ticket(
    http: aiohttp.ClientSession, dt: FakeDingTalk, subscriptions: list[JSON] | None = None
) -> JSON:
    body = {
        "clientId": dt.app_key,
        "clientSecret": dt.app_secret,
        "subscriptions": subscriptions or ALL_TOPICS,
        "ua": "gongdan-test/0.1",
        "localIp": "127.0.0.1",
    }
    async with http.post(f"{dt.base_url}/v1.0/gateway/connections/open", json=body) as resp:
        assert resp.status == 200, await resp.text()
        answer: JSON = await resp.json()
        return answer


async def connect(
    http: aiohttp.ClientSession, dt: FakeDingTalk, subscriptions: list[JSON] | None = None
) -> aiohttp.ClientWebSocketResponse:
    """What a Stream client does: register, then open the socket with the one-time ticket."""
    conn = await open_ticket(http, dt, subscriptions)
    return await http.ws_connect(f"{conn['endpoint']}?ticket={quote_plus(conn['ticket'])}")


async def receive(ws: aiohttp.ClientWebSocketResponse, within: float = 1.0) -> JSON:
    msg = await ws.receive(timeout=within)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    frame: JSON = json.loads(msg.data)
    return frame


def ack(frame: JSON, data: Any, code: int = 200) -> JSON:
    """The protocol's answer: same messageId, data as a JSON string."""
    headers = {"contentType": "application/json", "messageId": frame["headers"]["messageId"]}
    return {"code": code, "headers": headers, "message": "OK", "data": json.dumps(data)}
