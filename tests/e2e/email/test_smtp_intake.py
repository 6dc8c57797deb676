"""Mail in over SMTP to a running service: tickets, replies, refusals, acknowledgements."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.email.driver import DOMAIN, FROM, IT, compose, key_in, mail_world
from tests.e2e.harness import commit_histogram


async def test_mail_to_it_opens_ticket_and_acknowledges_with_its_key(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with mail_world(sqlite_url, tmp_path) as world:
        raw = compose("打印机卡纸", "三楼东侧的打印机一直卡纸。")
        code, reply = await world.send(raw)
        assert code == 250
        key = key_in(reply)
        ticket = await world.ticket(key)
        assert ticket is not None
        assert (ticket.title, ticket.description) == ("打印机卡纸", "三楼东侧的打印机一直卡纸。")
        assert ticket.requester_id == "mail:zhang.san@example.cn"
        requester = world.app.services.service.directory.person(ticket.requester_id)
        assert requester is not None and requester.name.get("zh-CN") == "张三"

        [ack] = await world.sink.wait_for(1)
        assert ack["Subject"] == f"[{key}] 打印机卡纸"
        assert ack["To"] == "zhang.san@example.cn"
        assert ack["In-Reply-To"] in raw.decode()
        assert ack["Message-ID"].startswith(f"<{key}.") and ack["Message-ID"].endswith(
            f"@{DOMAIN}>"
        )
        assert ack["Auto-Submitted"] == "auto-replied"
        assert ack["X-Auto-Response-Suppress"] == "All"
        assert ack["X-Gongdan-Loop"] == DOMAIN
        text = ack.get_body(("plain",))
        html = ack.get_body(("html",))
        assert text is not None and html is not None
        assert text.get_content_charset() == "utf-8"
        assert key in text.get_content() and "打印机卡纸" in html.get_content()
        assert world.sink.envelopes[0] == (FROM, ["zhang.san@example.cn"])
        # the mail's wait from its DATA to its commit is in /metrics
        timed, _ = await commit_histogram(world.app, "email")
        assert timed == 1


async def test_html_in_subject_is_escaped_in_the_html_acknowledgement(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with mail_world(sqlite_url, tmp_path) as world:
        await world.send(compose("<script>alert(1)</script> broken", "see subject"))
        [ack] = await world.sink.wait_for(1)
        html = ack.get_body(("html",))
        assert html is not None
        assert "<script>" not in html.get_content()
        assert "&lt;script&gt;" in html.get_content()


async def test_reply_threaded_by_in_reply_to_becomes_comment_without_quoted_history(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with mail_world(sqlite_url, tmp_path) as world:
        key = key_in((await world.send(compose("VPN down", "Cannot connect.")))[1])
        [ack] = await world.sink.wait_for(1)
        body = "Still down after reboot.\n\nOn Mon, IT Desk wrote:\n> We have received..."
        reply = compose(
            "Re: something else entirely", body, headers={"In-Reply-To": ack["Message-ID"]}
        )
        code, _ = await world.send(reply)
        assert code == 250
        assert await world.ticket_count() == 1
        [comment] = await world.comments(key)
        assert comment.body == "Still down after reboot."
        assert comment.author_id == "mail:zhang.san@example.cn" and comment.public


async def test_reply_threaded_by_full_width_subject_tag_when_references_are_missing(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with mail_world(sqlite_url, tmp_path) as world:
        key = key_in((await world.send(compose("显示器不亮", "开机没有画面")))[1])
        code, _ = await world.send(compose(f"回复：【{key}】显示器不亮", "换了线也不行"))
        assert code == 250
        assert await world.ticket_count() == 1
        assert [c.body for c in await world.comments(key)] == ["换了线也不行"]


async def test_same_subject_without_tag_opens_a_new_ticket(sqlite_url: str, tmp_path: Path) -> None:
    async with mail_world(sqlite_url, tmp_path) as world:
        first = key_in((await world.send(compose("Printer broken", "first floor")))[1])
        code, reply = await world.send(compose("Re: Printer broken", "second floor"))
        assert code == 250 and key_in(reply) != first
        assert await world.comments(first) == []


async def test_duplicate_message_id_makes_one_ticket(sqlite_url: str, tmp_path: Path) -> None:
    async with mail_world(sqlite_url, tmp_path) as world:
        raw = compose("Keyboard missing keys", "the E key")
        first = await world.send(raw)
        again = await world.send(raw)
        assert first[0] == again[0] == 250
        assert await world.ticket_count() == 1
        assert len(await world.outbox_rows("card_post")) == 1


async def test_unknown_recipient_is_refused_at_rcpt(sqlite_url: str, tmp_path: Path) -> None:
    async with mail_world(sqlite_url, tmp_path) as world:
        code, _ = await world.send(compose("hi", "x"), to=f"nobody@{DOMAIN}")
        assert code == 550
        assert await world.ticket_count() == 0


async def test_plus_address_files_into_its_type_and_fills_the_tagged_option(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with mail_world(sqlite_url, tmp_path) as world:
        code, reply = await world.send(compose("Mouse", "broken"), to=f"it+hardware@{DOMAIN}")
        assert code == 250
        ticket = await world.ticket(key_in(reply))
        assert ticket is not None and ticket.fields.get("category") == "hardware"


async def test_mail_over_the_size_limit_is_refused_with_552(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with mail_world(sqlite_url, tmp_path, max_message_bytes=4096) as world:
        code, _ = await world.send(compose("big", "x" * 3000))
        assert code == 250
        code, _ = await world.send(compose("too big", "y" * 8000))
        assert code == 552
        assert await world.ticket_count() == 1


async def test_field_lines_fill_the_form_and_missing_fields_get_one_reply_without_ticket(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with mail_world(sqlite_url, tmp_path) as world:
        incomplete = compose("买笔记本", "需要一台新电脑", to="purchase@" + DOMAIN)
        to = "purchase@" + DOMAIN
        assert (await world.send(incomplete, to=to))[0] == 250
        assert (await world.send(incomplete, to=to))[0] == 250  # the MTA retried
        [answer] = await world.sink.wait_for(1)
        text = answer.get_body(("plain",))
        assert text is not None
        assert "物品" in text.get_content() and "金额" in text.get_content()
        assert answer["Subject"] == "Re: 买笔记本"
        assert answer["Auto-Submitted"] == "auto-replied"
        assert await world.ticket_count() == 0

        complete = compose("买笔记本", "物品：ThinkPad\n金额: 8000\n\n给新同事用", to=to)
        code, reply = await world.send(complete, to=to)
        assert code == 250 and key_in(reply).startswith("PR-")
        ticket = await world.ticket(key_in(reply))
        assert ticket is not None
        assert ticket.fields == {"item": "ThinkPad", "amount": 8000}
        assert ticket.description == "给新同事用"
        assert len(world.sink.messages) <= 2


async def test_without_relay_acknowledgements_fail_in_the_outbox_with_the_reason(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with mail_world(sqlite_url, tmp_path, relay=False) as world:
        code, _ = await world.send(compose("No relay", "still a ticket"))
        assert code == 250
        await world.settled(lambda rows: bool(rows) and rows[0]["status"] == "failed")
        [row] = await world.outbox_rows("card_post")
        assert "channels.email.relay" in row["last_error"]
        assert IT not in row["last_error"]
