"""What each person sees in the web chat: cards fit the viewer, a card's conversation is a live
thread under it, and a restart keeps every card at its own time (direct rooms included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.webchat.channel import WebchatChannel
from core.clock import FrozenClock
from tests.e2e.harness import Running, running, service_config
from tests.e2e.test_escalation import OPENED, escalating_config
from tests.e2e.webchat_clients import Chat, join

API = "/api/v1"


async def _opened(chat: Chat, text: str = "打印机卡纸") -> dict[str, Any]:
    await chat.send(type="say", room="helpdesk", text=text, client_id="open-1")
    await chat.expect("ack", client_id="open-1")
    return await chat.expect("card", ticket="IT-1001")


DAY_AFTER = datetime(2026, 1, 6, 3, 0, tzinfo=UTC)


async def _han_reminded(
    svc: Running, clock: FrozenClock
) -> tuple[dict[str, Any], dict[str, Any], Chat]:
    """zhao.li opens a ticket (round robin gives it to han.meimei) and 3 h 50 min later, 10 min
    before its first response is due, han's direct room gets the reminder: (the ticket's card,
    the reminder, han's socket in that room)."""
    scheduler = svc.services.scheduler
    assert scheduler is not None
    requester = await join(svc, "zhao.li")
    han = await join(svc, "han.meimei", room="dm:han.meimei")
    card = await _opened(requester, "VPN 连不上")
    clock.advance(timedelta(hours=3, minutes=50))
    await scheduler.tick()
    reminder = await han.expect("card", room="dm:han.meimei", ticket="IT-1001")
    return card, reminder, han


async def _direct_room(svc: Running, person: str) -> dict[str, Any]:
    """The history a person's direct room shows when they come back to it."""
    chat = await join(svc, person, room=f"dm:{person}")
    await chat.send(type="hello", person=person, room=f"dm:{person}")
    return await chat.expect("history", room=f"dm:{person}")


async def test_a_requester_is_offered_only_what_they_may_do(sqlite_url: str) -> None:
    async with running(service_config(sqlite_url)) as svc:
        requester = await join(svc, "zhao.li")
        agent = await join(svc, "li.lei")
        mine = await _opened(requester)
        theirs = await agent.expect("card", ticket="IT-1001")

        for locale in ("en", "zh-CN"):
            assert 'data-action="accept"' not in mine["html"][locale]
            assert 'data-action="resolve"' not in mine["html"][locale]
            assert 'data-action="assign"' not in mine["html"][locale]
            assert 'data-action="comment"' in mine["html"][locale]
            assert 'data-action="cancel"' in mine["html"][locale]
        assert 'data-action="accept"' in theirs["html"]["en"]
        # the same card, as each of them sees it, again when they come back to the room
        again = await join(svc, "zhao.li", room="general")
        await again.send(type="hello", person="zhao.li", room="helpdesk")
        frame = await again.expect("history", room="helpdesk")
        (card,) = [m for m in frame["messages"] if m.get("ticket") == "IT-1001"]
        assert 'data-action="accept"' not in card["html"]["en"]


async def test_sla_due_names_its_target_and_is_a_time_the_page_can_localise(
    sqlite_url: str,
) -> None:
    async with running(escalating_config(sqlite_url), FrozenClock(OPENED)) as svc:
        requester = await join(svc, "zhao.li")
        card = await _opened(requester)
        assert "SLA due (first response)" in card["html"]["en"]
        assert "SLA 截止（首次响应）" in card["html"]["zh-CN"]
        assert (
            '<time datetime="2026-01-05T05:00:00+00:00" data-local="datetime">'
            in (card["html"]["en"])
        )


async def test_a_comment_from_a_card_is_confirmed_and_joins_its_thread_in_every_tab(
    sqlite_url: str,
) -> None:
    async with running(service_config(sqlite_url)) as svc:
        requester = await join(svc, "zhao.li")
        other_tab = await join(svc, "zhao.li")
        agent = await join(svc, "li.lei")
        card = await _opened(requester)
        await agent.expect("card", ticket="IT-1001")

        await agent.send(
            type="action",
            room="helpdesk",
            ticket="IT-1001",
            action="comment",
            value="请重启一下打印机",
            version=card["version"],
            client_id="k1",
        )
        confirmed = await agent.expect("notice", client_id="k1")
        assert confirmed["text"]["en"] == "Comment added to IT-1001."
        for chat in (requester, other_tab, agent):
            frame = await chat.expect("comment", ticket="IT-1001")
            comment = frame["comment"]
            assert comment["body"] == "请重启一下打印机"
            assert comment["author"] == {"id": "li.lei", "name": {"zh-CN": "李雷", "en": "Li Lei"}}
            assert comment["channel"] == "webchat" and comment["internal"] is False
        # no loose line in the room: the comment lives under its card
        assert not [f for f in requester.backlog if f.get("type") == "message" and f["bot"]]

        late = await join(svc, "han.meimei")
        await late.send(type="hello", person="han.meimei", room="helpdesk")
        history = await late.expect("history", room="helpdesk")
        (shown,) = [m for m in history["messages"] if m.get("ticket") == "IT-1001"]
        assert [c["body"] for c in shown["thread"]] == ["请重启一下打印机"]


