"""A card sent to one person's Slack DM is in that person's language, not the workspace's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core.clock import FrozenClock
from tests.e2e.harness import running
from tests.e2e.slack.driver import USERS, SlackDriver, card_text, slack_config
from tests.fakes.slack import FakeSlack, PostedMessage

# Monday 2026-01-05 09:00 in Shanghai
OPENED = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def bob_is_reminded(data: dict[str, Any]) -> None:
    """Every ticket goes to bob.smith (locale en), who is reminded 10 min before the SLA."""
    team = data["teams"][0]
    team["members"] = ["bob.smith"]
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


async def _bob_reminded(
    slack: SlackDriver, clock: FrozenClock
) -> tuple[PostedMessage, PostedMessage]:
    """zhao.li's mention opens a ticket; 3 h 50 min later bob's DM gets its reminder (after the
    "assigned to you" line): (the ticket's card in the channel, the reminder)."""
    await slack.mention(USERS["zhao.li"], "VPN 连不上")
    [card] = await slack.cards(1)
    scheduler = slack.svc.services.scheduler
    assert scheduler is not None
    clock.advance(timedelta(hours=3, minutes=50))
    await scheduler.tick()
    await slack.settle()
    *_, reminder = slack.fake.messages_in(USERS["bob.smith"])
    return card, reminder


async def test_a_reminder_by_slack_dm_is_in_the_recipients_language(
    db_url: str, fake: FakeSlack
) -> None:
    clock = FrozenClock(OPENED)
    # the workspace speaks Chinese (service.default_locale); bob reads English
    async with running(slack_config(db_url, fake, edit=bob_is_reminded), clock) as svc:
        card, reminder = await _bob_reminded(SlackDriver(svc, fake), clock)

    assert "Priority" in card_text(reminder) and "优先级" not in card_text(reminder)
    # the ticket's card in the help desk channel stays in the workspace's language
    assert "优先级" in card_text(card)


async def test_a_reminder_in_a_dm_is_updated_in_place_and_hears_no_comments(
    db_url: str, fake: FakeSlack
) -> None:
    clock = FrozenClock(OPENED)
    async with running(slack_config(db_url, fake, edit=bob_is_reminded), clock) as svc:
        slack = SlackDriver(svc, fake)
        _, reminder = await _bob_reminded(slack, clock)
        shown = card_text(reminder)
        async with svc.http.post(
            svc.url + "/api/v1/tickets/IT-1001/actions/accept", headers=svc.auth("bob.smith")
        ) as r:
            assert r.status == 200
        async with svc.http.post(
            svc.url + "/api/v1/tickets/IT-1001/comments",
            json={"body": "已远程重置"},
            headers=svc.auth("bob.smith"),
        ) as r:
            assert r.status == 201
        await slack.settle()
        in_dm = fake.messages_in(USERS["bob.smith"])

    assert "tkt.snooze" in shown and "tkt.accept" in shown
    # the same message, edited: still bob's reminder, accepted, no longer offering Accept
    assert reminder.edits >= 1 and "Accepted" in reminder.text
    assert "tkt.snooze" in card_text(reminder) and "tkt.accept" not in card_text(reminder)
    # the ticket's conversation is in its own card's thread, not under a reminder
    assert not any("已远程重置" in m.text for m in in_dm)
