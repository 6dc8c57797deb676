"""The web chat over its WebSocket: a message opens a ticket, the card appears, Accept updates it."""

from __future__ import annotations

import time

import aiohttp

from bot.bootstrap import build, listen
from tests.e2e.harness import Running, running, service_config
from tests.e2e.webchat_clients import Chat, join


async def _join(svc: Running, person: str, room: str = "helpdesk") -> Chat:
    return await join(svc, person, room)


async def test_message_in_help_desk_opens_ticket_and_accept_updates_every_copy(db_url: str) -> None:
    async with running(service_config(db_url)) as svc:
        requester = await _join(svc, "zhao.li")
        agent = await _join(svc, "li.lei")
        await requester.send(
            type="say",
            room="helpdesk",
            text="3楼打印机坏了 / the printer on 3F is broken",
            client_id="c1",
        )
        ack = await requester.expect("ack", client_id="c1")
        assert ack["ticket"] == "IT-1001"
        card_r = await requester.expect("card", ticket="IT-1001")
        card_a = await agent.expect("card", ticket="IT-1001")
        assert card_r["id"] == card_a["id"]
        assert "3楼打印机坏了" in card_r["html"]["zh-CN"] and "已分派" in card_r["html"]["zh-CN"]
        assert "Assigned" in card_r["html"]["en"]
        assert 'data-action="accept"' in card_a["html"]["en"]

        await agent.send(
            type="action",
            room="helpdesk",
            ticket="IT-1001",
            action="accept",
            version=card_a["version"],
            client_id="a1",
        )
        update_a = await agent.expect("card_update", ticket="IT-1001")
        update_r = await requester.expect("card_update", ticket="IT-1001")
        assert update_a["version"] == update_r["version"] > card_a["version"]
        assert "已受理" in update_r["html"]["zh-CN"] and "Accepted" in update_r["html"]["en"]
        assert 'data-action="accept"' not in update_a["html"]["en"]


async def test_racing_accept_tells_the_loser_who_won(sqlite_url: str) -> None:
    async with running(service_config(sqlite_url)) as svc:
        han = await _join(svc, "han.meimei")
        bob = await _join(svc, "bob.smith")
        await han.send(type="say", room="helpdesk", text="Wi-Fi drops every hour", client_id="s1")
        card = await han.expect("card", ticket="IT-1001")
        await bob.expect("card", ticket="IT-1001")
        for chat, cid in ((han, "h"), (bob, "b")):
            await chat.send(
                type="action",
                room="helpdesk",
                ticket="IT-1001",
                action="accept",
                version=card["version"],
                client_id=cid,
            )
        await han.expect("ack", client_id="h")
        notice = await bob.expect("notice", client_id="b")
        assert notice["level"] == "error"
        assert "Han Meimei" in notice["text"]["en"]  # Bob reads English


async def test_plain_chat_in_general_room_opens_nothing_but_a_mention_does(sqlite_url: str) -> None:
    async with running(service_config(sqlite_url)) as svc:
        chat = await _join(svc, "zhao.li", room="general")
        await chat.send(type="say", room="general", text="lunch anyone?", client_id="x1")
        ack = await chat.expect("ack", client_id="x1")
        assert "ticket" not in ack
        await chat.send(
            type="say", room="general", text="@工单助手 会议室投影仪不亮", client_id="x2"
        )
        ack = await chat.expect("ack", client_id="x2")
        assert ack["ticket"] == "IT-1001"
        card = await chat.expect("card", ticket="IT-1001")
        assert (
            "会议室投影仪不亮" in card["html"]["zh-CN"] and "@工单助手" not in card["html"]["zh-CN"]
        )


async def test_new_command_opens_form_and_validation_errors_come_back_inline(
    sqlite_url: str,
) -> None:
    async with running(service_config(sqlite_url)) as svc:
        chat = await _join(svc, "zhao.li")
        await chat.send(type="say", room="helpdesk", text="/new purchase", client_id="n1")
        form = await chat.expect("form", client_id="n1")
        assert form["ticket_type"] == "purchase" and 'name="amount"' in form["html"]["en"]
        await chat.send(
            type="submit_form",
            room="helpdesk",
            ticket_type="purchase",
            client_id="f1",
            title="Standing desk",
            fields={"item": "desk", "amount": "-1"},
        )
        errors = await chat.expect("form_errors", client_id="f1")
        assert "must be at least 0" in errors["html"]["en"]
        await chat.send(
            type="submit_form",
            room="helpdesk",
            ticket_type="purchase",
            client_id="f2",
            title="Standing desk",
            fields={"item": "desk", "amount": "1200"},
        )
        assert (await chat.expect("ack", client_id="f2"))["ticket"] == "PR-1001"


