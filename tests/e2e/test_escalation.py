"""Reminders and escalations end to end through the web chat, with the service's clock frozen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import yaml

from bot.config import Config, parse_config
from core.clock import FrozenClock
from storage.tables import events, timers
from tests.e2e.harness import TEST_CONFIG, running
from tests.e2e.test_webchat_ws import _join

# Monday 2026-01-05 09:00 in Shanghai
OPENED = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def escalating_config(db_url: str) -> Config:
    data: dict[str, Any] = yaml.safe_load(TEST_CONFIG.read_text(encoding="utf-8"))
    data["database"]["url"] = db_url
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
            "steps": [
                {"at": "-10m", "relative_to": "first_response", "notify": "assignee"},
                {
                    "at": "0",
                    "relative_to": "first_response",
                    "notify": "team_lead",
                    "also_team_channel": True,
                },
                {
                    "at": "+30m",
                    "relative_to": "first_response",
                    "notify": "team_lead",
                    "repeat_every": "30m",
                },
            ],
        }
    ]
    return parse_config(yaml.safe_dump(data, allow_unicode=True), env={})


async def test_reminder_reaches_the_assignee_dm_then_the_lead_at_breach_and_accept_stops_it(
    db_url: str,
) -> None:
    clock = FrozenClock(OPENED)
    async with running(escalating_config(db_url), clock) as svc:
        scheduler = svc.services.scheduler
        assert scheduler is not None
        requester = await _join(svc, "zhao.li")
        han = await _join(svc, "han.meimei", room="dm:han.meimei")
        lead = await _join(svc, "li.lei", room="dm:li.lei")
        await requester.send(type="say", room="helpdesk", text="VPN 连不上", client_id="c1")
        await requester.expect("ack", client_id="c1")
        card = await requester.expect("card", ticket="IT-1001")
        assert (
            "SLA" in card["html"]["en"] and "2026-01-05 13:00 (Asia/Shanghai)" in card["html"]["en"]
        )

        clock.advance(timedelta(hours=3, minutes=50))
        await scheduler.tick()
        reminder = await han.expect("card", room="dm:han.meimei", ticket="IT-1001")
        assert "in 10 min" in reminder["html"]["en"]
        assert 'data-action="snooze"' in reminder["html"]["en"]
        assert 'data-action="accept"' in reminder["html"]["en"]

        clock.advance(timedelta(minutes=10))
        await scheduler.tick()
        escalation = await lead.expect("card", room="dm:li.lei", ticket="IT-1001")
        assert "Han Meimei" in escalation["html"]["en"]  # who holds it
        assert 'data-action="claim"' in escalation["html"]["en"]  # take over
        line = await requester.expect("message", room="helpdesk", bot=True)
        assert "IT-1001" in line["text"]

        await han.send(
            type="action", room="dm:han.meimei", ticket="IT-1001", action="accept", client_id="a1"
        )
        await han.expect("ack", client_id="a1")
        clock.advance(timedelta(hours=2))
        assert await scheduler.tick() == 0
        async with svc.services.engine.connect() as conn:
            pending = await conn.scalar(
                sa.select(sa.func.count()).select_from(timers).where(timers.c.fired_at.is_(None))
            )
            escalated = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(events)
                .where(events.c.kind == "TicketEscalated")
            )
        assert pending == 0
        # the lead and the team line at breach, once each; the accept stopped the repeats
        assert escalated == 2


def reopening_config(db_url: str) -> Config:
    """A nudge to the assignee 30 minutes into every cycle, and a resolution target."""
    data: dict[str, Any] = yaml.safe_load(TEST_CONFIG.read_text(encoding="utf-8"))
    data["database"]["url"] = db_url
    data["teams"][0]["members"] = ["han.meimei", "li.lei", "bob.smith"]
    data["teams"][0]["assignment"] = {"strategy": "round_robin"}
    data["sla_policies"] = [
        {
            "id": "it-8h",
            "applies_to": {"types": ["it"]},
            "resolution": {"within": "8h", "business_time": False},
            "escalation": "it-nudge",
        }
    ]
    data["escalation_chains"] = [
        {
            "id": "it-nudge",
            "steps": [{"at": "+30m", "relative_to": "created", "notify": "assignee"}],
        }
    ]
    return parse_config(yaml.safe_dump(data, allow_unicode=True), env={})


async def test_a_reopened_ticket_reminds_its_assignee_again(db_url: str) -> None:
    clock = FrozenClock(OPENED)
    async with running(reopening_config(db_url), clock) as svc:
        scheduler = svc.services.scheduler
        assert scheduler is not None
        requester = await _join(svc, "zhao.li")
        han = await _join(svc, "han.meimei", room="dm:han.meimei")
        await requester.send(type="say", room="helpdesk", text="打印机卡纸", client_id="c1")
        await requester.expect("ack", client_id="c1")

        clock.advance(timedelta(minutes=30))
        await scheduler.tick()
        await han.expect("card", room="dm:han.meimei", ticket="IT-1001")
        await han.send(
            type="action", room="dm:han.meimei", ticket="IT-1001", action="resolve", client_id="r1"
        )
        await han.expect("ack", client_id="r1")

        clock.advance(timedelta(days=1))
        await requester.send(
            type="action", room="helpdesk", ticket="IT-1001", action="reopen", client_id="o1"
        )
        await requester.expect("ack", client_id="o1")
        reopened = clock.now()
        clock.advance(timedelta(minutes=29))
        assert await scheduler.tick() == 0  # counted from the reopen, not from the opening
        clock.advance(timedelta(minutes=1))
        await scheduler.tick()
        again = await han.expect("card", room="dm:han.meimei", ticket="IT-1001")
        assert 'data-action="accept"' in again["html"]["en"]

        async with svc.services.engine.connect() as conn:
            reminders = (
                await conn.execute(
                    sa.select(events.c.at)
                    .where(events.c.kind == "ReminderSent")
                    .order_by(events.c.id)
                )
            ).scalars()
        assert list(reminders) == [OPENED + timedelta(minutes=30), reopened + timedelta(minutes=30)]
