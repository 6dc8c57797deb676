"""Delivery to Slack next to the other channels: a hung call stays its own problem, and comments
made before a ticket's card is posted still reach the card's thread."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from tests.e2e.harness import running
from tests.e2e.slack.driver import HELP_DESK, USERS, SlackDriver, slack_config
from tests.fakes.slack import FakeSlack, message_event

SEND_TIMEOUT_S = 1.5


def _fast_outbox(data: dict[str, Any]) -> None:
    data["outbox"] = {"send_timeout_s": SEND_TIMEOUT_S, "base_backoff_s": 0.1}


async def _web_card(ws: aiohttp.ClientWebSocketResponse, within: float) -> dict[str, Any]:
    async def card() -> dict[str, Any]:
        while True:
            frame = await ws.receive_json()
            if frame.get("type") == "card":
                return dict(frame)

    return await asyncio.wait_for(card(), within)


async def _called(fake: FakeSlack, method: str, count: int, within: float) -> None:
    """Until `count` calls to `method` have arrived (answered or not)."""
    async with asyncio.timeout(within):
        while True:
            if len(fake.calls_to(method)) >= count:
                return
            await asyncio.sleep(0.01)


async def test_a_hung_slack_post_does_not_delay_a_web_chat_card_and_is_retried_after_its_timeout(
    sqlite_url: str, fake: FakeSlack
) -> None:
    fake.delay_next("chat.postMessage", 5.0)  # Slack takes the call and does not answer
    async with running(slack_config(sqlite_url, fake, _fast_outbox)) as svc:
        slack = SlackDriver(svc, fake)
        event = message_event(USERS["zhao.li"], HELP_DESK, "VPN 连不上", slack.next_ts())
        assert (await slack.event(event)).status == 200
        await _called(fake, "chat.postMessage", 1, within=3.0)
        hung_at = time.monotonic()

        ws = await svc.http.ws_connect(svc.url + "/webchat/ws")
        await ws.send_json({"type": "hello", "person": "zhao.li", "room": "helpdesk"})
        await ws.send_json(
            {"type": "say", "room": "helpdesk", "text": "打印机卡纸", "client_id": "c1"}
        )
        sent = time.monotonic()
        card = await _web_card(ws, within=SEND_TIMEOUT_S)
        assert card["ticket"] == "IT-1002"
        assert time.monotonic() - sent < 1.0  # not held behind the hung Slack call

        await _called(fake, "chat.postMessage", 2, within=SEND_TIMEOUT_S + 2.5)
        assert time.monotonic() - hung_at >= SEND_TIMEOUT_S  # retried once the timeout hit
        retried = await slack.posted(1)
        assert any("VPN" in str(m.blocks) for m in retried)
        await ws.close()


async def test_comments_made_before_the_slack_card_is_posted_reach_its_thread_in_order_once(
    db_url: str, fake: FakeSlack
) -> None:
    gate = fake.hold("chat.postMessage")  # the card's post is on its way while people comment
    async with running(slack_config(db_url, fake, _fast_outbox)) as svc:
        slack = SlackDriver(svc, fake)
        event = message_event(USERS["zhao.li"], HELP_DESK, "投影仪没信号", slack.next_ts())
        assert (await slack.event(event)).status == 200
        [ticket] = await slack.tickets()
        key = ticket["key"]
        for n in range(20):
            async with svc.http.post(
                svc.url + f"/api/v1/tickets/{key}/comments",
                json={"body": f"comment {n:02d}"},
                headers=svc.auth("li.lei"),
            ) as r:
                assert r.status in (200, 201), await r.text()
        async with svc.http.post(
            svc.url + f"/api/v1/tickets/{key}/comments",
            json={"body": "internal note", "public": False},
            headers=svc.auth("li.lei"),
        ) as r:
            assert r.status in (200, 201), await r.text()
        gate.set()

        messages = await slack.posted(21, within=10.0)
        [card] = [m for m in messages if m.blocks]
        replies = [m for m in fake.messages_in(HELP_DESK) if m is not card]
        assert [m.text.rsplit(": ", 1)[-1] for m in replies] == [
            f"comment {n:02d}" for n in range(20)
        ]
        assert {m.thread_ts for m in replies} == {card.thread_ts or card.ts}
        await slack.settle()
        assert len(fake.calls_to("chat.postMessage")) == 21  # once each, no internal note
