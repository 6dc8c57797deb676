"""The REST API, driven over HTTP against the real service on both databases."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from typing import Any

import pytest

from bot.http.problems import REFUSED_LINES_PER_MINUTE
from tests.e2e.harness import Running, running, service_config

API = "/api/v1"


async def _create(svc: Running, body: dict[str, Any], who: str = "zhao.li", **headers: str) -> Any:
    async with svc.http.post(
        svc.url + API + "/tickets", json=body, headers={**svc.auth(who), **headers}
    ) as r:
        return r.status, await r.json(), r.headers


async def test_ticket_lifecycle_over_rest(db_url: str) -> None:
    async with running(service_config(db_url)) as svc:
        status, ticket, headers = await _create(
            svc, {"type": "it", "title": "3楼打印机坏了", "fields": {"category": "hardware"}}
        )
        assert status == 201
        assert ticket["key"] == "IT-1001"
        assert ticket["status"] == "assigned" and ticket["assignee"] == "li.lei"
        assert headers["Location"] == f"{API}/tickets/IT-1001"

        async with svc.http.post(
            svc.url + API + "/tickets/IT-1001/actions/accept", headers=svc.auth("li.lei")
        ) as r:
            assert r.status == 200
            accepted = await r.json()
        assert accepted["ticket"]["status"] == "accepted"
        assert accepted["ticket"]["version"] > ticket["version"]

        async with svc.http.post(
            svc.url + API + "/tickets/IT-1001/comments",
            json={"body": "换了硒鼓"},
            headers=svc.auth("li.lei"),
        ) as r:
            assert r.status == 201
        async with svc.http.post(
            svc.url + API + "/tickets/IT-1001/actions/resolve", headers=svc.auth("li.lei")
        ) as r:
            assert (await r.json())["ticket"]["status"] == "resolved"

        async with svc.http.get(
            svc.url + API + "/tickets/IT-1001/events", headers=svc.auth("admin")
        ) as r:
            kinds = [e["kind"] for e in (await r.json())["items"]]
        assert kinds == [
            "TicketOpened",
            "TicketAssigned",
            "TicketAccepted",
            "CommentAdded",
            "TicketResolved",
        ]
        async with svc.http.get(
            svc.url + API + "/tickets/IT-1001/comments", headers=svc.auth("admin")
        ) as r:
            assert [c["body"] for c in (await r.json())["items"]] == ["换了硒鼓"]


async def test_second_agent_accepting_is_told_who_already_accepted(db_url: str) -> None:
    async with running(service_config(db_url)) as svc:
        await _create(svc, {"type": "it", "title": "VPN down"})
        url = svc.url + API + "/tickets/IT-1001/actions/accept"

        async def accept(who: str) -> tuple[int, Any]:
            async with svc.http.post(url, headers=svc.auth(who)) as r:
                return r.status, await r.json()

        results = await asyncio.gather(accept("han.meimei"), accept("bob.smith"))
        statuses = sorted(s for s, _ in results)
        assert statuses == [200, 409]
        loser = next(body for s, body in results if s == 409)
        winner = next(body for s, body in results if s == 200)["ticket"]["assignee"]
        names = {"han.meimei": ("Han Meimei", "韩梅梅"), "bob.smith": ("Bob Smith", "鲍勃")}[winner]
        assert loser["error"] == "conflict"
        assert any(n in loser["detail"] for n in names)
        async with svc.http.get(
            svc.url + API + "/tickets/IT-1001/events", headers=svc.auth("admin")
        ) as r:
            kinds = [e["kind"] for e in (await r.json())["items"]]
        assert kinds.count("TicketAccepted") == 1


async def test_idempotency_key_replays_the_first_response(db_url: str) -> None:
    async with running(service_config(db_url)) as svc:
        body = {"type": "it", "title": "Monitor flickers"}
        first = await _create(svc, body, **{"Idempotency-Key": "k-1"})
        again = await asyncio.gather(
            *(_create(svc, body, **{"Idempotency-Key": "k-1"}) for _ in range(3))
        )
        assert first[0] == 201
        assert all(status == 201 and data == first[1] for status, data, _ in again)
        status, data, _ = await _create(
            svc, {"type": "it", "title": "Other"}, **{"Idempotency-Key": "k-1"}
        )
        assert status == 422 and data["error"] == "idempotency_key_reused"
        async with svc.http.get(svc.url + API + "/tickets", headers=svc.auth("admin")) as r:
            assert [t["key"] for t in (await r.json())["items"]] == ["IT-1001"]


async def test_list_filters_and_paginates(sqlite_url: str) -> None:
    async with running(service_config(sqlite_url)) as svc:
        for i in range(5):
            await _create(svc, {"type": "it", "title": f"issue {i}"})
        await _create(
            svc, {"type": "purchase", "title": "Chairs", "fields": {"item": "chair", "amount": 900}}
        )
        async with svc.http.post(
            svc.url + API + "/tickets/IT-1002/actions/accept", headers=svc.auth("han.meimei")
        ) as r:
            assert r.status == 200
        h = svc.auth("admin")
        async with svc.http.get(svc.url + API + "/tickets?type=it&limit=2", headers=h) as r:
            page1 = await r.json()
        assert [t["key"] for t in page1["items"]] == ["IT-1005", "IT-1004"]
        async with svc.http.get(
            svc.url + API + f"/tickets?type=it&limit=2&cursor={page1['next_cursor']}", headers=h
        ) as r:
            page2 = await r.json()
        assert [t["key"] for t in page2["items"]] == ["IT-1003", "IT-1002"]
        async with svc.http.get(
            svc.url + API + "/tickets?status=accepted&assignee=han.meimei", headers=h
        ) as r:
            assert [t["key"] for t in (await r.json())["items"]] == ["IT-1002"]
        async with svc.http.get(svc.url + API + "/tickets?type=purchase", headers=h) as r:
            assert [t["key"] for t in (await r.json())["items"]] == ["PR-1001"]


async def test_bad_input_gets_clear_4xx_answers(sqlite_url: str) -> None:
    async with running(service_config(sqlite_url)) as svc:
        base = svc.url + API
        async with svc.http.post(
            base + "/tickets", data=b"{not json", headers=svc.auth("admin")
        ) as r:
            body = await r.json()
            assert (
                r.status == 400
                and body["error"] == "malformed_json"
                and "not valid JSON" in body["detail"]
            )
        async with svc.http.get(base + "/tickets/IT-9999", headers=svc.auth("admin")) as r:
            assert r.status == 404 and (await r.json())["error"] == "not_found"
        status, body, _ = await _create(
            svc, {"type": "purchase", "title": "Laptop", "fields": {"item": "laptop", "amount": -5}}
        )
        assert status == 422
        assert body["fields"] == [
            {"field": "amount", "rule": "min", "message": "must be at least 0"}
        ]
        status, body, _ = await _create(
            svc, {"type": "it", "title": "x", "fields": {"category": "food"}}
        )
        assert status == 422 and body["fields"][0]["field"] == "category"
        async with svc.http.get(base + "/tickets") as r:
            assert r.status == 401 and (await r.json())["error"] == "unauthorized"
        async with svc.http.get(base + "/tickets", headers={"Authorization": "Bearer wrong"}) as r:
            assert r.status == 401
        await _create(svc, {"type": "it", "title": "Keyboard"})
        async with svc.http.post(
            base + "/tickets/IT-1001/actions/resolve", headers=svc.auth("zhao.li")
        ) as r:
            assert r.status == 403 and (await r.json())["error"] == "forbidden"
        async with svc.http.post(
            base + "/tickets/IT-1001/actions/teleport", headers=svc.auth("admin")
        ) as r:
            assert r.status == 404 and "teleport" in (await r.json())["detail"]
        async with svc.http.get(base + "/tickets?status=bogus", headers=svc.auth("admin")) as r:
            assert r.status == 400
        async with svc.http.get(base + "/tickets?cursor=%%%", headers=svc.auth("admin")) as r:
            assert r.status == 400


async def test_types_openapi_health_and_metrics(sqlite_url: str) -> None:
    async with running(service_config(sqlite_url)) as svc:
        async with svc.http.get(svc.url + API + "/ticket-types", headers=svc.auth("zhao.li")) as r:
            types = {t["id"]: t for t in (await r.json())["items"]}
        assert types["purchase"]["fields"][1]["kind"] == "number"
        assert types["it"]["name"] == {"zh-CN": "IT 服务", "en": "IT request"}
        async with svc.http.get(svc.url + API + "/openapi.json") as r:
            doc = await r.json()
        assert doc["openapi"] == "3.1.0" and "/tickets/{key}/actions/{action}" in doc["paths"]
        async with svc.http.get(svc.url + "/healthz") as r:
            assert r.status == 200
        async with svc.http.get(svc.url + "/readyz") as r:
            assert r.status == 200
        await _create(svc, {"type": "it", "title": "metrics"})
        async with svc.http.get(svc.url + "/metrics") as r:
            text = await r.text()
        assert 'gongdan_commands_total{kind="OpenTicket",result="ok"} 1' in text
        # the ticket was committed in some group commit, and the batch-size histogram saw it
        assert re.search(r"^gongdan_commit_batch_size_sum [1-9]", text, re.M)


async def test_control_characters_and_odd_types_never_cause_a_server_error(db_url: str) -> None:
    async with running(service_config(db_url)) as svc:
        # text no database can store is refused naming the field, not silently changed
        status, body, _ = await _create(
            svc, {"type": "it", "title": "nul\u0000byte", "description": "a\u0000"}
        )
        assert status == 422
        assert {(f["field"], f["rule"]) for f in body["fields"]} == {
            ("title", "text"),
            ("description", "text"),
        }
        for bad in (
            {"type": "it", "title": ["list"]},
            {"type": "it", "title": "x", "fields": {"location": {"nested": 1}}},
            {"type": "it", "title": "x", "fields": []},
            {"type": "it", "title": "x", "priority": 3},
            {"type": 7, "title": "x"},
            {"type": "it", "title": "x" * 201},
        ):
            status, body, _ = await _create(svc, bad)
            assert status == 422, (bad, body)
        async with svc.http.post(
            svc.url + API + "/tickets",
            data=io.BytesIO(b"x" * (2 * 1024 * 1024)),
            headers=svc.auth("admin"),
        ) as r:
            assert r.status == 413 and (await r.json())["error"] == "too_large"
        async with svc.http.get(svc.url + "/nowhere") as r:
            assert r.status == 404 and (await r.json())["error"] == "not_found"
        async with svc.http.request("TRACE", svc.url + API + "/ticket-types") as r:
            assert r.status == 405 and r.headers["Allow"] == "GET,HEAD"


async def test_comment_retried_with_the_same_idempotency_key_is_added_once(db_url: str) -> None:
    async with running(service_config(db_url)) as svc:
        await _create(svc, {"type": "it", "title": "Printer jam"})
        await _create(svc, {"type": "it", "title": "Scanner jam"})
        url = svc.url + API + "/tickets/{}/comments"

        async def comment(key: str, body: str, idem: str) -> tuple[int, Any, Any]:
            headers = {**svc.auth("li.lei"), "Idempotency-Key": idem}
            async with svc.http.post(url.format(key), json={"body": body}, headers=headers) as r:
                return r.status, await r.json(), r.headers

        first = await comment("IT-1001", "换了硒鼓", "c-1")
        retries = await asyncio.gather(*(comment("IT-1001", "换了硒鼓", "c-1") for _ in range(3)))
        assert first[0] == 201
        assert all(status == 201 and data == first[1] for status, data, _ in retries)
        assert all(headers["Idempotent-Replayed"] == "true" for _, _, headers in retries)
        other_body = await comment("IT-1001", "换了鼓", "c-1")
        other_ticket = await comment("IT-1002", "换了硒鼓", "c-1")
        assert other_body[0] == other_ticket[0] == 422
        assert other_body[1]["error"] == "idempotency_key_reused"

        async with svc.http.get(url.format("IT-1001"), headers=svc.auth("admin")) as r:
            assert [c["body"] for c in (await r.json())["items"]] == ["换了硒鼓"]
        async with svc.http.get(url.format("IT-1002"), headers=svc.auth("admin")) as r:
            assert (await r.json())["items"] == []


async def test_a_flood_of_refused_requests_logs_one_short_line_each_up_to_a_limit(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(service_config(sqlite_url)) as svc:
        caplog.set_level(logging.INFO, logger="gongdan.http")
        caplog.clear()
        for _ in range(REFUSED_LINES_PER_MINUTE + 10):
            async with svc.http.get(
                svc.url + API + "/tickets", headers={"Authorization": "Bearer \u00ff\u00fe"}
            ) as r:
                assert r.status == 401
        lines = [r for r in caplog.records if r.name == "gongdan.http"]
        assert len(lines) == REFUSED_LINES_PER_MINUTE
        assert all(r.exc_info is None and r.levelno == logging.INFO for r in lines)
        assert lines[0].getMessage() == "refused unauthorized: unknown API token"
