"""Urgent escalations at night also DING the recipient; a refused DING never stops the 1:1."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.contract import Channel
from core.card import Card, CardKind, Colour
from core.clock import FrozenClock
from core.i18n import Locale
from core.ticket import ChannelRef, Status
from tests.e2e.dingtalk.driver import STAFF, dingtalk_service
from tests.fakes.dingtalk import FakeDingTalk

NIGHT = datetime(2026, 1, 5, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
DAY = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai


def escalation(locale: Locale) -> Card:
    return Card(
        ticket_key="IT-1001",
        version=2,
        title="机房断电",
        status=Status.ASSIGNED,
        status_label="已指派",
        colour=Colour.RED,
        fields=(),
        actions=(),
        locale=locale,
        body="超时 30 分钟",
        kind=CardKind.ESCALATION,
    )


def lead(_channel: Channel | None) -> ChannelRef:
    return ChannelRef("dingtalk", STAFF["li.lei"])


async def test_urgent_escalation_at_night_sends_ding_and_the_1to1_card(
    sqlite_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(
        sqlite_url, fake, clock=FrozenClock(NIGHT), ding={"enabled": True}
    ) as dt:
        channel = dt.svc.services.channels["dingtalk"]
        await channel.post_card(lead(channel), escalation)

    [ding] = fake.dings
    assert ding["receiverUserIdList"] == [STAFF["li.lei"]] and ding["remindType"] == 1
    assert "IT-1001" in ding["content"]
    [card] = fake.cards.values()
    assert card.spaces == [("IM_ROBOT", STAFF["li.lei"])]


async def test_escalation_by_day_or_with_ding_off_sends_no_ding(
    sqlite_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(
        sqlite_url, fake, clock=FrozenClock(DAY), ding={"enabled": True}
    ) as dt:
        await dt.svc.services.channels["dingtalk"].post_card(lead(None), escalation)
    async with dingtalk_service(sqlite_url, fake, clock=FrozenClock(NIGHT)) as dt:
        await dt.svc.services.channels["dingtalk"].post_card(lead(None), escalation)

    assert fake.dings == []
    assert len(fake.calls_to("/v1.0/card/instances/createAndDeliver")) == 2


async def test_ding_without_quota_is_reported_once_and_the_1to1_still_goes_out(
    sqlite_url: str, fake: FakeDingTalk, caplog: pytest.LogCaptureFixture
) -> None:
    async with dingtalk_service(
        sqlite_url,
        fake,
        clock=FrozenClock(NIGHT),
        ding={"enabled": True, "remind_type": "sms"},
        card_template_id=None,
    ) as dt:
        channel = dt.svc.services.channels["dingtalk"]
        await channel.post_card(lead(channel), escalation)
        await channel.post_card(lead(channel), escalation)

    assert fake.dings == [] and len(fake.calls_to("/v1.0/robot/ding/send")) == 2
    assert [s.target for s in fake.sent if s.via == "oto"] == [STAFF["li.lei"]] * 2
    refused = [r for r in caplog.records if "DING refused" in r.getMessage()]
    assert len(refused) == 1
