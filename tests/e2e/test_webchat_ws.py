"""The web chat over its WebSocket: a message opens a ticket, the card appears, Accept updates it."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from tests.e2e.harness import Running, running, service_config


class Chat:
    """One browser's socket. expect() returns the first unconsumed frame that matches, in order."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.backlog: list[dict[str, Any]] = []

    async def send(self, **frame: Any) -> None:
        await self.ws.send_json(frame)

    async def expect(self, kind: str, within: float = 5.0, **match: Any) -> dict[str, Any]:
        def matches(frame: dict[str, Any]) -> bool:
            return frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items())

        for i, frame in enumerate(self.backlog):
            if matches(frame):
                return self.backlog.pop(i)

        async def next_match() -> dict[str, Any]:
            while True:
                frame = await self.ws.receive_json()
                if matches(frame):
                    return frame
                self.backlog.append(frame)

        return await asyncio.wait_for(next_match(), within)


async def _join(svc: Running, person: str, room: str = "helpdesk") -> Chat:
    ws = await svc.http.ws_connect(svc.url + "/webchat/ws")
    chat = Chat(ws)
    await chat.send(type="hello", person=person, room=room)
    await chat.expect("history", room=room)
    return chat


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