async def test_user_text_is_escaped_and_resent_frames_do_not_duplicate(sqlite_url: str) -> None:
    async with running(service_config(sqlite_url)) as svc:
        chat = await _join(svc, "zhao.li")
        hostile = "<script>alert(1)</script> <img src=x onerror=alert(2)> <!channel>"
        for _ in range(3):  # a flaky connection resends the same frame
            await chat.send(type="say", room="helpdesk", text=hostile, client_id="dup")
        card = await chat.expect("card", ticket="IT-1001")
        assert "<script>" not in card["html"]["en"] and "&lt;script&gt;" in card["html"]["en"]
        assert "<img" not in card["html"]["en"]
        acks = [await chat.expect("ack", client_id="dup") for _ in range(3)]
        assert {a["ticket"] for a in acks} == {"IT-1001"}
        async with svc.http.get(svc.url + "/api/v1/tickets", headers=svc.auth("admin")) as r:
            assert len((await r.json())["items"]) == 1


async def test_malformed_frames_get_an_error_notice_not_a_disconnect(sqlite_url: str) -> None:
    async with running(service_config(sqlite_url)) as svc:
        chat = await _join(svc, "zhao.li")
        await chat.ws.send_str("{nope")
        assert (await chat.expect("notice"))["level"] == "error"
        await chat.send(type="action", room="helpdesk", ticket="IT-1", action="fly", client_id="z")
        assert (await chat.expect("notice", client_id="z"))["level"] == "error"
        await chat.send(type="say", room="helpdesk", text="still here", client_id="ok")
        assert (await chat.expect("ack", client_id="ok"))["ticket"] == "IT-1001"


async def test_bad_frames_get_a_bilingual_notice_naming_the_problem_and_open_nothing(
    sqlite_url: str,
) -> None:
    async with running(service_config(sqlite_url)) as svc:
        chat = await _join(svc, "zhao.li")
        bad = {
            "deep": "[" * 30_000 + "]" * 30_000,
            "nan": '{"type": "say", "text": NaN, "client_id": "n"}',
            "version": '{"type": "action", "ticket": "IT-1", "action": "accept",'
            ' "version": 1e400, "client_id": "v"}',
            "null text": '{"type": "say", "room": "helpdesk", "text": null, "client_id": "t"}',
            "number text": '{"type": "say", "text": 42, "client_id": "t2"}',
            "list ticket": '{"type": "action", "ticket": ["IT-1"], "action": "accept"}',
            "fields": '{"type": "submit_form", "ticket_type": "it", "fields": [1], "client_id": "f"}',
            "field value": '{"type": "submit_form", "ticket_type": "it",'
            ' "fields": {"location": {"x": 1}}, "client_id": "fv"}',
            "client id": '{"type": "say", "text": "hi", "client_id": {"a": 1}}',
            "no type": '{"text": "hi"}',
            "blank": '{"type": "say", "text": "   ", "client_id": "b"}',
        }
        expected = {
            "deep": ("nested too deeply", "嵌套层数过多"),
            "nan": ("not valid JSON", "不是有效的 JSON"),
            "version": ("version: must be the whole number", "version：必须是"),
            "null text": ("text: is required", "text：必填"),
            "number text": ("text: must be text, not the number 42", "text：必须是文本"),
            "list ticket": ("ticket: must be text, not a list", "ticket：必须是文本"),
            "fields": ("fields: must be an object, not a list", "fields：必须是对象"),
            "field value": ("fields.location: must be text, a number", "fields.location：必须是"),
            "client id": ("client_id must be text", "client_id 必须是"),
            "no type": ("type: is required", "type：必填"),
            "blank": ("text: must not be empty", "text：不能为空"),
        }
        for name, raw in bad.items():
            await chat.ws.send_str(raw)
            notice = await chat.expect("notice", within=2.0)
            en, zh = expected[name]
            assert notice["level"] == "error", name
            assert en in notice["text"]["en"], (name, notice)
            assert zh in notice["text"]["zh-CN"], (name, notice)
        await chat.ws.send_bytes(b"\x00\x01")
        notice = await chat.expect("notice", within=2.0)
        assert "binary" in notice["text"]["en"] and "二进制" in notice["text"]["zh-CN"]

        await chat.send(type="say", room="helpdesk", text="still here", client_id="ok")
        assert (await chat.expect("ack", client_id="ok"))["ticket"] == "IT-1001"
        async with svc.http.get(svc.url + "/api/v1/tickets", headers=svc.auth("admin")) as r:
            assert [t["title"] for t in (await r.json())["items"]] == ["still here"]