async def test_a_comment_made_elsewhere_joins_the_thread_and_internal_notes_stay_with_the_team(
    sqlite_url: str,
) -> None:
    async with running(service_config(sqlite_url)) as svc:
        requester = await join(svc, "zhao.li")
        agent = await join(svc, "li.lei")
        await _opened(requester)
        url = f"{svc.url}{API}/tickets/IT-1001/comments"
        async with svc.http.post(url, json={"body": "已换新硒鼓"}, headers=svc.auth("li.lei")) as r:
            assert r.status == 201
        frame = await requester.expect("comment", ticket="IT-1001")
        assert frame["comment"]["body"] == "已换新硒鼓"
        assert frame["comment"]["author"]["name"] == {"zh-CN": "李雷", "en": "Li Lei"}
        await agent.expect("comment", ticket="IT-1001")
        assert not [f for f in requester.backlog if f.get("type") == "message" and f["bot"]]

        # a note written on the card by the team is shown to the team only
        webchat = svc.services.channels["webchat"]
        assert isinstance(webchat, WebchatChannel)
        webchat.hub.add_comment(
            "IT-1001",
            {"id": "li.lei", "name": {}},
            "他上周也报过",
            channel="webchat",
            internal=True,
        )
        note = await agent.expect("comment", ticket="IT-1001")
        assert note["comment"]["internal"] is True
        await requester.send(type="hello", person="zhao.li", room="helpdesk")
        history = await requester.expect("history", room="helpdesk")
        (shown,) = [m for m in history["messages"] if m.get("ticket") == "IT-1001"]
        assert [c["body"] for c in shown["thread"]] == ["已换新硒鼓"]
        assert not [f for f in requester.backlog if f.get("type") == "comment"]


async def test_a_restart_keeps_each_card_at_its_own_time_and_the_direct_rooms_cards(
    sqlite_url: str,
) -> None:
    clock = FrozenClock(OPENED)
    config = escalating_config(sqlite_url)
    async with running(config, clock) as svc:
        card, reminder, _ = await _han_reminded(svc, clock)
        assert card["at"] == "2026-01-05T01:00:00+00:00"
        assert reminder["at"] == "2026-01-05T04:50:00+00:00"

    clock.set(DAY_AFTER)
    async with running(config, clock) as svc:
        requester = await join(svc, "zhao.li")
        await requester.send(type="hello", person="zhao.li", room="helpdesk")
        room = await requester.expect("history", room="helpdesk")
        direct = await _direct_room(svc, "han.meimei")

    assert [(m["ticket"], m["at"]) for m in room["messages"] if m["type"] == "card"] == [
        ("IT-1001", "2026-01-05T01:00:00+00:00")
    ]
    (kept,) = [m for m in direct["messages"] if m["type"] == "card"]
    assert kept["ticket"] == "IT-1001" and kept["at"] == "2026-01-05T04:50:00+00:00"
    assert 'data-action="snooze"' in kept["html"]["en"]


