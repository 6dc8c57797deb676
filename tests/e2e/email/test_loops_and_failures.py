"""Mail that must not loop, must not be lost, and must not open tickets."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from adapters.email.intake import MAIL_SYSTEM
from adapters.email.loop import AutoKind
from adapters.email.parse import parse_mail
from adapters.ports import Submitted
from core.clock import FrozenClock
from core.commands import AddComment, Command
from core.ticket import ChannelRef
from tests.e2e.email.driver import CORPUS, DOMAIN, compose, key_in, mail_world

_MACHINE_KINDS = {AutoKind.BOUNCE, AutoKind.DISPOSITION}
MACHINE_MAIL = sorted(
    p.name for p in CORPUS.glob("*.eml") if parse_mail(p.read_bytes()).auto in _MACHINE_KINDS
)


class FailsOnce:
    """The real service, except that the first commit hits a database error."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.failures = 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def submit(self, command: Command, **kwargs: Any) -> Submitted:
        if self.failures:
            self.failures -= 1
            raise OperationalError("INSERT INTO tickets", {}, Exception("database is locked"))
        result: Submitted = await self.real.submit(command, **kwargs)
        return result


async def test_database_error_during_data_returns_451_and_the_retry_loses_nothing(
    db_url: str, tmp_path: Path
) -> None:
    async with mail_world(db_url, tmp_path) as world:
        world.channel.intake.gateway = FailsOnce(world.app.services.service)
        raw = compose("硬盘坏了", "D 盘读不出来")
        code, _ = await world.send(raw)
        assert code == 451
        assert await world.ticket_count() == 0
        code, reply = await world.send(raw)  # what the sending MTA does later
        assert code == 250
        ticket = await world.ticket(key_in(reply))
        assert ticket is not None and ticket.title == "硬盘坏了"
        assert await world.ticket_count() == 1


async def test_auto_responder_ping_pong_for_ten_minutes_gets_at_most_one_acknowledgement(
    sqlite_url: str, tmp_path: Path
) -> None:
    clock = FrozenClock()
    async with mail_world(sqlite_url, tmp_path, clock=clock) as world:
        robot = "robot@partner.example"
        # the worst robot: no Auto-Submitted, no threading, a fresh mail every 30 seconds
        for _ in range(20):
            raw = compose("I am away", "Back on Monday.", sender=robot, name="Robot")
            assert (await world.send(raw, sender=robot))[0] == 250
            clock.advance(timedelta(seconds=30))
        assert len(await world.outbox_rows("card_post")) == 1
        await world.sink.wait_for(1)
        assert [m["To"] for m in world.sink.messages] == [robot]


async def test_mail_marked_auto_replied_gets_no_answer_and_opens_no_ticket(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with mail_world(sqlite_url, tmp_path) as world:
        code, _ = await world.send((CORPUS / "out_of_office_zh.eml").read_bytes())
        assert code == 250
        assert await world.ticket_count() == 0
        assert await world.outbox_rows() == []


async def test_monitoring_alert_marked_auto_generated_opens_a_ticket_without_answer(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with mail_world(sqlite_url, tmp_path) as world:
        alert = compose(
            "Disk 95% full on db1",
            "/var is almost full",
            sender="alerts@monitor.example",
            headers={"Auto-Submitted": "auto-generated"},
        )
        code, reply = await world.send(alert, sender="alerts@monitor.example")
        assert code == 250 and key_in(reply)
        assert await world.outbox_rows() == []


@pytest.mark.parametrize("name", MACHINE_MAIL)
async def test_delivery_reports_from_the_corpus_never_open_a_ticket(
    sqlite_url: str, tmp_path: Path, name: str
) -> None:
    async with mail_world(sqlite_url, tmp_path) as world:
        code, _ = await world.send((CORPUS / name).read_bytes(), sender="")
        assert code == 250
        assert await world.ticket_count() == 0
        assert await world.outbox_rows() == []


async def test_bounce_of_our_mail_becomes_an_internal_note_and_stops_mail_to_that_address(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with mail_world(sqlite_url, tmp_path) as world:
        requester = "gone@example.cn"
        _, reply = await world.send(compose("Laptop", "slow", sender=requester), sender=requester)
        key = key_in(reply)
        [ack] = await world.sink.wait_for(1)
        await world.delivered()
        template = (CORPUS / "bounce_of_our_ack.eml").read_bytes()
        dsn = template.replace(b"<IT-1043.f00d@gongdan.example.com>", ack["Message-ID"].encode())
        dsn = dsn.replace(b"nobody@example.cn", requester.encode())
        assert (await world.send(dsn, sender=""))[0] == 250

        assert await world.ticket_count() == 1
        [note] = await world.comments(key)
        assert note.author_id == MAIL_SYSTEM.id and not note.public
        assert requester in note.body and "5.1.1" in note.body
        assert requester in world.channel.suppressed

        comment = AddComment(key, "li.lei", "Try a restart", ChannelRef("webchat", "helpdesk"))
        await world.app.services.service.submit(comment)
        await world.settled(
            lambda rows: any(r["kind"] == "comment" and r["status"] == "failed" for r in rows)
        )
        [row] = await world.outbox_rows("comment")
        assert "bounced" in row["last_error"]
        assert len(world.sink.messages) == 1


async def test_our_own_mail_coming_back_is_ignored(sqlite_url: str, tmp_path: Path) -> None:
    async with mail_world(sqlite_url, tmp_path) as world:
        await world.send(compose("Loop test", "x"))
        [ack] = await world.sink.wait_for(1)
        code, _ = await world.send(ack.as_bytes(), sender=f"it@{DOMAIN}")
        assert code == 250
        assert await world.ticket_count() == 1