async def test_refusals_and_no_ops_carry_both_languages_so_the_page_shows_the_one_it_is_set_to(
    sqlite_url: str,
) -> None:
    """li.lei and zhao.li are configured in Chinese; a page switched to English reads English."""
    async with running(service_config(sqlite_url)) as svc:
        requester = await _join(svc, "zhao.li")
        agent = await _join(svc, "li.lei")
        await requester.send(type="say", room="helpdesk", text="投影仪不亮", client_id="c1")
        card = await agent.expect("card", ticket="IT-1001")  # assigned to li.lei, the lead
        click = {"room": "helpdesk", "ticket": "IT-1001", "version": card["version"]}
        await requester.send(type="action", action="accept", client_id="a1", **click)
        refused = await requester.expect("notice", client_id="a1")
        # an old card that still offers the assignee: nothing changes, and it says so
        await agent.send(type="action", action="assign", value="li.lei", client_id="a2", **click)
        same = await agent.expect("notice", client_id="a2")
        edit = {"room": "helpdesk", "ticket": "IT-1001", "version": card["version"]}
        await agent.send(
            type="submit_edit",
            ticket_type="it",
            title="投影仪不亮",
            description="投影仪不亮",
            priority="normal",
            fields={},
            client_id="e1",
            **edit,
        )
        unchanged = await agent.expect("notice", client_id="e1")
        await agent.send(type="action", action="assign", value="nobody", client_id="a3", **click)
        invalid = await agent.expect("notice", client_id="a3")
        url = f"{svc.url}/api/v1/tickets/IT-1001/events"
        async with svc.http.get(url, headers=svc.auth("admin")) as r:
            kinds = [e["kind"] for e in (await r.json())["items"]]

    assert refused["level"] == "error"
    assert refused["text"] == {
        "en": "You cannot use “Accept” on IT-1001: you are not in the ticket's team.",
        "zh-CN": "你不能对 IT-1001 执行“受理”：你不在该工单的团队中。",
    }
    assert same["level"] == "info"
    assert same["text"] == {"en": "Already assigned to Li Lei.", "zh-CN": "已分派给 李雷。"}
    assert unchanged["text"] == {"en": "Nothing to change.", "zh-CN": "没有需要修改的内容。"}
    assert invalid["text"] == {
        "en": "Assignee: unknown person 'nobody'",
        "zh-CN": "处理人：未知人员 'nobody'",
    }
    assert kinds == ["TicketOpened", "TicketAssigned"]  # the assignment at opening, no second


async def test_a_shutdown_closes_open_browser_sockets_at_once_instead_of_waiting_for_them(
    sqlite_url: str,
) -> None:
    """SIGTERM with a tab open: aiohttp waits for every open request (twice shutdown_timeout_s,
    40 s by default) unless the sockets are closed as the shutdown begins."""
    services = await build(service_config(sqlite_url))
    await services.start()
    runner, url = await listen(services, "127.0.0.1", 0)
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(url + "/webchat/ws")
        await ws.send_json({"type": "hello", "person": "zhao.li", "room": "helpdesk"})
        assert (await ws.receive_json(timeout=10))["type"] == "history"
        started = time.monotonic()
        services.health.draining = True  # what `gongdan serve` does on SIGTERM
        await runner.cleanup()
        took = time.monotonic() - started
        await services.stop()
        last = await ws.receive(timeout=5)
    assert took < 5
    assert last.type is aiohttp.WSMsgType.CLOSE and last.data == 1001  # going away: reconnect
