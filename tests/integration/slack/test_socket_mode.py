"""slack_bolt's Socket Mode handler connects to the double, runs a listener and acks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack import FakeSlack, envelope, event_callback, message_event


@pytest.fixture(autouse=True)
def quiet_sdk_logs(caplog: pytest.LogCaptureFixture) -> None:
    # the SDK logs reconnects at INFO; keep failures readable
    caplog.set_level(logging.WARNING)


@asynccontextmanager
async def socket_mode(app: AsyncApp, app_token: str) -> AsyncIterator[None]:
    handler = AsyncSocketModeHandler(app, app_token=app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]  # slack_bolt leaves it unannotated
    try:
        yield
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


async def bolt_app(slack: FakeSlack, seen: asyncio.Queue[dict[str, Any]]) -> AsyncApp:
    # no authorize=: bolt asks the double's auth.test who the bot is, as it would ask Slack
    app = AsyncApp(client=AsyncWebClient(token=slack.bot_token, base_url=slack.base_url))

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], say: Any) -> None:
        await seen.put(event)
        await say(text="got it", thread_ts=event["ts"])

    return app


async def test_events_api_envelope_runs_the_listener_and_is_acked(slack: FakeSlack) -> None:
    seen: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    async with socket_mode(await bolt_app(slack, seen), slack.app_token):
        mention = message_event(
            "U1", "C1", "<@U0BOT> printer jammed", "1.000001", type="app_mention"
        )
        env = envelope("events_api", event_callback(mention))

        ack = await slack.push(env)
        event = await asyncio.wait_for(seen.get(), 3)
        await slack.wait_answered("chat.postMessage")

    assert ack["envelope_id"] == env["envelope_id"]
    assert event["text"] == "<@U0BOT> printer jammed"
    assert slack.messages_in("C1")[0].thread_ts == "1.000001"
    assert slack.calls_to("apps.connections.open")[0].token == slack.app_token
    assert len(slack.calls_to("auth.test")) == 1


async def test_client_reconnects_after_a_disconnect_frame(slack: FakeSlack) -> None:
    seen: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    async with socket_mode(await bolt_app(slack, seen), slack.app_token):
        await slack.wait_connected(1)
        await slack.disconnect()
        await slack.wait_connected(2)
        mention = message_event("U1", "C1", "<@U0BOT> again", "2.000001", type="app_mention")
        ack = await slack.push(envelope("events_api", event_callback(mention)))
        event = await asyncio.wait_for(seen.get(), 3)

    assert "envelope_id" in ack
    assert event["ts"] == "2.000001"
    assert len(slack.calls_to("apps.connections.open")) == 2
