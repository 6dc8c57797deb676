"""Text no database can store: the API refuses it naming the field, chat keeps the message."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.e2e.harness import Running, running, service_config
from tests.e2e.test_webchat_ws import _join

API = "/api/v1"
VALID = 200


async def _post(svc: Running, raw: str) -> tuple[int, Any]:
    headers = {**svc.auth("zhao.li"), "Content-Type": "application/json"}
    async with svc.http.post(svc.url + API + "/tickets", data=raw, headers=headers) as r:
        return r.status, await r.json()


async def test_a_lone_surrogate_title_gets_422_naming_title_and_concurrent_creates_succeed(
    db_url: str,
) -> None:
    async with running(service_config(db_url)) as svc:
        poison = '{"type": "it", "title": "\\ud800"}'  # the JSON escape, as a client sends it
        valid = [json.dumps({"type": "it", "title": f"printer {i}"}) for i in range(VALID)]
        half = VALID // 2
        results = await asyncio.gather(
            *(_post(svc, raw) for raw in [*valid[:half], poison, *valid[half:]])
        )

        status, body = results[half]
        assert status == 422
        assert [f["field"] for f in body["fields"]] == ["title"]
        assert "surrogate" in body["detail"]
        created = [s for i, (s, _) in enumerate(results) if i != half]
        assert created == [201] * VALID
        async with svc.http.get(
            svc.url + API + "/tickets?limit=200", headers=svc.auth("admin")
        ) as r:
            assert len((await r.json())["items"]) == VALID


async def test_a_chat_message_with_a_lone_surrogate_opens_its_ticket_with_it_replaced(
    db_url: str,
) -> None:
    async with running(service_config(db_url)) as svc:
        chat = await _join(svc, "zhao.li")
        # what a browser's JSON.stringify sends for a string holding half an emoji
        await chat.ws.send_str(
            '{"type": "say", "room": "helpdesk", "text": "printer \\ud83d broken", '
            '"client_id": "c1"}'
        )

        ack = await chat.expect("ack", client_id="c1")
        async with svc.http.get(
            svc.url + API + f"/tickets/{ack['ticket']}", headers=svc.auth("admin")
        ) as r:
            assert (await r.json())["title"] == "printer \ufffd broken"
