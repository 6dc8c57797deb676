"""A conversation, not a ticket per message, in the web chat: chatter, follow-ups, key mentions
and chat commands, in both languages."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from storage.tables import outbox
from tests.e2e.harness import Running, running, service_config
from tests.e2e.webchat_clients import Chat, join

CHATTER = ("谢谢！", "好的呀", "收到。", "ok", "Thanks!", "ＯＫ", "👍", "🙏🏻")


async def _tickets(svc: Running) -> list[dict[str, Any]]:
    async with svc.http.get(svc.url + "/api/v1/tickets", headers=svc.auth("admin")) as r:
        assert r.status == 200
        return list((await r.json())["items"])


async def _comments(svc: Running, key: str) -> list[dict[str, Any]]:
    url = f"{svc.url}/api/v1/tickets/{key}/comments"
    async with svc.http.get(url, headers=svc.auth("admin")) as r:
        assert r.status == 200
        return list((await r.json())["items"])


async def _say(chat: Chat, text: str, client_id: str, room: str = "helpdesk") -> dict[str, Any]:
    await chat.send(type="say", room=room, text=text, client_id=client_id)
    return await chat.expect("ack", client_id=client_id)


async def test_chatter_in_a_help_desk_room_opens_no_ticket(sqlite_url: str) -> None:
    async with running(service_config(sqlite_url)) as svc:
        chat = await join(svc, "zhao.li")
        acks = [await _say(chat, text, f"c{i}") for i, text in enumerate(CHATTER)]
        tickets = await _tickets(svc)

    assert tickets == []
    assert {a["kind"] for a in acks} == {"chatter"} and all("ticket" not in a for a in acks)


async def test_three_quick_messages_make_one_ticket_with_two_comments_and_one_quiet_line(
    db_url: str,
) -> None:
    async with running(service_config(db_url)) as svc:
        chat = await join(svc, "zhao.li")
        other = await join(svc, "li.lei")
        texts = ("打印机卡纸了", "在三楼东边", "型号是 HP M404")
        for i, text in enumerate(texts, 1):  # sent at once, not waiting for an answer
            await chat.send(type="say", room="helpdesk", text=text, client_id=f"q{i}")
        acks = [await chat.expect("ack", client_id=f"q{i}") for i in (1, 2, 3)]
        comments = await _comments(svc, "IT-1001")
        tickets = await _tickets(svc)

    assert [(a["kind"], a["ticket"]) for a in acks] == [
        ("new_ticket", "IT-1001"),
        ("follow_up", "IT-1001"),
        ("follow_up", "IT-1001"),
    ]
    assert len(tickets) == 1
    assert [c["body"] for c in comments] == ["在三楼东边", "型号是 HP M404"]
    notices = [f for f in chat.backlog if f["type"] == "notice"]
    assert [n["client_id"] for n in notices] == ["q2"]  # once, quietly, to the sender only
    assert "已补充到 IT-1001" in notices[0]["text"]["zh-CN"]
    assert "Added to IT-1001" in notices[0]["text"]["en"]
    assert not [f for f in other.backlog if f["type"] == "notice"]


async def test_a_purchase_request_from_a_form_does_not_take_the_next_it_message(
    sqlite_url: str,
) -> None:
    async with running(service_config(sqlite_url)) as svc:
        chat = await join(svc, "zhao.li")
        await chat.send(
            type="submit_form",
            room="helpdesk",
            ticket_type="purchase",
            client_id="f1",
            title="Standing desk",
            fields={"item": "desk", "amount": "1200"},
        )
        assert (await chat.expect("ack", client_id="f1"))["ticket"] == "PR-1001"
        ack = await _say(chat, "显示器一直闪 / my monitor flickers", "m1")
        comments = await _comments(svc, "PR-1001")

    assert (ack["kind"], ack["ticket"]) == ("new_ticket", "IT-1001")
    assert comments == []


async def test_a_message_naming_a_ticket_key_comments_on_it(sqlite_url: str) -> None:
    async with running(service_config(sqlite_url)) as svc:
        zhao = await join(svc, "zhao.li")
        bob = await join(svc, "bob.smith")
        assert (await _say(zhao, "VPN 连不上", "o1"))["ticket"] == "IT-1001"
        ack = await _say(bob, "it-1001 还是没修好吗？", "k1")
        notice = await bob.expect("notice", client_id="k1")
        in_thread = await zhao.comment_under_card("IT-1001")  # live, or with its card
        comments = await _comments(svc, "IT-1001")
        tickets = await _tickets(svc)

    assert (ack["kind"], ack["ticket"]) == ("key_mention", "IT-1001")
    assert len(tickets) == 1
    assert [(c["author"], c["body"]) for c in comments] == [("bob.smith", "it-1001 还是没修好吗？")]
    assert notice["text"]["en"] == "Added to IT-1001 as a comment."
    assert notice["text"]["zh-CN"] == "已作为评论添加到 IT-1001。"
    assert in_thread["body"] == "it-1001 还是没修好吗？"


async def test_help_and_unknown_commands_answer_in_both_languages_and_open_nothing(
    sqlite_url: str,
) -> None:
    async with running(service_config(sqlite_url)) as svc:
        chat = await join(svc, "zhao.li")
        await _say(chat, "/help", "h1")
        helped = await chat.expect("notice", client_id="h1")
        await _say(chat, "/list", "h2")
        unknown = await chat.expect("notice", client_id="h2")
        await _say(chat, "/帮助", "h3")
        aliased = await chat.expect("notice", client_id="h3")
        tickets = await _tickets(svc)

    assert tickets == []
    assert "/mine" in helped["text"]["en"] and "/note" in helped["text"]["en"]
    assert "我的未完成" not in helped["text"]["zh-CN"] and "内部备注" in helped["text"]["zh-CN"]
    assert unknown["text"]["en"].startswith("/list is not a command.")
    assert unknown["text"]["zh-CN"].startswith("没有 /list 这个命令。")
    assert aliased["text"] == helped["text"]


async def test_new_with_an_unknown_type_lists_the_types_to_the_sender_and_opens_no_form(
    sqlite_url: str,
) -> None:
    async with running(service_config(sqlite_url)) as svc:
        chat = await join(svc, "zhao.li")
        await chat.send(type="say", room="helpdesk", text="/new nosuch", client_id="n1")
        refused = await chat.expect("notice", client_id="n1")
        await _say(chat, "/help", "n2")  # answered after it: nothing more came for /new
        tickets = await _tickets(svc)

    assert refused["level"] == "error"
    assert refused["text"]["en"] == (
        "There is no ticket type “nosuch”. Types you can open: it (IT request), "
        "purchase (Purchase request). For example: /new it"
    )
    assert refused["text"]["zh-CN"] == (
        "没有“nosuch”这个工单类型。可以新建的类型：it（IT 服务）、purchase（采购申请）。"
        "例如：/new it"
    )
    assert not [f for f in chat.backlog if f["type"] in ("form", "ack") and f["client_id"] == "n1"]
    assert tickets == []


async def test_mine_queue_status_close_and_note_answer_in_both_languages(db_url: str) -> None:
    async with running(service_config(db_url)) as svc:
        zhao = await join(svc, "zhao.li")
        agent = await join(svc, "li.lei")
        await _say(zhao, "显示器闪屏", "o1")
        first = await zhao.expect("card", ticket="IT-1001")

        await _say(zhao, "/mine", "m1")
        mine = await zhao.expect("notice", client_id="m1")
        await _say(zhao, "/queue", "m2")
        not_agent = await zhao.expect("notice", client_id="m2")
        await _say(agent, "/queue", "m3")
        queue = await agent.expect("notice", client_id="m3")
        await _say(zhao, "/status IT-1001", "m4")
        again = await zhao.expect("card", ticket="IT-1001")
        await zhao.send(type="say", room="helpdesk", text="/note IT-1001 私下说", client_id="m5")
        refused = await zhao.expect("notice", client_id="m5")  # the answer: no ack
        await _say(agent, "/note IT-1001 换过线了", "m6")
        noted = await agent.expect("notice", client_id="m6")
        await _say(zhao, "/close IT-1001", "m7")
        closed = await zhao.expect("notice", client_id="m7")
        comments = await _comments(svc, "IT-1001")

    assert "你的未完成工单（1 张）" in mine["text"]["zh-CN"] and "IT-1001" in mine["text"]["zh-CN"]
    assert "Your open requests (1):" in mine["text"]["en"]
    assert "/queue 仅供支持团队使用" in not_agent["text"]["zh-CN"]
    assert "for the support team" in not_agent["text"]["en"]
    assert "IT-1001" in queue["text"]["en"] and "Your queue: 1 assigned" in queue["text"]["en"]
    assert again["id"] != first["id"]  # posted again, fresh
    assert refused["level"] == "error"
    assert noted["text"]["zh-CN"] == "已为 IT-1001 添加内部备注。"
    assert noted["text"]["en"] == "Internal note added to IT-1001."
    assert "已取消" in closed["text"]["zh-CN"] and "Cancel" in closed["text"]["en"]
    assert [(c["body"], c["internal"]) for c in comments] == [("换过线了", True)]


async def _act(svc: Running, key: str, action: str, person: str) -> None:
    url = f"{svc.url}/api/v1/tickets/{key}/actions/{action}"
    async with svc.http.post(url, headers=svc.auth(person)) as r:
        assert r.status == 200


async def test_close_on_a_finished_ticket_names_it_in_both_languages(sqlite_url: str) -> None:
    async with running(service_config(sqlite_url)) as svc:
        zhao = await join(svc, "zhao.li")
        await _say(zhao, "Printer broken", "o1")
        new = {"type": "it", "title": "VPN down"}
        async with svc.http.post(
            svc.url + "/api/v1/tickets", json=new, headers=svc.auth("zhao.li")
        ) as r:
            assert r.status == 201
        for action in ("accept", "resolve"):
            await _act(svc, "IT-1001", action, "li.lei")
        await _say(zhao, "/close IT-1001", "c1")
        closed = await zhao.expect("notice", client_id="c1")
        await _say(zhao, "/close IT-1001", "c2")
        again = await zhao.expect("notice", client_id="c2")
        await _say(zhao, "/close IT-1002", "c3")
        withdrawn = await zhao.expect("notice", client_id="c3")
        await _say(zhao, "/close IT-1002", "c4")
        cancelled = await zhao.expect("notice", client_id="c4")

    # what happened, in a sentence, as other commands answer
    assert closed["text"] == {
        "en": "Closed IT-1001 “Printer broken”.",
        "zh-CN": "已关闭 IT-1001“Printer broken”。",
    }
    assert again["level"] == "info"
    assert again["text"]["en"] == "IT-1001 “Printer broken” is already closed."
    assert again["text"]["zh-CN"] == "IT-1001“Printer broken”已是“已关闭”状态。"
    assert withdrawn["text"] == {
        "en": "Cancelled IT-1002 “VPN down”: it was not resolved yet, so closing it withdrew"
        " the request.",
        "zh-CN": "已取消 IT-1002“VPN down”：工单尚未解决，关闭即撤回了这个请求。",
    }
    assert cancelled["text"]["en"] == "IT-1002 “VPN down” is already cancelled."
    assert cancelled["text"]["zh-CN"] == "IT-1002“VPN down”已是“已取消”状态。"


async def test_close_by_someone_who_may_not_names_the_ticket_and_who_may(sqlite_url: str) -> None:
    async with running(service_config(sqlite_url)) as svc:
        zhao = await join(svc, "zhao.li")
        bob = await join(svc, "bob.smith")
        await _say(zhao, "Printer broken", "o1")
        await bob.send(type="say", room="helpdesk", text="/close IT-1001", client_id="c1")
        refused = await bob.expect("notice", client_id="c1")
        tickets = await _tickets(svc)

    assert refused["level"] == "error"
    assert refused["text"]["en"] == (
        "Only the requester or the team's lead may close IT-1001 before it is resolved."
    )
    assert refused["text"]["zh-CN"] == "IT-1001 尚未解决，只有提单人或团队负责人可以关闭它。"
    assert [t["status"] for t in tickets] == ["assigned"]  # unchanged


async def test_a_bot_mention_in_a_group_room_then_plain_talk_stays_plain_talk(
    sqlite_url: str,
) -> None:
    async with running(service_config(sqlite_url)) as svc:
        chat = await join(svc, "zhao.li", room="general")
        opened = await _say(chat, "@工单助手 投影仪不亮", "g1", room="general")
        talk = await _say(chat, "lunch anyone?", "g2", room="general")
        comments = await _comments(svc, "IT-1001")

    assert opened["ticket"] == "IT-1001"
    assert talk["kind"] == "ignore" and "ticket" not in talk
    assert comments == []


async def test_a_message_after_the_ticket_was_resolved_opens_a_new_one(db_url: str) -> None:
    async with running(service_config(db_url)) as svc:
        chat = await join(svc, "zhao.li")
        assert (await _say(chat, "打印机卡纸了", "r1"))["ticket"] == "IT-1001"
        for action in ("accept", "resolve"):
            url = f"{svc.url}/api/v1/tickets/IT-1001/actions/{action}"
            async with svc.http.post(url, headers=svc.auth("li.lei")) as r:
                assert r.status == 200
        # a minute later, within the follow-up window: a new problem, not a note on a done one
        ack = await _say(chat, "VPN 也连不上", "r2")
        comments = await _comments(svc, "IT-1001")

    assert (ack["kind"], ack["ticket"]) == ("new_ticket", "IT-1002")
    assert comments == []


async def test_follow_ups_are_remembered_across_a_restart(db_url: str) -> None:
    async with running(service_config(db_url)) as svc:
        chat = await join(svc, "zhao.li")
        await _say(chat, "耳机没声音", "r1")
        await _say(chat, "蓝牙的", "r2")
        await chat.expect("notice", client_id="r2")
    async with running(service_config(db_url)) as svc:  # another process, the same database
        chat = await join(svc, "zhao.li")
        ack = await _say(chat, "换了电脑也一样", "r3")
        comments = await _comments(svc, "IT-1001")
        tickets = await _tickets(svc)

    assert (ack["kind"], ack["ticket"]) == ("follow_up", "IT-1001")
    assert len(tickets) == 1 and len(comments) == 2
    assert not [f for f in chat.backlog if f["type"] == "notice"]  # told once, before


async def test_a_resent_status_command_posts_the_card_once(sqlite_url: str) -> None:
    async with running(service_config(sqlite_url)) as svc:
        chat = await join(svc, "zhao.li")
        await _say(chat, "鼠标坏了", "o1")
        for _ in range(2):  # a flaky connection sends the frame again
            await _say(chat, "/status IT-1001", "st")
        stmt = sa.select(sa.func.count()).where(outbox.c.kind == "card_post")
        async with svc.services.engine.connect() as conn:
            posts = (await conn.execute(stmt)).scalar_one()

    assert posts == 2  # the ticket's own card, and one copy for /status


async def test_a_reply_in_a_cards_thread_is_a_comment_even_when_it_is_thanks(
    sqlite_url: str,
) -> None:
    async with running(service_config(sqlite_url)) as svc:
        chat = await join(svc, "zhao.li")
        await _say(chat, "投影仪没信号", "o1")
        await chat.send(
            type="say", room="helpdesk", text="谢谢！", ticket="it-1001", client_id="t1"
        )
        ack = await chat.expect("ack", client_id="t1")
        comments = await _comments(svc, "IT-1001")

    assert (ack["kind"], ack["ticket"]) == ("card_reply", "IT-1001")
    assert [c["body"] for c in comments] == ["谢谢！"]


async def test_a_command_line_is_seen_by_its_sender_only_so_a_note_stays_with_the_team(
    sqlite_url: str,
) -> None:
    async with running(service_config(sqlite_url)) as svc:
        zhao = await join(svc, "zhao.li")
        agent = await join(svc, "li.lei")
        await _say(zhao, "VPN 连不上", "o1")
        await _say(agent, "/note IT-1001 他的账号被锁过", "n1")
        own = await agent.expect("message", id="m-n1")
        await _say(zhao, "谢谢", "t1")  # a later line of the room, so the note had its chance
        await zhao.expect("message", id="m-t1")
        await zhao.send(type="hello", person="zhao.li", room="helpdesk")
        history = await zhao.expect("history", room="helpdesk")

    assert own["text"] == "/note IT-1001 他的账号被锁过"
    seen = [f.get("text") for f in zhao.backlog] + [m.get("text") for m in history["messages"]]
    assert not any("账号被锁" in str(t) for t in seen)


async def test_a_requesters_notices_reach_their_direct_room_in_both_languages(
    db_url: str,
) -> None:
    # the lines of the next second join one message, as the minute's do in production
    config = service_config(db_url, env={"GONGDAN_OUTBOX__NOTICE_COALESCE_S": "1"})
    async with running(config) as svc:
        zhao = await join(svc, "zhao.li")
        await _say(zhao, "打印机卡纸", "o1")
        direct = await join(svc, "zhao.li", "dm:zhao.li")
        await _act(svc, "IT-1001", "accept", "li.lei")
        url = f"{svc.url}/api/v1/tickets/IT-1001/actions/wait"
        async with svc.http.post(url, json={"body": "哪一层？"}, headers=svc.auth("li.lei")) as r:
            assert r.status == 200
        line = await direct.expect("message", within=10.0, room="dm:zhao.li")

    assert line["bot"] is True
    # the page shows the language it is switched to, whatever zhao.li's configured one
    assert line["texts"] == {
        "zh-CN": "IT-1001 打印机卡纸：李雷 已受理。\nIT-1001 打印机卡纸：李雷 需要你的回复：哪一层？",
        "en": "IT-1001 打印机卡纸: accepted by Li Lei.\n"
        "IT-1001 打印机卡纸: Li Lei needs your reply: 哪一层？",
    }
