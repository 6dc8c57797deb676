"""Stream mode: nothing lost across a disconnect or a dropped socket, a repeated frame has one
effect, a failed commit is told to the sender, and no handler blocks the event loop."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import pytest

from tests.e2e.dingtalk.driver import GROUP, STAFF, dingtalk_service
from tests.fakes.dingtalk import FakeDingTalk
from tests.fakes.dingtalk.payloads import TOPIC_BOT_MESSAGE


async def test_disconnect_opens_the_next_connection_before_the_old_one_closes(
    sqlite_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(sqlite_url, fake) as dt:
        [old] = list(fake.stream.live)
        await fake.disconnect()
        await fake.wait_connected(2)
        still_open = old in fake.stream.live  # the server closes it 10 s later
        await fake.send_bot_message(text="键盘失灵", sender_staff_id=STAFF["zhao.li"])
        await dt.until(lambda: len(fake.cards) == 1)
        tickets = await dt.tickets()

    assert still_open and fake.stream.lost == []
    assert [t["title"] for t in tickets] == ["键盘失灵"]


async def test_dropped_socket_reconnects_and_pending_events_are_acked(
    sqlite_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(sqlite_url, fake) as dt:
        await fake.drop()
        event = await fake.push_event("user_add_org", {"userId": ["staff0009"]})
        await fake.wait_connected(2, within=5)
        await dt.until(lambda: event.settled)
        await fake.send_bot_message(text="显示器闪烁", sender_staff_id=STAFF["zhao.li"])
        await dt.until(lambda: len(fake.cards) == 1)

    assert event.acks[-1].data == {"status": "SUCCESS"}
    assert fake.stream.protocol_errors == []


async def test_a_repeated_robot_message_opens_one_ticket(db_url: str, fake: FakeDingTalk) -> None:
    async with dingtalk_service(db_url, fake) as dt:
        payload, first = await fake.send_bot_message(
            text="打印机卡纸", sender_staff_id=STAFF["zhao.li"]
        )
        again = await fake.stream.push("CALLBACK", TOPIC_BOT_MESSAGE, payload, {})
        await fake.stream.wait_ack(first.message_id)
        await fake.stream.wait_ack(again.message_id)
        await dt.until(lambda: len(fake.cards) == 1)
        await dt.settle()
        tickets = await dt.tickets()

    assert len(tickets) == 1
    assert len(fake.calls_to("/v1.0/card/instances/createAndDeliver")) == 1


async def test_a_message_whose_commit_fails_is_answered_in_the_chat(
    sqlite_url: str, fake: FakeDingTalk, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with dingtalk_service(sqlite_url, fake) as dt:
        service = dt.svc.services.service

        async def failing(*args: Any, **kwargs: Any) -> Any:
            raise OSError("disk I/O error")

        monkeypatch.setattr(service, "submit", failing)
        _, push = await fake.send_bot_message(text="服务器宕机", sender_staff_id=STAFF["zhao.li"])
        ack = await fake.stream.wait_ack(push.message_id)
        await dt.until(lambda: any(s.via == "webhook" for s in fake.sent))

    [reply] = [s for s in fake.sent if s.via == "webhook"]
    assert reply.target == GROUP and "没有记录" in reply.param["text"]["content"]
    assert reply.param["at"] == {"atUserIds": [STAFF["zhao.li"]]}
    assert ack.code == 500


async def test_no_dingtalk_handler_blocks_the_event_loop_for_50_ms(
    sqlite_url: str, fake: FakeDingTalk, caplog: pytest.LogCaptureFixture
) -> None:
    loop = asyncio.get_running_loop()
    caplog.set_level(logging.WARNING, logger="asyncio")
    async with dingtalk_service(sqlite_url, fake) as dt:
        loop.set_debug(True)
        loop.slow_callback_duration = 0.05
        gc.collect()
        gc.disable()  # a collector pause would be counted against whichever step it fell in
        try:
            for n in range(20):  # 20 groups: one sender's quick messages in one are follow-ups
                await fake.send_bot_message(
                    text=f"故障 {n}",
                    sender_staff_id=STAFF["zhao.li"],
                    conversation_id=f"cidLoad{n:04d}==",
                )
            await dt.until(lambda: len(fake.cards) == 20, within=15)
            [card, *_] = fake.cards.values()
            await dt.card_known(card.spaces[0][1], card.out_track_id)
            await fake.click_card(
                card.out_track_id,
                STAFF["li.lei"],
                {"action": "accept", "ticket": card.params["key"]},
            )
            await fake.ping()
            await dt.settle()
        finally:
            gc.enable()
            loop.set_debug(False)

    slow = [
        r.getMessage() for r in caplog.records if r.name == "asyncio" and "took" in r.getMessage()
    ]
    assert [m for m in slow if "adapters/dingtalk" in m] == []
