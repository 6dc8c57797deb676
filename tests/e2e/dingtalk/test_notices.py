"""Reminders and escalations reach people 1:1 as cards — every one of them, even when the same
person hears about the same ticket again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.clock import FrozenClock
from tests.e2e.dingtalk.driver import STAFF, DingTalkDriver, dingtalk_config
from tests.e2e.harness import running
from tests.fakes.dingtalk import FakeDingTalk

OPENED = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(OPENED)


@pytest.fixture
async def fake(clock: FrozenClock) -> AsyncIterator[FakeDingTalk]:
    async with FakeDingTalk(clock=clock) as dingtalk:
        yield dingtalk


def _escalating(data: dict[str, Any]) -> None:
    data["teams"][0]["members"] = ["han.meimei"]
    data["sla_policies"] = [
        {
            "id": "it-4h",
            "applies_to": {"types": ["it"]},
            "first_response": {"within": "4h", "business_time": False},
            "escalation": "it-chain",
        }
    ]
    data["escalation_chains"] = [
        {
            "id": "it-chain",
            "steps": [
                {
                    "at": "0",
                    "relative_to": "first_response",
                    "notify": "team_lead",
                    "repeat_every": "30m",
                }
            ],
        }
    ]


async def test_a_repeated_escalation_reaches_the_lead_again_as_a_new_card(
    sqlite_url: str, fake: FakeDingTalk, clock: FrozenClock
) -> None:
    config = dingtalk_config(sqlite_url, fake, edit=_escalating)
    async with running(config, clock=clock) as svc:
        await fake.wait_connected()
        dt = DingTalkDriver(svc, fake)
        scheduler = svc.services.scheduler
        assert scheduler is not None
        await fake.send_bot_message(text="VPN 连不上", sender_staff_id=STAFF["zhao.li"])
        await dt.cards(1)

        lead = ("IM_ROBOT", STAFF["li.lei"])
        clock.advance(timedelta(hours=4))
        await scheduler.tick()
        await dt.until(lambda: any(lead in c.spaces for c in fake.cards.values()))
        clock.advance(timedelta(minutes=30))
        await scheduler.tick()
        await dt.until(lambda: len([c for c in fake.cards.values() if lead in c.spaces]) == 2)

    first, again = [c for c in fake.cards.values() if lead in c.spaces]
    assert first.params["kind"] == again.params["kind"] == "escalation"
    assert (
        "此前已通知" in again.params["fields"] and again.params["fields"] != first.params["fields"]
    )
