"""The DingTalk double speaks the Stream protocol: the SDK's own models parse its frames, and a
plain aiohttp client (and the real SDK client) can register, connect, answer and reconnect."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any

import aiohttp
import dingtalk_stream
import pytest
from dingtalk_stream.frames import CallbackMessage, EventMessage, SystemMessage

from core.clock import FrozenClock
from tests.fakes.dingtalk import FakeDingTalk
from tests.integration.fakes.conftest import (
    BOT_TOPIC,
    ack,
    connect,
    fixture,
    open_ticket,
    receive,
)

JSON = dict[str, Any]


def shape(value: Any) -> Any:
    """Keys (recursively) and JSON types, so a vendor sample and our frame can be compared."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return type(value).__name__


async def test_open_connection_returns_a_ws_endpoint_and_a_ticket_shaped_like_the_vendor_sample(
    http: aiohttp.ClientSession, dt: FakeDingTalk
) -> None:
    sample = fixture("stream_open_connection.json")
    answer = await open_ticket(http, dt, sample["request"]["subscriptions"])

    assert shape(answer) == shape(sample["response"])
    assert answer["endpoint"] == f"{dt.ws_base}/connect"


async def test_wrong_client_secret_cannot_open_a_connection(
    http: aiohttp.ClientSession, dt: FakeDingTalk
) -> None:
    body = {"clientId": dt.app_key, "clientSecret": "nope", "subscriptions": []}
    async with http.post(f"{dt.base_url}/v1.0/gateway/connections/open", json=body) as resp:
        assert resp.status == 400
        assert (await resp.json())["code"] == "invalidClientIdOrSecret"


async def test_a_ticket_opens_one_connection_only(
    http: aiohttp.ClientSession, dt: FakeDingTalk
) -> None:
    conn = await open_ticket(http, dt)
    url = f"{conn['endpoint']}?ticket={conn['ticket']}"
    first = await http.ws_connect(url)

    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(url)

    assert refused.value.status == 401
    assert dt.stream.refused == [(conn["ticket"], "ticket already used")]
    await first.close()


async def test_a_ticket_older_than_90_seconds_is_refused(
    http: aiohttp.ClientSession, dt: FakeDingTalk, clock: FrozenClock
) -> None:
    conn = await open_ticket(http, dt)
    clock.advance(timedelta(seconds=91))

    with pytest.raises(aiohttp.WSServerHandshakeError):
        await http.ws_connect(f"{conn['endpoint']}?ticket={conn['ticket']}")

    assert dt.stream.refused[0][1] == "ticket expired"


async def test_ping_wants_a_pong_echoing_its_opaque(
    http: aiohttp.ClientSession, dt: FakeDingTalk
) -> None:
    ws = await connect(http, dt)
    await dt.wait_connected()
    pinging = asyncio.create_task(dt.ping())
    ping = await receive(ws)
    await ws.send_json(ack(ping, json.loads(ping["data"])))
    pong = await pinging

    assert shape(ping) == shape(fixture("system_ping.json"))
    assert SystemMessage.from_dict(ping).headers.topic == "ping"
    assert pong.message_id == ping["headers"]["messageId"]
    assert dt.stream.protocol_errors == []

    second = asyncio.create_task(dt.ping())
    await ws.send_json(ack(await receive(ws), {"opaque": "something else"}))
    await second
    assert len(dt.stream.protocol_errors) == 1
    assert "does not echo the opaque" in dt.stream.protocol_errors[0]


