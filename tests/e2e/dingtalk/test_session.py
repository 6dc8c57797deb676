"""A message's sessionWebhook lasts about 90 minutes: an answer that comes later, or that
DingTalk refuses as expired, still reaches the group or the person — from the robot itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.clock import FrozenClock
from tests.e2e.dingtalk.driver import GROUP, STAFF, dingtalk_service
from tests.fakes.dingtalk import FakeDingTalk, Fault, Sent

LATER = timedelta(hours=2)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))


@pytest.fixture
async def fake(clock: FrozenClock) -> AsyncIterator[FakeDingTalk]:
    async with FakeDingTalk(clock=clock) as dingtalk:
        yield dingtalk


def _said(fake: FakeDingTalk, via: str) -> list[Sent]:
    return [s for s in fake.sent if s.via == via]


async def test_an_answer_after_the_session_expired_still_reaches_the_group(
    sqlite_url: str, fake: FakeDingTalk, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with dingtalk_service(sqlite_url, fake, clock=clock) as dt:
        service = dt.svc.services.service
        answer = service.answer

        async def slow_answer(*args: Any, **kwargs: Any) -> Any:
            clock.advance(LATER)  # the answer is ready only after the session ended
            return await answer(*args, **kwargs)

        monkeypatch.setattr(service, "answer", slow_answer)
        _, push = await fake.send_bot_message(
            text="/mine", sender_staff_id=STAFF["zhao.li"], sender_nick="赵丽"
        )
        await fake.stream.wait_ack(push.message_id)
        await dt.until(lambda: bool(_said(fake, "group")))

    [answer_sent] = _said(fake, "group")
    assert answer_sent.target == GROUP and answer_sent.msg_key == "sampleText"
    assert answer_sent.param["content"].startswith("@赵丽 ")
    assert _said(fake, "webhook") == [] and fake.calls_to("/robot/sendBySession") == []


async def test_a_session_dingtalk_refuses_as_expired_is_answered_through_the_robot(
    sqlite_url: str, fake: FakeDingTalk, clock: FrozenClock
) -> None:
    async with dingtalk_service(sqlite_url, fake, clock=clock) as dt:
        fake.fail_next("/robot/sendBySession", Fault.legacy(300001, "session 不存在"))
        _, push = await fake.send_bot_message(
            text="/help", sender_staff_id=STAFF["bob.smith"], sender_nick="Bob"
        )
        await fake.stream.wait_ack(push.message_id)
        await dt.until(lambda: bool(_said(fake, "group")))

    [help_sent] = _said(fake, "group")
    assert help_sent.target == GROUP
    assert help_sent.param["content"].startswith("@Bob ")
    assert "/status" in help_sent.param["content"]
    assert "你" not in help_sent.param["content"]  # Bob reads English
    assert len(fake.calls_to("/robot/sendBySession")) == 1


async def test_a_lost_one_to_one_message_after_the_session_expired_is_told_to_the_person(
    sqlite_url: str, fake: FakeDingTalk, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with dingtalk_service(sqlite_url, fake, clock=clock) as dt:
        service = dt.svc.services.service

        async def failing(*args: Any, **kwargs: Any) -> Any:
            clock.advance(LATER)
            raise OSError("disk I/O error")

        monkeypatch.setattr(service, "submit", failing)
        _, push = await fake.send_bot_message(
            text="VPN 连不上",
            sender_staff_id=STAFF["zhao.li"],
            conversation_type="1",
            conversation_id="cidSingle0002==",
        )
        ack = await fake.stream.wait_ack(push.message_id)
        await dt.until(lambda: bool(_said(fake, "oto")))

    [told] = _said(fake, "oto")
    assert told.target == STAFF["zhao.li"] and "没有记录" in told.param["content"]
    assert ack.code == 500 and _said(fake, "webhook") == []
