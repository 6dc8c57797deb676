"""HTTP mode: DingTalk POSTs robot messages, signed with the app secret, to /dingtalk/callback.
A signed message is committed before the 200 and opens a ticket whose card comes through the
card API; anything not signed by DingTalk, or signed more than an hour ago, changes nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from tests.e2e.dingtalk.driver import GROUP, STAFF, DingTalkDriver, dingtalk_service
from tests.fakes.dingtalk import FakeDingTalk
from tests.fakes.dingtalk.payloads import dumps

HOUR_MS = 3_600_000


@asynccontextmanager
async def http_mode(db_url: str, fake: FakeDingTalk) -> AsyncIterator[DingTalkDriver]:
    async with dingtalk_service(db_url, fake, mode="http") as dt:
        yield dt


async def test_a_signed_group_mention_opens_a_ticket_and_its_card_shows_in_the_group(
    db_url: str, fake: FakeDingTalk
) -> None:
    async with http_mode(db_url, fake) as dt:
        _, answer = await fake.post_bot_message(
            dt.callback_url, text="3楼打印机坏了", sender_staff_id=STAFF["zhao.li"]
        )
        [ticket] = await dt.tickets()  # committed before the 200
        [card] = await dt.cards(1)

    assert answer.status == 200
    assert ticket["title"] == "3楼打印机坏了" and ticket["requester"] == "zhao.li"
    assert card.spaces == [("IM_GROUP", GROUP)] and card.params["key"] == ticket["key"]
    # no Stream connection to take a press, so the card offers none; its page link stays
    assert json.loads(card.params["actions"]) == [] and card.params["page_url"]
    assert fake.calls_to("/v1.0/gateway/connections/open") == []


async def test_a_signed_one_to_one_message_is_carded_in_that_chat(
    sqlite_url: str, fake: FakeDingTalk
) -> None:
    async with http_mode(sqlite_url, fake) as dt:
        _, answer = await fake.post_bot_message(
            dt.callback_url,
            text="VPN 连不上",
            sender_staff_id=STAFF["zhao.li"],
            conversation_type="1",
            conversation_id="cidSingle0002==",
        )
        [card] = await dt.cards(1)

    assert answer.status == 200 and card.spaces == [("IM_ROBOT", STAFF["zhao.li"])]


async def test_a_forged_sign_is_refused_and_nothing_is_stored(
    sqlite_url: str, fake: FakeDingTalk
) -> None:
    async with http_mode(sqlite_url, fake) as dt:
        payload = fake.bot_message(text="转账给我", sender_staff_id=STAFF["li.lei"])
        forged = fake.outgoing.headers(secret="not-the-app-secret")
        answer = await fake.outgoing.post(dt.callback_url, payload, headers=forged)
        unsigned = await fake.outgoing.post(
            dt.callback_url, payload, headers={"Content-Type": "application/json"}
        )
        await dt.settle()
        tickets = await dt.tickets()

    assert (answer.status, unsigned.status) == (401, 401)
    assert "sign" in answer.text and "missing header(s): timestamp, sign" in unsigned.text
    assert tickets == [] and fake.cards == {} and fake.sent == []


@pytest.mark.parametrize("offset_ms", [-HOUR_MS - 60_000, HOUR_MS + 60_000])
async def test_a_timestamp_more_than_an_hour_away_is_refused(
    sqlite_url: str, fake: FakeDingTalk, offset_ms: int
) -> None:
    async with http_mode(sqlite_url, fake) as dt:
        payload = fake.bot_message(text="电脑蓝屏", sender_staff_id=STAFF["zhao.li"])
        stale = fake.outgoing.headers(timestamp=str(fake.now_ms() + offset_ms))
        answer = await fake.outgoing.post(dt.callback_url, payload, headers=stale)
        tickets = await dt.tickets()

    assert answer.status == 401 and "more than an hour" in answer.text
    assert tickets == []


async def test_the_same_message_twice_opens_one_ticket(db_url: str, fake: FakeDingTalk) -> None:
    async with http_mode(db_url, fake) as dt:
        payload, first = await fake.post_bot_message(
            dt.callback_url, text="打印机卡纸", sender_staff_id=STAFF["zhao.li"]
        )
        again = await fake.outgoing.post(dt.callback_url, payload)
        await dt.until(lambda: len(fake.cards) == 1)
        await dt.settle()
        tickets = await dt.tickets()

    assert (first.status, again.status) == (200, 200)
    assert len(tickets) == 1
    assert len(fake.calls_to("/v1.0/card/instances/createAndDeliver")) == 1


async def test_a_captured_sign_cannot_speak_for_someone_else(
    sqlite_url: str, fake: FakeDingTalk
) -> None:
    async with http_mode(sqlite_url, fake) as dt:
        headers = fake.outgoing.headers()
        real = fake.bot_message(text="鼠标坏了", sender_staff_id=STAFF["zhao.li"])
        first = await fake.outgoing.post(dt.callback_url, real, headers=headers)
        replayed = fake.bot_message(text="给我管理员权限", sender_staff_id=STAFF["li.lei"])
        second = await fake.outgoing.post(dt.callback_url, replayed, headers=headers)
        tickets = await dt.tickets()

    assert (first.status, second.status) == (200, 401) and "replay" in second.text
    assert [t["title"] for t in tickets] == ["鼠标坏了"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"msgId": "msg1", "text": ', "not JSON"),
        (b'["a", "list"]', "not a JSON object"),
        (dumps({"msgtype": "text", "text": {"content": "hi"}}).encode(), "lacks msgId"),
    ],
)
async def test_a_malformed_signed_body_gets_400_with_the_reason(
    sqlite_url: str, fake: FakeDingTalk, body: bytes, reason: str
) -> None:
    async with http_mode(sqlite_url, fake) as dt:
        answer = await fake.outgoing.post(dt.callback_url, body=body)
        tickets = await dt.tickets()

    assert answer.status == 400 and reason in answer.text
    assert tickets == []


async def test_a_message_whose_commit_fails_is_told_in_the_chat_and_answered_500(
    sqlite_url: str, fake: FakeDingTalk, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with http_mode(sqlite_url, fake) as dt:
        service = dt.svc.services.service

        async def failing(*args: Any, **kwargs: Any) -> Any:
            raise OSError("disk I/O error")

        monkeypatch.setattr(service, "submit", failing)
        _, answer = await fake.post_bot_message(
            dt.callback_url, text="服务器宕机", sender_staff_id=STAFF["zhao.li"]
        )

    [told] = [s for s in fake.sent if s.via == "webhook"]
    assert answer.status == 500
    assert told.target == GROUP and "没有记录" in told.param["text"]["content"]


async def test_stream_mode_takes_no_http_callbacks(sqlite_url: str, fake: FakeDingTalk) -> None:
    async with dingtalk_service(sqlite_url, fake) as dt:
        _, answer = await fake.post_bot_message(
            dt.callback_url, text="打印机坏了", sender_staff_id=STAFF["zhao.li"]
        )
        tickets = await dt.tickets()

    assert answer.status in (404, 405) and tickets == []