@pytest.mark.parametrize(
    ("kwargs", "sample"),
    [
        ({"text": "@工单 打印机坏了"}, "chatbot_message_group_text"),
        ({"text": "打印机坏了", "conversation_type": "1"}, "chatbot_message_1to1_text.json"),
        (
            {"msgtype": "picture", "content": {"downloadCode": "dc1"}},
            "chatbot_message_group_picture.json",
        ),
        (
            {"msgtype": "file", "content": {"downloadCode": "dc2", "fileName": "报修单.pdf"}},
            "chatbot_message_group_file.json",
        ),
        (
            {
                "msgtype": "richText",
                "content": {
                    "richText": [{"text": "卡纸"}, {"type": "picture", "downloadCode": "dc3"}]
                },
            },
            "chatbot_message_group_richtext.json",
        ),
    ],
)
async def test_robot_messages_parse_with_the_sdk_and_match_the_vendor_samples(
    http: aiohttp.ClientSession, dt: FakeDingTalk, kwargs: JSON, sample: str
) -> None:
    ws = await connect(http, dt)
    payload, _ = await dt.send_bot_message(**kwargs)
    frame = await receive(ws)

    if sample == "chatbot_message_group_text":
        vendor_frame = fixture("callback_bot_message_group_text.json")
        assert shape(frame) == shape(vendor_frame) | {"headers": shape(frame["headers"])}
        assert set(frame["headers"]) == set(vendor_frame["headers"]) | {"connectionId"}
        vendor = json.loads(vendor_frame["data"])
    else:
        vendor = fixture(sample)
    callback = CallbackMessage.from_dict(frame)
    message = dingtalk_stream.ChatbotMessage.from_dict(callback.data)
    assert callback.headers.topic == BOT_TOPIC
    assert shape(callback.data) == shape(vendor) | _ids_only_in(callback.data, vendor)
    assert message.message_id == payload["msgId"]
    assert message.sender_staff_id == "manager4220"
    if message.message_type == "text":
        assert message.text.content == kwargs["text"]
    if message.message_type in ("picture", "richText"):
        assert message.get_image_list()[-1].startswith("dc")


def _ids_only_in(ours: JSON, vendor: JSON) -> JSON:
    # atUsers carries staffId only for users other than the robot; the vendor sample @s the bot only
    return {"atUsers": shape(ours["atUsers"])} if "atUsers" in ours and "atUsers" in vendor else {}


async def test_robot_message_is_never_redelivered_even_unacked(
    http: aiohttp.ClientSession, dt: FakeDingTalk, clock: FrozenClock
) -> None:
    ws = await connect(http, dt)
    await dt.send_bot_message(text="hello")
    await receive(ws)
    clock.advance(timedelta(minutes=10))

    assert await dt.redeliver_due() == 0
    with pytest.raises(asyncio.TimeoutError):
        await ws.receive(timeout=0.05)


async def test_robot_message_sent_while_nobody_is_connected_is_lost(dt: FakeDingTalk) -> None:
    _, push = await dt.send_bot_message(text="into the void")

    assert dt.stream.lost == [push]


async def test_event_is_redelivered_until_acked_success(
    http: aiohttp.ClientSession, dt: FakeDingTalk, clock: FrozenClock
) -> None:
    ws = await connect(http, dt)
    await dt.wait_connected()
    push = await dt.push_event("user_add_org", {"timeStamp": "1", "userId": ["u1"]})
    first = await receive(ws)
    clock.advance(dt.ack_timeout)
    await dt.redeliver_due()
    again = await receive(ws)
    await ws.send_json(ack(again, {"status": "SUCCESS", "message": "success"}))
    await dt.stream.wait_ack(push.message_id)
    clock.advance(dt.ack_timeout * 3)

    assert shape(first) == shape(fixture("event_user_add_org.json")) | {
        "headers": shape(first["headers"])
    }
    assert set(first["headers"]) >= set(fixture("event_user_add_org.json")["headers"])
    event = EventMessage.from_dict(again)
    assert event.headers.event_type == "user_add_org"
    assert again["headers"]["messageId"] == first["headers"]["messageId"]
    assert again["headers"]["eventId"] == first["headers"]["eventId"]
    assert await dt.redeliver_due() == 0
    assert push.settled and len(push.deliveries) == 2


async def test_event_acked_later_comes_back_after_the_later_delay(
    http: aiohttp.ClientSession, dt: FakeDingTalk, clock: FrozenClock
) -> None:
    ws = await connect(http, dt)
    await dt.wait_connected()
    push = await dt.push_event("chat_update_title", {"chatId": "c1"})
    await ws.send_json(ack(await receive(ws), {"status": "LATER"}))
    await dt.stream.wait_ack(push.message_id)

    clock.advance(dt.ack_timeout)
    assert await dt.redeliver_due() == 0
    clock.advance(dt.later_delay)
    assert await dt.redeliver_due() == 1
    assert (await receive(ws))["headers"]["messageId"] == push.message_id


