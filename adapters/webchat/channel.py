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
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from adapters.base import CardRenderer, DeliveryError, Gateway, InboundKey, MessageRef
from adapters.webchat.render import render_card, render_form
from core.commands import ActOnTicket, OpenTicket
from core.errors import DomainError, FieldError, FormInvalid
from core.forms import TicketType
from core.handlers import ActResult
from core.i18n import LOCALES, Locale, Text
from core.people import Person
from core.ticket import ChannelRef, Ticket
from core.workflow import Action

log = logging.getLogger("gongdan.webchat")

CHANNEL = "webchat"
DM_PREFIX = "dm:"
_HISTORY = 200
_MAX_FRAME = 64 * 1024
_IN_FLIGHT = 32  # frames one browser may have in progress at once
_NEW_RE = re.compile(r"^/new(?:\s+(\S+))?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Room:
    id: str
    name: Text
    help_desk: bool
    ticket_type: str
    locale: Locale | None = None


@dataclass(frozen=True)
class WebchatSettings:
    service_name: str
    bot_name: Text
    rooms: tuple[Room, ...]
    people: tuple[Person, ...]


@dataclass
class _Client:
    ws: web.WebSocketResponse
    person: Person | None = None
    room: str | None = None


@dataclass
class _RoomState:
    history: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=_HISTORY))
    clients: set[int] = field(default_factory=set)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _both(text: str) -> dict[str, str]:
    return dict.fromkeys(LOCALES, text)


