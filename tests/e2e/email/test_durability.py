"""What the email channel keeps: attachments with their names, dead addresses and the status last
mailed, each still there after a restart."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy.exc import OperationalError

from core.clock import FrozenClock
from core.commands import ActOnTicket, AddComment, SetPriority
from core.ticket import ChannelRef
from core.workflow import Action
from tests.e2e.email.driver import (
    ATTACHMENT_LIMIT,
    CORPUS,
    REPAIR,
    MailWorld,
    compose,
    key_in,
    mail_world,
)

PHOTO = bytes(range(256)) * 40  # 10 KiB, under the test limit
API = "/api/v1"
_WEB = ChannelRef("webchat", "helpdesk")


def with_files(subject: str, files: list[tuple[str, bytes]], *, to: str = REPAIR) -> bytes:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = "张三 <zhang.san@example.cn>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.cn")
    msg.set_content("见附件")
    for name, data in files:
        msg.add_attachment(data, maintype="image", subtype="jpeg", filename=name)
    return msg.as_bytes()


async def _api(world: MailWorld, path: str) -> tuple[int, Any, Any]:
    app = world.app
    async with app.http.get(app.url + API + path, headers=app.auth("admin")) as r:
        body = await (r.json() if r.content_type == "application/json" else r.read())
        return r.status, body, r.headers


async def test_mailed_photo_is_stored_under_its_chinese_name_and_fills_the_photos_field(
    db_url: str, tmp_path: Path
) -> None:
    async with mail_world(db_url, tmp_path) as world:
        code, reply = await world.send(with_files("空调漏水", [("漏水照片.jpg", PHOTO)]), to=REPAIR)
        assert code == 250
        key = key_in(reply)

        _, listed, _ = await _api(world, f"/tickets/{key}/attachments")
        [photo] = listed["items"]
        assert (photo["filename"], photo["size"], photo["stored"]) == ("漏水照片.jpg", 10240, True)
        ticket = await world.ticket(key)
        assert ticket is not None and ticket.fields["photos"] == [photo["id"]]

        status, data, headers = await _api(world, f"/attachments/{photo['id']}")
        assert status == 200 and data == PHOTO
        assert headers["Content-Type"] == "image/jpeg"
        assert f"filename*=UTF-8''{quote('漏水照片.jpg')}" in headers["Content-Disposition"]


async def test_file_over_the_limit_is_listed_with_a_note_but_not_kept(
    sqlite_url: str, tmp_path: Path
) -> None:
    big = b"x" * (ATTACHMENT_LIMIT + 1)
    async with mail_world(sqlite_url, tmp_path) as world:
        raw = with_files("监控录像", [("录像.mp4", big), ("图.jpg", PHOTO)])
        _, reply = await world.send(raw, to=REPAIR)
        key = key_in(reply)

        _, listed, _ = await _api(world, f"/tickets/{key}/attachments")
        video, picture = listed["items"]
        assert (video["filename"], video["size"], video["stored"]) == ("录像.mp4", len(big), False)
        assert "over the size limit" in video["note"] and video["download"] is None
        assert picture["stored"] is True
        ticket = await world.ticket(key)
        assert ticket is not None and ticket.fields["photos"] == [picture["id"]]
        status, body, _ = await _api(world, f"/attachments/{video['id']}")
        assert status == 404 and body["error"] == "not_stored"
        kept = [p for p in (tmp_path / "attachments").rglob("*") if p.is_file()]
        assert [p.stat().st_size for p in kept] == [len(PHOTO)]


async def test_files_in_a_reply_belong_to_the_comment_the_reply_became(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with mail_world(sqlite_url, tmp_path) as world:
        _, reply = await world.send(compose("Wi-Fi drops", "every hour"))
        key = key_in(reply)
        await world.delivered()

        answer = with_files(f"Re: [{key}] Wi-Fi drops", [("截图.png", PHOTO)], to=REPAIR)
        assert (await world.send(answer))[0] == 250

        _, listed, _ = await _api(world, f"/tickets/{key}/attachments")
        [shot] = listed["items"]
        assert shot["filename"] == "截图.png" and shot["comment"] is not None
        [comment] = await world.comments(key)
        assert "截图.png" in comment.body


class StoreFailsOnce:
    """The real service, except that storing the first mail's files hits a database error."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.failures = 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def store_attachments(self, *args: Any, **kwargs: Any) -> list[str]:
        if self.failures:
            self.failures -= 1
            raise OperationalError("INSERT INTO attachments", {}, Exception("disk I/O error"))
        result: list[str] = await self.real.store_attachments(*args, **kwargs)
        return result


