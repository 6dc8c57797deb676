"""What the requester receives: comments from other channels, status, resolution; and charsets."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.commands import ActOnTicket, AddComment
from core.ticket import ChannelRef
from core.workflow import Action
from tests.e2e.email.driver import CORPUS, compose, key_in, mail_world

HELPDESK = ChannelRef("webchat", "helpdesk")


async def test_comment_made_in_web_chat_is_mailed_as_a_threaded_reply(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with mail_world(sqlite_url, tmp_path) as world:
        raw = compose("Wi-Fi drops", "every hour")
        key = key_in((await world.send(raw))[1])
        [ack] = await world.sink.wait_for(1)
        await world.delivered()
        service = world.app.services.service
        await service.submit(AddComment(key, "li.lei", "已派人处理 <b>今天</b>", HELPDESK))
        _, relayed = await world.sink.wait_for(2)
        assert relayed["Subject"] == f"[{key}] Wi-Fi drops"
        assert relayed["In-Reply-To"] == ack["Message-ID"]
        references = relayed["References"].split()
        assert references[-1] == ack["Message-ID"] and ack["In-Reply-To"] in references
        text = relayed.get_body(("plain",))
        html = relayed.get_body(("html",))
        assert text is not None and html is not None
        assert "李雷" in text.get_content() and "已派人处理" in text.get_content()
        assert "&lt;b&gt;" in html.get_content()


async def test_a_comment_made_before_the_acknowledgement_is_mailed_follows_it(
    db_url: str, tmp_path: Path
) -> None:
    async with mail_world(db_url, tmp_path) as world:
        gate = world.sink.hold()  # the acknowledgement is still on its way to the relay
        key = key_in((await world.send(compose("Printer", "paper jam")))[1])
        service = world.app.services.service
        await service.submit(AddComment(key, "li.lei", "马上到 / on my way", HELPDESK))
        await service.submit(AddComment(key, "li.lei", "internal: toner low", HELPDESK, False))
        gate.set()
        ack, relayed = await world.sink.wait_for(2)
        assert ack["In-Reply-To"] and relayed["In-Reply-To"] == ack["Message-ID"]
        text = relayed.get_body(("plain",))
        assert text is not None and "on my way" in text.get_content()
        await world.delivered()
        assert len(world.sink.messages) == 2  # once, and never the internal note


async def test_resolution_mail_links_to_no_satisfaction_page_and_that_page_is_gone(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with mail_world(sqlite_url, tmp_path) as world:
        key = key_in((await world.send(compose("Projector", "no signal")))[1])
        await world.sink.wait_for(1)
        await world.delivered()
        service = world.app.services.service
        await service.submit(ActOnTicket(key, Action.RESOLVE, "li.lei", HELPDESK))
        _, resolved = await world.sink.wait_for(2)
        text = resolved.get_body(("plain",))
        assert text is not None
        assert "satisfaction" not in text.get_content()
        assert resolved["Subject"] == f"[{key}] Projector"
        # keys are sequential: a page showing any ticket's title to anyone must not exist
        async with world.app.http.get(f"{world.app.url}/email/satisfaction/{key}") as response:
            assert response.status == 404
            assert "Projector" not in await response.text()


async def test_a_comment_by_mail_sends_no_status_mail_when_the_status_did_not_change(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with mail_world(sqlite_url, tmp_path) as world:
        key = key_in((await world.send(compose("Phone", "no dial tone")))[1])
        await world.sink.wait_for(1)
        await world.delivered()
        await world.send(compose(f"Re: [{key}] Phone", "also no display"))
        await world.settled(lambda rows: bool(rows) and all(r["status"] != "pending" for r in rows))
        assert len(world.sink.messages) == 1


@pytest.mark.parametrize(
    ("name", "sender", "title", "requester"),
    [
        ("gb2312_label_gbk_chars.eml", "wang.zhe@example.cn", "王喆电脑蓝屏（堃、镕）", "王喆"),
        ("gbk_split_encoded_word.eml", "li.xiaorong@example.cn", "打印机卡纸，三楼东侧", "李晓镕"),
    ],
)
async def test_chinese_mail_from_the_corpus_becomes_a_ticket_with_the_right_title(
    sqlite_url: str, tmp_path: Path, name: str, sender: str, title: str, requester: str
) -> None:
    async with mail_world(sqlite_url, tmp_path) as world:
        code, reply = await world.send((CORPUS / name).read_bytes(), sender=sender)
        assert code == 250
        ticket = await world.ticket(key_in(reply))
        assert ticket is not None and ticket.title == title
        person = world.app.services.service.directory.person(ticket.requester_id)
        assert person is not None and person.name.get("zh-CN") == requester
        [ack] = await world.sink.wait_for(1)
        assert title in str(ack["Subject"])
        assert "=?utf-8?" in ack.as_string().split("\n\n", 1)[0].lower() or ack.get_charsets()
