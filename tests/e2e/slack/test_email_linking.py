"""A configured agent known only by e-mail is found on Slack at start and gets reminders there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.slack.channel import SlackChannel
from core.clock import FrozenClock
from tests.e2e.harness import running
from tests.e2e.slack.driver import HAN_EMAIL, USERS, SlackDriver, card_text, slack_config
from tests.fakes.slack import FakeSlack

# Monday 2026-01-05 09:00 in Shanghai
OPENED = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def reminders(data: dict[str, Any]) -> None:
    """han.meimei gets the first ticket (round robin) and a reminder 10 min before its SLA."""
    team = data["teams"][0]
    team["members"] = ["han.meimei", "li.lei", "bob.smith"]
    team["assignment"] = {"strategy": "round_robin"}
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
            "steps": [{"at": "-10m", "relative_to": "first_response", "notify": "assignee"}],
        }
    ]


async def test_agent_with_only_an_email_is_linked_at_start_and_reminded_by_slack_dm(
    db_url: str, fake: FakeSlack
) -> None:
    fake.add_user("U0HAN", "Meimei", email=HAN_EMAIL)
    clock = FrozenClock(OPENED)
    async with running(slack_config(db_url, fake, edit=reminders), clock) as svc:
        slack = SlackDriver(svc, fake)
        channel = svc.services.channels["slack"]
        assert isinstance(channel, SlackChannel) and channel.linking is not None
        linked = await channel.linking
        assert [p.id for p in linked] == ["han.meimei"]

        await slack.mention(USERS["zhao.li"], "VPN 连不上")
        await slack.cards(1)
        assert (await slack.ticket("IT-1001"))["assignee"] == "han.meimei"
        scheduler = svc.services.scheduler
        assert scheduler is not None
        clock.advance(timedelta(hours=3, minutes=50))
        await scheduler.tick()
        await slack.settle()
        # her DM: the "assigned to you" line at opening, then the reminder card
        told, reminder = fake.messages_in("U0HAN")

    assert told.text == "IT-1001 VPN 连不上 已分派给你。"
    assert "IT-1001" in card_text(reminder) and "VPN 连不上" in card_text(reminder)
    assert [c.body["email"] for c in fake.calls_to("users.lookupByEmail")] == [HAN_EMAIL]


async def test_an_email_nobody_has_on_slack_changes_nothing(db_url: str, fake: FakeSlack) -> None:
    async with running(slack_config(db_url, fake)) as svc:
        channel = svc.services.channels["slack"]
        assert isinstance(channel, SlackChannel) and channel.linking is not None
        assert await channel.linking == []
        han = svc.services.service.directory.person("han.meimei")

    assert han is not None and "slack" not in han.identities
    assert len(fake.calls_to("users.lookupByEmail")) == 1


async def test_start_does_not_wait_for_the_lookups_and_stop_cancels_them(
    db_url: str, fake: FakeSlack
) -> None:
    gate = fake.hold("users.lookupByEmail")  # Slack takes its time answering
    try:
        async with running(slack_config(db_url, fake)) as svc:
            slack = SlackDriver(svc, fake)
            channel = svc.services.channels["slack"]
            assert isinstance(channel, SlackChannel)
            task = channel.linking
            await slack.mention(USERS["zhao.li"], "打印机卡纸")  # served meanwhile
            await slack.cards(1)
            assert task is not None and not task.done()
        assert task.cancelled()
    finally:
        gate.set()