async def test_a_ticket_is_edited_from_its_card_with_errors_inline_and_the_card_changes_everywhere(
    sqlite_url: str,
) -> None:
    async with running(service_config(sqlite_url)) as svc:
        requester = await join(svc, "zhao.li")
        agent = await join(svc, "li.lei")
        card = await _opened(requester, "电脑很慢")
        assert 'data-edit="IT-1001"' in card["html"]["en"]

        await agent.send(type="edit", room="helpdesk", ticket="IT-1001", client_id="e1")
        form = await agent.expect("form", client_id="e1")
        assert form["edit"] == "IT-1001"
        html = form["html"]["en"]
        assert 'data-edit="IT-1001"' in html and 'value="电脑很慢"' in html
        assert 'name="priority"' in html and 'name="type"' in html

        edit = {
            "type": "submit_edit",
            "room": "helpdesk",
            "ticket": "IT-1001",
            "version": card["version"],
            "ticket_type": "it",
            "description": "",
            "fields": {},
        }
        await agent.send(**edit, title="", priority="high", client_id="e2")
        errors = await agent.expect("form_errors", client_id="e2")
        assert 'data-field="title"' in errors["html"]["en"]
        assert "form-row--error" in errors["html"]["en"]

        await agent.send(**edit, title="电脑开机很慢", priority="high", client_id="e3")
        await agent.expect("ack", client_id="e3")
        for chat in (requester, agent):
            update = await chat.expect("card_update", ticket="IT-1001")
            assert "电脑开机很慢" in update["html"]["zh-CN"] and "High" in update["html"]["en"]

        await agent.send(**edit, title="又改了", priority="low", client_id="e4")  # stale version
        refused = await agent.expect("notice", client_id="e4")
        assert refused["level"] == "error" and "IT-1001" in refused["text"]["en"]


async def test_a_file_attached_on_a_card_shows_in_its_thread_and_downloads_for_who_may_see_it(
    sqlite_url: str, tmp_path: Path
) -> None:
    env = {
        "GONGDAN_ATTACHMENTS__DIR": str(tmp_path / "files"),
        "GONGDAN_ATTACHMENTS__MAX_BYTES": "1000",
    }
    async with running(service_config(sqlite_url, env=env)) as svc:
        requester = await join(svc, "zhao.li")
        agent = await join(svc, "li.lei")
        await _opened(requester)
        upload = svc.url + "/webchat/tickets/IT-1001/attachments"
        shot = b"\x89PNG\r\n\x1a\n pretend screenshot"
        query = {"person": "zhao.li", "name": "报错截图.png", "client_id": "u1"}
        headers = {"Content-Type": "image/png"}
        async with svc.http.post(upload, params=query, data=shot, headers=headers) as r:
            assert r.status == 201
            shown = (await r.json())["attachment"]
        assert shown["name"] == "报错截图.png" and shown["size"] == len(shot)

        frame = await agent.expect("comment", ticket="IT-1001")
        assert frame["comment"]["attachments"] == [shown]
        assert frame["comment"]["author"]["id"] == "zhao.li"

        download = f"{svc.url}/webchat/attachments/{shown['id']}"
        async with svc.http.get(download, params={"person": "li.lei"}) as r:
            assert r.status == 200
            assert await r.read() == shot
            assert r.headers["Content-Disposition"].startswith("attachment;")
            assert r.headers["X-Content-Type-Options"] == "nosniff"
        async with svc.http.get(download, params={"person": "nobody"}) as r:
            assert r.status == 404
        # the same file over REST: it is the ticket's attachment like a mailed one
        async with svc.http.get(
            f"{svc.url}{API}/tickets/IT-1001/attachments", headers=svc.auth("li.lei")
        ) as r:
            assert [a["filename"] for a in (await r.json())["items"]] == ["报错截图.png"]

        too_big = {**query, "client_id": "u2"}
        async with svc.http.post(upload, params=too_big, data=b"x" * 1001, headers=headers) as r:
            assert r.status == 413
            assert "file" in (await r.json())["error"]["en"]
        async with svc.http.post(upload, params={**query, "person": "nobody"}, data=shot) as r:
            assert r.status == 400


async def test_a_note_ticked_internal_on_the_card_reaches_the_team_only(sqlite_url: str) -> None:
    async with running(service_config(sqlite_url)) as svc:
        requester = await join(svc, "zhao.li")
        agent = await join(svc, "li.lei")
        card = await _opened(requester)
        theirs = await agent.expect("card", ticket="IT-1001")
        assert 'name="internal"' in theirs["html"]["en"]
        assert 'name="internal"' not in card["html"]["en"]

        note = {"type": "action", "room": "helpdesk", "ticket": "IT-1001", "action": "comment"}
        await agent.send(**note, value="他上周也报过", internal=True, client_id="n1")
        frame = await agent.expect("comment", ticket="IT-1001")
        assert frame["comment"]["internal"] is True
        await agent.send(**note, value="已经在处理", client_id="n2")
        await requester.expect("comment", ticket="IT-1001")
        assert not [f for f in requester.backlog if f.get("type") == "comment"]
        async with svc.http.get(
            f"{svc.url}{API}/tickets/IT-1001/comments", headers=svc.auth("admin")
        ) as r:
            items = (await r.json())["items"]
        assert [(c["body"], c["internal"]) for c in items] == [
            ("他上周也报过", True),
            ("已经在处理", False),
        ]
        # a requester cannot make their comment a note by sending the flag anyway
        await requester.send(**note, value="我也要备注", internal=True, client_id="n3")
        refused = await requester.expect("notice", client_id="n3")
        assert refused["level"] == "error"