async def test_an_event_ack_echoing_the_data_like_the_sdk_is_flagged_and_redelivered(
    http: aiohttp.ClientSession, dt: FakeDingTalk, clock: FrozenClock
) -> None:
    ws = await connect(http, dt)
    await dt.wait_connected()
    push = await dt.push_event("user_add_org", {"userId": ["u1"]})
    frame = await receive(ws)
    await ws.send_json(ack(frame, json.loads(frame["data"])))
    await dt.stream.wait_ack(push.message_id)
    clock.advance(dt.ack_timeout)

    assert "lacks data.status" in dt.stream.protocol_errors[0]
    assert await dt.redeliver_due() == 1


async def test_an_ack_for_a_frame_never_sent_is_kept_as_stray(
    http: aiohttp.ClientSession, dt: FakeDingTalk
) -> None:
    ws = await connect(http, dt)
    await dt.wait_connected()
    await ws.send_json(ack({"headers": {"messageId": "made-up"}}, {"response": None}))
    pinging = asyncio.create_task(dt.ping())  # the pong comes after the stray ack
    ping = await receive(ws)
    await ws.send_json(ack(ping, json.loads(ping["data"])))
    await pinging

    assert [a["headers"]["messageId"] for a in dt.stream.stray_acks] == ["made-up"]


async def test_disconnect_closes_the_socket_and_the_client_comes_back_with_a_new_ticket(
    http: aiohttp.ClientSession, dt: FakeDingTalk
) -> None:
    ws = await connect(http, dt)
    await dt.wait_connected()
    await dt.disconnect()
    notice = await receive(ws)
    closed = await ws.receive(timeout=1)
    again = await connect(http, dt)
    await dt.wait_connected(2)
    await dt.send_bot_message(text="after reconnect")

    assert shape(notice) == shape(fixture("system_disconnect.json"))
    assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert json.loads((await receive(again))["data"])["text"]["content"] == "after reconnect"
    tickets = [c.query["ticket"] for c in dt.calls_to("/connect")]
    assert len(set(tickets)) == 2


async def test_a_dropped_socket_loses_unacked_events_to_the_next_connection(
    http: aiohttp.ClientSession, dt: FakeDingTalk, clock: FrozenClock
) -> None:
    ws = await connect(http, dt)
    await dt.wait_connected()
    push = await dt.push_event("user_add_org", {"userId": ["u1"]})
    await receive(ws)
    await dt.drop()
    cut = await ws.receive(timeout=1)
    again = await connect(http, dt)
    await dt.wait_connected(2)
    clock.advance(dt.ack_timeout)
    await dt.redeliver_due()

    assert cut.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    assert (await receive(again))["headers"]["messageId"] == push.message_id


async def test_the_redelivery_ticker_follows_the_injected_clock(
    http: aiohttp.ClientSession, clock: FrozenClock
) -> None:
    async with FakeDingTalk(clock=clock) as dt:
        ws = await connect(http, dt)
        await dt.wait_connected()
        await dt.push_event("user_add_org", {"userId": ["u1"]})
        first = await receive(ws)
        clock.advance(dt.ack_timeout)
        again = await receive(ws)

    assert again["headers"]["messageId"] == first["headers"]["messageId"]


async def test_the_sdk_stream_client_connects_receives_a_robot_message_and_answers_ping(
    dt: FakeDingTalk, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    seen: asyncio.Queue[dingtalk_stream.ChatbotMessage] = asyncio.Queue()

    class Bot(dingtalk_stream.ChatbotHandler):  # type: ignore[misc]  # the SDK is untyped
        async def process(self, callback: CallbackMessage) -> tuple[int, str]:
            await seen.put(dingtalk_stream.ChatbotMessage.from_dict(callback.data))
            return dingtalk_stream.AckMessage.STATUS_OK, "OK"

    open_api = f"{dt.base_url}/v1.0/gateway/connections/open"
    monkeypatch.setattr(dingtalk_stream.DingTalkStreamClient, "OPEN_CONNECTION_API", open_api)
    client = dingtalk_stream.DingTalkStreamClient(
        dingtalk_stream.Credential(dt.app_key, dt.app_secret)
    )
    client.register_callback_handler(BOT_TOPIC, Bot())
    running = asyncio.create_task(client.start())
    try:
        await dt.wait_connected()
        _, push = await dt.send_bot_message(text="来自 SDK")
        message = await asyncio.wait_for(seen.get(), 3)
        await dt.stream.wait_ack(push.message_id)
        pong = await dt.ping()
    finally:
        await client.stop()
        await asyncio.wait_for(running, 3)

    assert message.text.content == "来自 SDK"
    assert pong.code == 200
    assert dt.stream.protocol_errors == []