async def test_failed_file_store_answers_451_and_the_redelivery_completes_the_ticket(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with mail_world(sqlite_url, tmp_path) as world:
        world.channel.intake.gateway = StoreFailsOnce(world.app.services.service)
        raw = with_files("门锁坏了", [("门锁.jpg", PHOTO)])

        assert (await world.send(raw, to=REPAIR))[0] == 451
        code, reply = await world.send(raw, to=REPAIR)  # the sending MTA tries again

        assert code == 250 and "duplicate" in reply
        [ticket] = await world.tickets()
        key = ticket.key
        _, listed, _ = await _api(world, f"/tickets/{key}/attachments")
        assert [a["filename"] for a in listed["items"]] == ["门锁.jpg"]


async def test_bounced_address_stays_suppressed_after_a_restart(
    db_url: str, tmp_path: Path
) -> None:
    requester = "gone@example.cn"
    async with mail_world(db_url, tmp_path) as world:
        _, reply = await world.send(compose("Laptop", "slow", sender=requester), sender=requester)
        key = key_in(reply)
        [ack] = await world.sink.wait_for(1)
        await world.delivered()
        template = (CORPUS / "bounce_of_our_ack.eml").read_bytes()
        dsn = template.replace(b"<IT-1043.f00d@gongdan.example.com>", ack["Message-ID"].encode())
        dsn = dsn.replace(b"nobody@example.cn", requester.encode())
        assert (await world.send(dsn, sender=""))[0] == 250

    async with mail_world(db_url, tmp_path) as world:
        assert requester in world.channel.suppressed
        comment = AddComment(key, "li.lei", "Try a restart", _WEB)
        await world.app.services.service.submit(comment)
        await world.settled(
            lambda rows: any(r["kind"] == "comment" and r["status"] == "failed" for r in rows)
        )
        [row] = await world.outbox_rows("comment")
        assert "bounced" in row["last_error"]
        assert world.sink.messages == []


async def test_status_already_mailed_is_not_mailed_again_after_a_restart(
    db_url: str, tmp_path: Path
) -> None:
    clock = FrozenClock()
    async with mail_world(db_url, tmp_path, clock=clock) as world:
        _, reply = await world.send(compose("Printer jams", "3rd floor"))
        key = key_in(reply)
        await world.sink.wait_for(1)
        await world.delivered()

    async with mail_world(db_url, tmp_path, clock=clock) as world:
        service = world.app.services.service
        # a new priority changes the ticket but not its status: no mail
        await service.submit(
            ActOnTicket(key, Action.SET_PRIORITY, "li.lei", _WEB, SetPriority("high"))
        )
        await world.delivered()
        assert world.sink.messages == []
        await service.submit(ActOnTicket(key, Action.ACCEPT, "li.lei", _WEB))
        [accepted] = await world.sink.wait_for(1)
        await world.delivered()
        assert key in str(accepted["Subject"])

    async with mail_world(db_url, tmp_path, clock=clock) as world:
        service = world.app.services.service
        await service.submit(
            ActOnTicket(key, Action.SET_PRIORITY, "li.lei", _WEB, SetPriority("low"))
        )
        await world.delivered()
        assert world.sink.messages == []