class WebchatChannel:
    name = CHANNEL

    def __init__(self, settings: WebchatSettings, gateway: Gateway) -> None:
        self.settings = settings
        self.gateway = gateway
        self.rooms = {r.id: r for r in settings.rooms}
        self._state = {r.id: _RoomState() for r in settings.rooms}
        self._clients: dict[int, _Client] = {}
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
        for client in list(self._clients.values()):
            with contextlib.suppress(Exception):
                await client.ws.close(code=1001, message=b"server shutting down")

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(self._static / "index.html")

    async def _bootstrap(self, request: web.Request) -> web.Response:
        s = self.settings
        return web.json_response(
            {
                "service": {"name": s.service_name},
                "bot": {"name": _text(s.bot_name)},
                "people": [
                    {"id": p.id, "name": _text(p.name), "locale": p.locale} for p in s.people
                ],
                "rooms": [
                    {
                        "id": r.id,
                        "name": _text(r.name),
                        "help_desk": r.help_desk,
                        "ticket_type": r.ticket_type,
                    }
                    for r in s.rooms
                ],
                "types": [
                    {"id": tt.id, "name": _text(tt.name)}
                    for tt in self.gateway.ticket_types.values()
                ],
            }
        )

    # ---- websocket ----------------------------------------------------------------------
    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=_MAX_FRAME)
        await ws.prepare(request)
        client = _Client(ws)
        cid = id(client)
        self._clients[cid] = client
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
            self._clients.pop(cid, None)
            if client.room in self._state:
                self._state[client.room].clients.discard(cid)
        return ws

    async def _dispatch(self, cid: int, client: _Client, frame: dict[str, Any]) -> None:
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

    async def _hello(self, cid: int, client: _Client, frame: dict[str, Any]) -> None:
        person = self.gateway.directory.person(str(frame.get("person", "")))
        wanted = str(frame.get("room", ""))
        room = self.rooms.get(wanted)
        if person is not None and wanted == DM_PREFIX + person.id:
            room = self._direct_room(wanted)
        if person is None or room is None:
            await self._notice(client, "unknown person or room", "error")
            return
        if client.room in self._state:
            self._state[client.room].clients.discard(cid)
        client.person, client.room = person, room.id
        self._state[room.id].clients.add(cid)
        await client.ws.send_json(
            {"type": "history", "room": room.id, "messages": list(self._state[room.id].history)}
        )

    async def _say(self, client: _Client, frame: dict[str, Any]) -> None:
        assert client.person is not None and client.room is not None
        text = str(frame["text"]).strip()
        client_id = str(frame.get("client_id") or uuid.uuid4().hex)
        if not text:
            return
        if len(text) > 10_000:
            await self._notice(
                client, "message too long (max 10000 characters)", "error", client_id
            )
            return
        room = self.rooms[client.room]
        person = client.person
        msg_id = f"m-{client_id}"
        if not any(m.get("id") == msg_id for m in self._state[room.id].history):
            await self._broadcast(
                room.id,
                {
                    "type": "message",
                    "room": room.id,
                    "id": msg_id,
                    "author": {"id": person.id, "name": _text(person.name)},
                    "text": text,
                    "at": _now(),
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
        client: _Client,
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

    async def _submit_form(self, client: _Client, frame: dict[str, Any]) -> None:
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

    async def _action(self, client: _Client, frame: dict[str, Any]) -> None:
        assert client.person is not None and client.room is not None
        client_id = str(frame.get("client_id") or uuid.uuid4().hex)
        action = Action(str(frame["action"]))
        value = frame.get("value")
        params: dict[str, Any] = {}
        if action == Action.ASSIGN:
            params["assignee"] = value
        elif action == Action.SET_PRIORITY:
            params["priority"] = value
        elif action == Action.COMMENT:
            params["body"] = value
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
        room = self._room_of(where)
        msg_id = f"c-{uuid.uuid4().hex[:12]}"
        await self._broadcast(room, self._card_frame("card", room, msg_id, cards), keep=True)
        return MessageRef(CHANNEL, room, msg_id)

    async def update_card(self, ref: MessageRef, cards: CardRenderer) -> None:
        room = self._room_of(ChannelRef(CHANNEL, ref.conversation))
        frame = self._card_frame("card_update", room, ref.message, cards)
        state = self._state[room]
        for i, entry in enumerate(state.history):
            if entry.get("type") == "card" and entry.get("ticket") == frame["ticket"]:
                state.history[i] = {**entry, "version": frame["version"], "html": frame["html"]}
        await self._broadcast(room, frame, keep=False)

    async def post_text(
        self, where: ChannelRef, text: dict[Locale, str], *, ephemeral_to: str | None = None
    ) -> MessageRef | None:
        if ephemeral_to is not None:
            await self._to_person(ephemeral_to, text)
            return None
        room = self._room_of(where)
        msg_id = f"b-{uuid.uuid4().hex[:12]}"
        bot = self.settings.bot_name
        await self._broadcast(
            room,
            {
                "type": "message",
                "room": room,
                "id": msg_id,
                "author": {"id": "bot", "name": _text(bot)},
                "text": text.get(self.rooms[room].locale or "zh-CN") or text.get("en", ""),
                "texts": dict(text),
                "at": _now(),
                "bot": True,
            },
            keep=True,
        )
        return MessageRef(CHANNEL, room, msg_id)

    async def _to_person(self, person_id: str, text: dict[Locale, str]) -> None:
        frame = {"type": "notice", "text": dict(text), "level": "info"}
        for client in list(self._clients.values()):
            if client.person is not None and client.person.id == person_id:
                with contextlib.suppress(ConnectionResetError, RuntimeError):
                    await client.ws.send_json(frame)

    def restore_card(self, ref: MessageRef, cards: CardRenderer) -> None:
        """Put a stored card back into its room's history after a restart."""
        if ref.conversation in self._state:
            frame = self._card_frame("card", ref.conversation, ref.message, cards)
            self._state[ref.conversation].history.append(frame)

    def _card_frame(self, kind: str, room: str, msg_id: str, cards: CardRenderer) -> dict[str, Any]:
        rendered = {loc: cards(loc) for loc in LOCALES}
        first = rendered["en"]
        return {
            "type": kind,
            "room": room,
            "id": msg_id,
            "ticket": first.ticket_key,
            "version": first.version,
            "at": _now(),
            "html": {loc: render_card(card) for loc, card in rendered.items()},
        }

    def _direct_room(self, room_id: str) -> Room | None:
        """A person's direct messages ("dm:<person id>"): reminders and escalations land here."""
        if room_id not in self.rooms:
            person = self.gateway.directory.person(room_id.removeprefix(DM_PREFIX))
            if not room_id.startswith(DM_PREFIX) or person is None:
                return None
            first = self.settings.rooms[0].ticket_type if self.settings.rooms else ""
            self.rooms[room_id] = Room(room_id, Text("Direct messages", "私信"), False, first)
            self._state[room_id] = _RoomState()
        return self.rooms[room_id]

    def _room_of(self, where: ChannelRef) -> str:
        room = where.conversation or ""
        if room.startswith(DM_PREFIX):
            self._direct_room(room)
        if room not in self._state:
            raise DeliveryError(f"unknown web chat room {room!r}", permanent=True)
        return room

    async def _broadcast(self, room: str, frame: dict[str, Any], *, keep: bool) -> None:
        state = self._state[room]
        if keep:
            state.history.append(frame)
        data = json.dumps(frame, ensure_ascii=False)
        sends = [
            self._clients[c].ws.send_str(data) for c in list(state.clients) if c in self._clients
        ]
        if sends:
            await asyncio.gather(*sends, return_exceptions=True)

    async def _notice(
        self, client: _Client, text: str, level: str, client_id: object = None
    ) -> None:
        frame: dict[str, Any] = {"type": "notice", "text": _both(text), "level": level}
        if client_id is not None:
            frame["client_id"] = client_id
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await client.ws.send_json(frame)


def _text(value: Text) -> dict[str, str]:
    return {"zh-CN": value.get("zh-CN"), "en": value.get("en")}


def _ticket_key(value: Any) -> Any:
    return value.key if isinstance(value, Ticket) else value
