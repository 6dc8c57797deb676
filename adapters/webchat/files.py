"""Files in the web chat: a person attaches a file to a ticket from its card, and downloads it.

Upload: `POST /webchat/tickets/{key}/attachments?person=…&name=…&client_id=…`, the file's bytes
as the body (its Content-Type kept). Stored like mail attachments (the Files port: bytes on disk,
a row on the ticket), at most `attachments.max_bytes`, and shown in the card's thread.
Download: `GET /webchat/attachments/{id}?person=…` answers only if that person may see the
ticket (core's may_view), always as a download (never shown inline in our origin).
As everywhere in the web chat, the person is the one chosen on the page.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote

from aiohttp import web

from adapters.ports import Cards, Downloads, Files, InboundFile, People, attachment_id
from adapters.webchat.rooms import CHANNEL, RoomHub
from core.people import Person
from core.permissions import may
from core.text import clean_text
from core.workflow import Action

_NAME_MAX = 200


class FilePorts(People, Cards, Files, Downloads, Protocol):
    """What files in the web chat ask of the bot."""


def _refuse(status: int, en: str, zh: str) -> web.Response:
    return web.json_response({"error": {"en": en, "zh-CN": zh}}, status=status)


class FileRoutes:
    def __init__(self, ports: FilePorts, hub: RoomHub, max_bytes: int) -> None:
        self.ports = ports
        self.hub = hub
        self.max_bytes = max_bytes

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.post("/webchat/tickets/{key}/attachments", self.upload),
            web.get("/webchat/attachments/{id}", self.download),
        ]

    def _person(self, request: web.Request) -> Person | None:
        return self.ports.directory.person(request.query.get("person", ""))

    async def upload(self, request: web.Request) -> web.Response:
        person = self._person(request)
        if person is None:
            return _refuse(400, "person: unknown person", "person：未知的人员")
        key = request.match_info["key"]
        name = clean_text(request.query.get("name", "").strip())[:_NAME_MAX]
        client_id = request.query.get("client_id", "")
        if not name:
            return _refuse(400, "name: the file's name is required", "name：需要文件名")
        if not 0 < len(client_id) <= 100:
            return _refuse(400, "client_id: 1 to 100 characters", "client_id：需要 1 到 100 个字符")
        data = await request.read()
        if not data:
            return _refuse(400, "file: is empty", "file：文件为空")
        if len(data) > self.max_bytes:
            limit = f"{self.max_bytes / 2**20:.1f} MiB"
            return _refuse(413, f"file: larger than {limit}", f"file：文件超过 {limit}")
        card = await self.ports.card(key, "en")
        if card is None or card.ticket is None:
            return _refuse(404, f"no ticket {key}", f"找不到工单 {key}")
        if not may(person, Action.COMMENT, card.ticket, self.ports.directory).allowed:
            return _refuse(
                403,
                f"file: only people involved in {key} may attach files",
                f"file：只有参与 {key} 的人可以添加附件",
            )
        kind = request.content_type if "/" in request.content_type else "application/octet-stream"
        file = InboundFile(
            attachment_id(CHANNEL, f"{person.id}:{client_id}", 1), name, kind, len(data), data
        )
        kept = await self.ports.store_attachments(key, [file])
        if file.id not in kept:
            return _refuse(507, "file: could not be kept", "file：无法保存")
        shown = {"id": file.id, "name": name, "size": len(data), "content_type": kind}
        author = {"id": person.id, "name": person.name.to_json()}
        self.hub.add_comment(
            key, author, "", channel=CHANNEL, comment_id=f"f-{file.id}", attachments=[shown]
        )
        return web.json_response({"attachment": shown}, status=201)

    async def download(self, request: web.Request) -> web.Response:
        person = self._person(request)
        ident = request.match_info["id"]
        found = await self.ports.read_attachment(person, ident) if person is not None else None
        if found is None:
            return _refuse(404, f"no attachment {ident}", f"找不到附件 {ident}")
        fallback = "".join(
            c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in found.filename
        )
        return web.Response(
            body=found.data,
            content_type=found.content_type if "/" in found.content_type else None,
            headers={
                "Content-Disposition": f'attachment; filename="{fallback or "file"}"; '
                f"filename*=UTF-8''{quote(found.filename, safe='')}",
                "X-Content-Type-Options": "nosniff",
            },
        )
