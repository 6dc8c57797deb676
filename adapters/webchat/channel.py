"""The built-in web chat: a group-chat page, a WebSocket per browser, cards updated in place.

Identity here is chosen on the page (it is the channel for trying Gongdan and for small offices
behind a trusted network); every action is still checked by core's permissions for that person.
Room history lives in memory; ticket cards are restored from their stored card refs on start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import uuid
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from adapters.base import CardRenderer, Gateway, InboundKey, MessageRef
from adapters.webchat.render import render_form
from adapters.webchat.rooms import (
    CHANNEL,
    DM_PREFIX,
    Client,
    Room,
    RoomHub,
    WebchatSettings,
    both_locales,
    now_iso,
)
from core.commands import (
    ActionParams,
    ActOnTicket,
    Assign,
    OpenTicket,
    SetPriority,
    WriteComment,
)
from core.errors import DomainError, FieldError, FormInvalid
from core.forms import TicketType
from core.handlers.actions import ActResult
from core.i18n import LOCALES, Locale
from core.text import clean_text as replace_unstorable
from core.ticket import ChannelRef, Ticket
from core.workflow import Action

log = logging.getLogger("gongdan.webchat")

__all__ = ["CHANNEL", "Room", "WebchatChannel", "WebchatSettings"]

_MAX_FRAME = 64 * 1024
_IN_FLIGHT = 32  # frames one browser may have in progress at once
_NEW_RE = re.compile(r"^/new(?:\s+(\S+))?\s*$", re.IGNORECASE)


class WebchatChannel:
    name = CHANNEL

    def __init__(self, settings: WebchatSettings, gateway: Gateway) -> None:
        self.settings = settings
        self.gateway = gateway
        self.hub = RoomHub(settings, gateway.directory)
        self._static = Path(str(resources.files("adapters.webchat") / "static"))

    # ---- routes -------------------------------------------------------------------------
    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.get("/", self._index),
            web.get("/webchat/bootstrap", self._bootstrap),
            web.get("/webchat/ws", self._ws),
            web.static("/static", self._static),
        ]

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for client in list(self.hub.clients.values()):
            with contextlib.suppress(Exception):
                await client.ws.close(code=1001, message=b"server shutting down")

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(self._static / "index.html")

    async def _bootstrap(self, request: web.Request) -> web.Response:
        s = self.settings
        return web.json_response(
            {
                "service": {"name": s.service_name},
                "bot": {"name": s.bot_name.to_json()},
                "people": [
                    {"id": p.id, "name": p.name.to_json(), "locale": p.locale} for p in s.people
                ],
                "rooms": [
                    {
                        "id": r.id,
                        "name": r.name.to_json(),
                        "help_desk": r.help_desk,
                        "ticket_type": r.ticket_type,
                    }
                    for r in s.rooms
                ],
                "types": [
                    {"id": tt.id, "name": tt.name.to_json()}
                    for tt in self.gateway.ticket_types.values()
                ],
            }
        )

    # ---- websocket ----------------------------------------------------------------------
    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=_MAX_FRAME)
        await ws.prepare(request)
        client = Client(ws)
        cid = id(client)
        self.hub.clients[cid] = client
        # Frames after hello run concurrently (bounded), so one slow commit does not hold up the
        # next message: group commit then batches them together.
        slots = asyncio.Semaphore(_IN_FLIGHT)
        running: set[asyncio.Task[None]] = set()

        async def bounded(frame: dict[str, Any]) -> None:
            async with slots:
                await self._dispatch(cid, client, frame)

        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(msg.data)
                    if not isinstance(frame, dict):
                        raise ValueError("a frame must be a JSON object")
                except ValueError as exc:
                    await self._notice(client, f"malformed frame: {exc}", "error")
                    continue
                if frame.get("type") == "hello":
                    await self._dispatch(cid, client, frame)
                    continue
                task = asyncio.create_task(bounded(frame))
                running.add(task)
                task.add_done_callback(running.discard)
            if running:
                await asyncio.gather(*running, return_exceptions=True)
        finally:
            self.hub.clients.pop(cid, None)
            if client.room in self.hub.state:
                self.hub.state[client.room].clients.discard(cid)
        return ws

    async def _dispatch(self, cid: int, client: Client, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        try:
            if kind == "hello":
                await self._hello(cid, client, frame)
            elif client.person is None or client.room is None:
                await self._notice(
                    client, "say hello first: choose who you are and a room", "error"
                )
            elif kind == "say":
                await self._say(client, frame)
            elif kind == "action":
                await self._action(client, frame)
            elif kind == "submit_form":
                await self._submit_form(client, frame)
            else:
                await self._notice(client, f"unknown frame type {kind!r}", "error")
        except DomainError as exc:
            await self._notice(client, exc.message, "error", frame.get("client_id"))
        except (KeyError, TypeError, ValueError) as exc:
            await self._notice(
                client, f"malformed {kind} frame: {exc}", "error", frame.get("client_id")
            )

    async def _hello(self, cid: int, client: Client, frame: dict[str, Any]) -> None:
        person = self.gateway.directory.person(str(frame.get("person", "")))
        wanted = str(frame.get("room", ""))
        room = self.hub.rooms.get(wanted)
        if person is not None and wanted == DM_PREFIX + person.id:
            room = self.hub.direct_room(wanted)
        if person is None or room is None:
            await self._notice(client, "unknown person or room", "error")
            return
        if client.room in self.hub.state:
            self.hub.state[client.room].clients.discard(cid)
        client.person, client.room = person, room.id
        self.hub.state[room.id].clients.add(cid)
        await client.ws.send_json(
            {"type": "history", "room": room.id, "messages": list(self.hub.state[room.id].history)}
        )

    async def _say(self, client: Client, frame: dict[str, Any]) -> None:
        assert client.person is not None and client.room is not None
        text = replace_unstorable(str(frame["text"])).strip()
        client_id = str(frame.get("client_id") or uuid.uuid4().hex)
        if not text:
            return
        if len(text) > 10_000:
            await self._notice(
                client, "message too long (max 10000 characters)", "error", client_id
            )
            return
        room = self.hub.rooms[client.room]
        person = client.person
        msg_id = f"m-{client_id}"
        if not any(m.get("id") == msg_id for m in self.hub.state[room.id].history):
            await self.hub.broadcast(
                room.id,
                {
                    "type": "message",
                    "room": room.id,
                    "id": msg_id,
                    "author": {"id": person.id, "name": person.name.to_json()},
                    "text": text,
                    "at": now_iso(),
                    "bot": False,
                },
                keep=True,
            )
        new = _NEW_RE.match(text)
        if new:
            await self._open_form(client, new.group(1), client_id, {})
            return
        mentioned, body = self._strip_mention(text)
        if not (room.help_desk or mentioned):
            await client.ws.send_json({"type": "ack", "client_id": client_id})
            return
        title = body.splitlines()[0][:200] if body else text[:200]
        command = OpenTicket(
            type_id=room.ticket_type,
            title=title,
            description=body,
            requester_id=person.id,
            origin=ChannelRef(CHANNEL, room.id, message=msg_id),
        )
        try:
            done = await self.gateway.submit(
                command, inbound=InboundKey(CHANNEL, f"say:{client_id}"), respond=_ticket_key
            )
        except FormInvalid:
            await self._open_form(
                client, room.ticket_type, client_id, {"title": title, "description": body}
            )
            return
        key = done.response if done.duplicate else _ticket_key(done.value)
        await client.ws.send_json({"type": "ack", "client_id": client_id, "ticket": key})

    def _strip_mention(self, text: str) -> tuple[bool, str]:
        names = {n for n in (self.settings.bot_name.en, self.settings.bot_name.zh) if n}
        pattern = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        if not pattern:
            return False, text
        stripped, count = re.subn(rf"@(?:{pattern})\s*", "", text, flags=re.IGNORECASE)
        return count > 0, stripped.strip()

    async def _open_form(
        self,
        client: Client,
        type_id: str | None,
        client_id: str,
        prefill: dict[str, str],
    ) -> None:
        types = self.gateway.ticket_types
        ttype = types.get(type_id or "")
        if ttype is None:
            listing = ", ".join(
                f"{tt.id} ({tt.name.get('en')} / {tt.name.get('zh-CN')})" for tt in types.values()
            )
            await self._notice(client, f"/new <type> — types: {listing}", "info", client_id)
            return
        await client.ws.send_json(
            {
                "type": "form",
                "room": client.room,
                "client_id": client_id,
                "ticket_type": ttype.id,
                "html": self._forms(ttype, prefill),
            }
        )

    def _forms(
        self, ttype: TicketType, prefill: dict[str, str], errors: Sequence[FieldError] = ()
    ) -> dict[str, str]:
        people = self.settings.people
        return {
            loc: render_form(
                ttype,
                loc,
                prefill,
                {e.field: e.text(loc) for e in errors},
                [(p.id, p.display(loc)) for p in people],
            )
            for loc in LOCALES
        }

    async def _submit_form(self, client: Client, frame: dict[str, Any]) -> None:
        assert client.person is not None and client.room is not None
        client_id = str(frame.get("client_id") or uuid.uuid4().hex)
        ttype = self.gateway.ticket_types.get(str(frame.get("ticket_type", "")))
        if ttype is None:
            await self._notice(client, "unknown ticket type", "error", client_id)
            return
        fields = frame.get("fields") or {}
        if not isinstance(fields, dict):
            raise ValueError("fields must be an object")
        title = str(frame.get("title", ""))
        description = str(frame.get("description", ""))
        command = OpenTicket(
            type_id=ttype.id,
            title=title,
            description=description,
            requester_id=client.person.id,
            fields=fields,
            origin=ChannelRef(CHANNEL, client.room, message=f"f-{client_id}"),
        )
        try:
            done = await self.gateway.submit(
                command, inbound=InboundKey(CHANNEL, f"form:{client_id}"), respond=_ticket_key
            )
        except FormInvalid as exc:
            errors = exc.errors
            prefill = {
                "title": title,
                "description": description,
                **{k: v for k, v in fields.items() if isinstance(v, str)},
            }
            await client.ws.send_json(
                {
                    "type": "form_errors",
                    "client_id": client_id,
                    "html": self._forms(ttype, prefill, errors),
                }
            )
            return
        key = done.response if done.duplicate else _ticket_key(done.value)
        await client.ws.send_json({"type": "ack", "client_id": client_id, "ticket": key})

    async def _action(self, client: Client, frame: dict[str, Any]) -> None:
        assert client.person is not None and client.room is not None
        client_id = str(frame.get("client_id") or uuid.uuid4().hex)
        action = Action(str(frame["action"]))
        value = frame.get("value")
        params: ActionParams = None
        if action == Action.ASSIGN:
            params = Assign(str(value))
        elif action == Action.SET_PRIORITY:
            params = SetPriority(str(value))
        elif action == Action.COMMENT:
            params = WriteComment(str(value))
        version = frame.get("version")
        command = ActOnTicket(
            key=str(frame["ticket"]),
            action=action,
            actor_id=client.person.id,
            origin=ChannelRef(CHANNEL, client.room),
            params=params,
            seen_version=int(version) if version is not None else None,
        )
        done = await self.gateway.submit(command, inbound=InboundKey(CHANNEL, f"act:{client_id}"))
        result = done.value
        if isinstance(result, ActResult) and not result.changed and result.message:
            await self._notice(client, result.message, "info", client_id)
        await client.ws.send_json({"type": "ack", "client_id": client_id, "ticket": command.key})

    # ---- outbound (called by the outbox dispatcher) ---------------------------------------
    async def post_card(self, where: ChannelRef, cards: CardRenderer) -> MessageRef:
        return await self.hub.post_card(where, cards)

    async def update_card(self, ref: MessageRef, cards: CardRenderer) -> None:
        await self.hub.update_card(ref, cards)

    async def post_text(
        self, where: ChannelRef, text: dict[Locale, str], *, ephemeral_to: str | None = None
    ) -> MessageRef | None:
        return await self.hub.post_text(where, text, ephemeral_to=ephemeral_to)

    def restore_card(self, ref: MessageRef, cards: CardRenderer) -> None:
        """Put a stored card back into its room's history after a restart."""
        self.hub.restore_card(ref, cards)

    async def _notice(
        self, client: Client, text: str, level: str, client_id: object = None
    ) -> None:
        frame: dict[str, Any] = {"type": "notice", "text": both_locales(text), "level": level}
        if client_id is not None:
            frame["client_id"] = client_id
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await client.ws.send_json(frame)


def _ticket_key(value: Any) -> Any:
    return value.key if isinstance(value, Ticket) else value
