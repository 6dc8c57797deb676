"""Issue 11 over REST: edits, internal notes, search, languages, and people kept informed."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from core.i18n import Locale
from storage.tables import outbox
from tests.e2e.harness import Running, running, service_config

API = "/api/v1"


async def _create(svc: Running, body: dict[str, Any], who: str = "zhao.li") -> Any:
    async with svc.http.post(svc.url + API + "/tickets", json=body, headers=svc.auth(who)) as r:
        return r.status, await r.json()


async def _act(svc: Running, key: str, action: str, who: str, **body: str) -> Any:
    url = f"{svc.url}{API}/tickets/{key}/actions/{action}"
    async with svc.http.post(url, json=body, headers=svc.auth(who)) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def _notices(svc: Running, locale: Locale | None = None) -> dict[str, list[list[str]]]:
    """The notice rows queued for people, by direct room: each row's text line by line, in
    `locale` (by default the language of the person whose room it is)."""
    directory = svc.services.service.directory
    async with svc.services.service.engine.connect() as conn:
        rows = (await conn.execute(sa.select(outbox).where(outbox.c.kind == "notice"))).mappings()
        found: dict[str, list[list[str]]] = {}
        for row in rows:
            if "lines" in row["payload"]:
                room = row["target"]["conversation"]
                person = directory.person(room.removeprefix("dm:"))
                shown = locale or (person.locale if person else "zh-CN")
                lines = row["payload"]["text"][shown].split("\n")
                found.setdefault(room, []).append(lines)
        return found


async def test_requester_hears_accepted_waiting_and_resolved_once_each_in_one_message(
    db_url: str,
) -> None:
    async with running(service_config(db_url)) as svc:
        _, ticket = await _create(svc, {"type": "it", "title": "打印机卡纸"})
        key = ticket["key"]
        assert ticket["assignee"] == "li.lei"
        # Bob takes it over from Li Lei (the team lead it was assigned to), twice by mistake
        await _act(svc, key, "accept", "bob.smith")
        again = await _act(svc, key, "accept", "bob.smith")
        assert again["changed"] is False
        await _act(svc, key, "wait", "bob.smith", body="哪一层？")
        await _act(svc, key, "resume", "bob.smith")
        await _act(svc, key, "resolve", "bob.smith", body="换了硒鼓")

        notices = await _notices(svc)
        # the requester: one coalesced message (within the minute), each line exactly once
        assert notices["dm:zhao.li"] == [
            [
                f"{key} 打印机卡纸：鲍勃 已受理。",
                f"{key} 打印机卡纸：鲍勃 需要你的回复：哪一层？",
                f"{key} 打印机卡纸：鲍勃 已解决：换了硒鼓",
            ]
        ]
        # the previous assignee heard of the assignment, then of the take-over; Bob is told
        # nothing he did himself
        assert notices["dm:li.lei"] == [
            [
                f"{key} 打印机卡纸 已分派给你。",
                f"鲍勃 接手了 {key} 打印机卡纸，这张工单不再由你处理。",
            ]
        ]
        assert "dm:bob.smith" not in notices
        # every line is kept in both languages, through coalescing: a reader who switched
        # their page to English reads it in English
        assert (await _notices(svc, "en"))["dm:zhao.li"] == [
            [
                f"{key} 打印机卡纸: accepted by Bob Smith.",
                f"{key} 打印机卡纸: Bob Smith needs your reply: 哪一层？",
                f"{key} 打印机卡纸: resolved by Bob Smith: 换了硒鼓",
            ]
        ]

        async with svc.http.get(
            f"{svc.url}{API}/tickets/{key}/events", headers=svc.auth("admin")
        ) as r:
            events = (await r.json())["items"]
        takeover = [e for e in events if e["kind"] == "TicketTakenOver"]
        assert [e["data"] for e in takeover] == [{"previous": "li.lei", "assignee": "bob.smith"}]


async def test_a_new_assignee_hears_in_their_own_language(
    sqlite_url: str,
) -> None:
    async with running(service_config(sqlite_url)) as svc:
        _, ticket = await _create(svc, {"type": "it", "title": "VPN"})
        key = ticket["key"]
        await _act(svc, key, "assign", "li.lei", assignee="bob.smith")
        notices = await _notices(svc)
        assert notices["dm:bob.smith"] == [[f"{key} VPN is now assigned to you (by Li Lei)."]]
        # he heard of the assignment at opening, not of a reassignment he made himself
        assert notices["dm:li.lei"] == [[f"{key} VPN 已分派给你。"]]


async def test_internal_note_is_marked_and_only_the_team_may_write_one(db_url: str) -> None:
    async with running(service_config(db_url)) as svc:
        _, ticket = await _create(svc, {"type": "it", "title": "邮箱满了"})
        url = f"{svc.url}{API}/tickets/{ticket['key']}/comments"
        async with svc.http.post(
            url, json={"body": "他上周也报过", "internal": True}, headers=svc.auth("li.lei")
        ) as r:
            assert r.status == 201
            assert (await r.json())["internal"] is True
        async with svc.http.post(
            url, json={"body": "我也想看", "internal": True}, headers=svc.auth("zhao.li")
        ) as r:
            assert r.status == 403
            assert "内部备注仅限支持团队" in (await r.json())["detail"]
        async with svc.http.post(url, json={"body": "已清理"}, headers=svc.auth("li.lei")) as r:
            assert r.status == 201
        async with svc.http.get(url, headers=svc.auth("admin")) as r:
            items = (await r.json())["items"]
        assert [(c["body"], c["internal"], c["visible_to"]) for c in items] == [
            ("他上周也报过", True, "team"),
            ("已清理", False, "everyone"),
        ]


async def test_patch_validates_every_field_at_once_and_refuses_a_stale_version(
    db_url: str,
) -> None:
    async with running(service_config(db_url)) as svc:
        _, ticket = await _create(svc, {"type": "it", "title": "电脑很慢"})
        url = f"{svc.url}{API}/tickets/{ticket['key']}"
        async with svc.http.get(url, headers=svc.auth("zhao.li")) as r:
            etag = r.headers["ETag"]
        async with svc.http.patch(
            url,
            json={"title": "", "priority": "asap", "fields": {"category": "food"}},
            headers={**svc.auth("li.lei"), "If-Match": etag},
        ) as r:
            assert r.status == 422
            fields = {f["field"] for f in (await r.json())["fields"]}
        assert fields == {"title", "priority", "category"}

        async with svc.http.patch(
            url,
            json={"priority": "high", "fields": {"category": "software"}},
            headers={**svc.auth("li.lei"), "If-Match": etag},
        ) as r:
            assert r.status == 200
            edited = await r.json()
        assert edited["changed"] is True
        assert edited["ticket"]["priority"] == "high"
        assert edited["ticket"]["fields"] == {"category": "software"}

        # the same If-Match again: someone (this very edit) changed it since
        async with svc.http.patch(
            url,
            json={"title": "电脑非常慢"},
            headers={**svc.auth("li.lei"), "If-Match": etag, "Accept-Language": "en"},
        ) as r:
            assert r.status == 409
            assert "changed since you read it" in (await r.json())["detail"]

        async with svc.http.get(url + "/events", headers=svc.auth("admin")) as r:
            edits = [e for e in (await r.json())["items"] if e["kind"] == "TicketEdited"]
        assert edits[0]["data"]["changes"] == {
            "priority": {"from": "normal", "to": "high"},
            "fields.category": {"from": None, "to": "software"},
        }


async def test_patch_to_another_type_checks_that_types_form(sqlite_url: str) -> None:
    async with running(service_config(sqlite_url)) as svc:
        _, ticket = await _create(svc, {"type": "it", "title": "要一台显示器"})
        url = f"{svc.url}{API}/tickets/{ticket['key']}"
        async with svc.http.patch(url, json={"type": "purchase"}, headers=svc.auth("li.lei")) as r:
            assert r.status == 422
            assert {f["field"] for f in (await r.json())["fields"]} == {"item", "amount"}
        async with svc.http.patch(
            url,
            json={"type": "purchase", "fields": {"item": "显示器", "amount": 1200}},
            headers=svc.auth("zhao.li"),
        ) as r:
            assert r.status == 200
            assert (await r.json())["ticket"]["type"] == "purchase"
        async with svc.http.patch(url, json={"colour": "red"}, headers=svc.auth("li.lei")) as r:
            assert r.status == 422
            assert (await r.json())["fields"][0]["field"] == "colour"


async def test_a_missing_title_does_not_hide_the_other_errors(sqlite_url: str) -> None:
    async with running(service_config(sqlite_url)) as svc:
        status, body = await _create(svc, {"type": "purchase", "fields": {"amount": -1}})
        assert status == 422
        assert {f["field"] for f in body["fields"]} == {"title", "item", "amount"}


async def test_list_searches_with_q_refuses_unknown_filters_and_ors_repeated_status(
    db_url: str,
) -> None:
    async with running(service_config(db_url)) as svc:
        _, first = await _create(svc, {"type": "it", "title": "VPN connects then drops"})
        _, second = await _create(svc, {"type": "it", "title": "打印机", "description": "no vpn"})
        await _create(svc, {"type": "it", "title": "Mouse"})
        await _act(svc, second["key"], "accept", "li.lei")
        base = f"{svc.url}{API}/tickets"

        async def keys(query: str) -> Any:
            async with svc.http.get(base + query, headers=svc.auth("admin")) as r:
                return r.status, await r.json()

        status, page = await keys("?q=vpn")
        assert status == 200
        assert [t["key"] for t in page["items"]] == [second["key"], first["key"]]
        status, page = await keys(f"?q={first['key'].lower()}")
        assert [t["key"] for t in page["items"]] == [first["key"]]
        status, page = await keys("?q=50%25")
        assert page["items"] == []  # % is a character, not a wildcard
        status, page = await keys("?status=assigned&status=accepted&q=vpn")
        assert len(page["items"]) == 2
        status, page = await keys("?status=accepted")
        assert [t["key"] for t in page["items"]] == [second["key"]]
        status, error = await keys("?search=vpn")
        assert status == 400 and error["detail"].startswith("search: not a filter")
        status, error = await keys("?team=it&team=hr")
        assert status == 400 and error["detail"] == "team: give it once"


async def test_errors_follow_accept_language(sqlite_url: str) -> None:
    async with running(service_config(sqlite_url)) as svc:
        _, ticket = await _create(svc, {"type": "it", "title": "键盘"})
        url = f"{svc.url}{API}/tickets/{ticket['key']}/actions/cancel"
        for language, expected in (
            ("en", "only the requester or the team's lead"),
            ("zh-CN", "只有提单人或团队负责人"),
        ):
            async with svc.http.post(
                url, headers={**svc.auth("han.meimei"), "Accept-Language": language}
            ) as r:
                assert r.status == 403
                assert expected in (await r.json())["detail"]
        async with svc.http.post(
            svc.url + API + "/tickets",
            json={"type": "it", "title": ""},
            headers={**svc.auth("bob.smith"), "Accept-Language": "zh-CN,en;q=0.5"},
        ) as r:
            assert (await r.json())["fields"][0]["message"] == "请填写标题"