async def test_a_restart_keeps_the_comments_under_each_card_and_notes_with_the_team(
    sqlite_url: str,
) -> None:
    clock = FrozenClock(OPENED)
    config = service_config(sqlite_url)
    async with running(config, clock) as svc:
        requester = await join(svc, "zhao.li")
        await _opened(requester)
        url = f"{svc.url}{API}/tickets/IT-1001/comments"
        for body, internal in (("已换新硒鼓", False), ("他上周也报过", True)):
            clock.advance(timedelta(minutes=5))
            async with svc.http.post(
                url, json={"body": body, "internal": internal}, headers=svc.auth("li.lei")
            ) as r:
                assert r.status == 201

    async with running(config, clock) as svc:
        requester = await join(svc, "zhao.li")
        await requester.send(type="hello", person="zhao.li", room="helpdesk")
        mine = await requester.expect("history", room="helpdesk")
        agent = await join(svc, "li.lei")
        await agent.send(type="hello", person="li.lei", room="helpdesk")
        theirs = await agent.expect("history", room="helpdesk")

    (card,) = [m for m in mine["messages"] if m.get("ticket") == "IT-1001"]
    assert [(c["body"], c["author"]["name"]["en"]) for c in card["thread"]] == [
        ("已换新硒鼓", "Li Lei")
    ]
    assert card["thread"][0]["at"] == "2026-01-05T01:05:00+00:00"  # when it was written
    (seen,) = [m for m in theirs["messages"] if m.get("ticket") == "IT-1001"]
    assert [(c["body"], c["internal"]) for c in seen["thread"]] == [
        ("已换新硒鼓", False),
        ("他上周也报过", True),
    ]


async def test_the_note_box_is_offered_to_the_team_only_when_both_see_the_same_buttons(
    sqlite_url: str,
) -> None:
    config = service_config(sqlite_url)
    async with running(config) as svc:
        requester = await join(svc, "zhao.li")
        await _opened(requester)
        for action in ("accept", "resolve"):
            url = f"{svc.url}{API}/tickets/IT-1001/actions/{action}"
            async with svc.http.post(url, headers=svc.auth("li.lei")) as r:
                assert r.status == 200

    async with running(config) as svc:  # after a restart the agent happens to look first
        agent = await join(svc, "li.lei")
        await agent.send(type="hello", person="li.lei", room="helpdesk")
        theirs = await agent.expect("history", room="helpdesk")
        requester = await join(svc, "zhao.li")
        await requester.send(type="hello", person="zhao.li", room="helpdesk")
        mine = await requester.expect("history", room="helpdesk")

    def card_html(history: dict[str, Any]) -> str:
        (card,) = [m for m in history["messages"] if m.get("ticket") == "IT-1001"]
        return str(card["html"]["en"])

    assert 'name="internal"' in card_html(theirs)
    assert 'name="internal"' not in card_html(mine)


async def test_a_reminder_in_a_direct_room_follows_the_ticket_and_stays_a_reminder(
    sqlite_url: str,
) -> None:
    clock = FrozenClock(OPENED)
    config = escalating_config(sqlite_url)
    async with running(config, clock) as svc:
        _, reminder, han = await _han_reminded(svc, clock)
        accept = f"{svc.url}{API}/tickets/IT-1001/actions/accept"
        async with svc.http.post(accept, headers=svc.auth("han.meimei")) as r:
            assert r.status == 200, await r.text()
        updated = await han.expect("card_update", room="dm:han.meimei", id=reminder["id"])

    # restarted a day later: the direct room shows the reminder as it now is, still a reminder
    clock.set(DAY_AFTER)
    async with running(config, clock) as svc:
        direct = await _direct_room(svc, "han.meimei")

    assert reminder["kind"] == "reminder" and 'data-action="accept"' in reminder["html"]["en"]
    # accepted elsewhere: the card says so and no longer offers Accept; its words stay the
    # reminder's (due in 10 minutes, as when it was sent)
    assert updated["kind"] == "reminder"
    assert (
        "Accepted" in updated["html"]["en"] and 'data-action="accept"' not in updated["html"]["en"]
    )
    assert "10 min" in updated["html"]["en"]
    (kept,) = [m for m in direct["messages"] if m["type"] == "card"]
    assert kept["kind"] == "reminder" and "Accepted" in kept["html"]["en"]
