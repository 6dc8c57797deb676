"""The web chat's rooms: who is connected where, each room's recent history, and delivery.

The outbox dispatcher posts and updates cards through here; the WebSocket side (channel.py)
registers browsers and reads history. Each person also has a direct room, "dm:<person id>",
made on first use: reminders and escalations land there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from adapters.base import CardRenderer, DeliveryError, MessageRef
from adapters.webchat.render import render_card
from core.i18n import LOCALES, Locale, Text
from core.people import Directory, Person
from core.ticket import ChannelRef

CHANNEL = "webchat"
DM_PREFIX = "dm:"
_HISTORY = 200


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
class Client:
    ws: web.WebSocketResponse
    person: Person | None = None
    room: str | None = None


@dataclass
class RoomState:
    history: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=_HISTORY))
    clients: set[int] = field(default_factory=set)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def both_locales(text: str) -> dict[str, str]:
    return dict.fromkeys(LOCALES, text)


class RoomHub:
    def __init__(self, settings: WebchatSettings, directory: Directory) -> None:
        self.settings = settings
        self.directory = directory
        self.rooms = {r.id: r for r in settings.rooms}
        self.state = {r.id: RoomState() for r in settings.rooms}
        self.clients: dict[int, Client] = {}

    async def post_card(self, where: ChannelRef, cards: CardRenderer) -> MessageRef:
        room = self.room_of(where)
        msg_id = f"c-{uuid.uuid4().hex[:12]}"
        await self.broadcast(room, self.card_frame("card", room, msg_id, cards), keep=True)
        return MessageRef(CHANNEL, room, msg_id)

    async def update_card(self, ref: MessageRef, cards: CardRenderer) -> None:
        room = self.room_of(ChannelRef(CHANNEL, ref.conversation))
        frame = self.card_frame("card_update", room, ref.message, cards)
        state = self.state[room]
        for i, entry in enumerate(state.history):
            if entry.get("type") == "card" and entry.get("ticket") == frame["ticket"]:
                state.history[i] = {**entry, "version": frame["version"], "html": frame["html"]}
        await self.broadcast(room, frame, keep=False)

    async def post_text(
        self, where: ChannelRef, text: dict[Locale, str], *, ephemeral_to: str | None = None
    ) -> MessageRef | None:
        if ephemeral_to is not None:
            await self.to_person(ephemeral_to, text)
            return None
        room = self.room_of(where)
        msg_id = f"b-{uuid.uuid4().hex[:12]}"
        bot = self.settings.bot_name
        await self.broadcast(
            room,
            {
                "type": "message",
                "room": room,
                "id": msg_id,
                "author": {"id": "bot", "name": bot.to_json()},
                "text": text.get(self.rooms[room].locale or "zh-CN") or text.get("en", ""),
                "texts": dict(text),
                "at": now_iso(),
                "bot": True,
            },
            keep=True,
        )
        return MessageRef(CHANNEL, room, msg_id)

    async def to_person(self, person_id: str, text: dict[Locale, str]) -> None:
        frame = {"type": "notice", "text": dict(text), "level": "info"}
        for client in list(self.clients.values()):
            if client.person is not None and client.person.id == person_id:
                with contextlib.suppress(ConnectionResetError, RuntimeError):
                    await client.ws.send_json(frame)

    def restore_card(self, ref: MessageRef, cards: CardRenderer) -> None:
        """Put a stored card back into its room's history after a restart."""
        if ref.conversation in self.state:
            frame = self.card_frame("card", ref.conversation, ref.message, cards)
            self.state[ref.conversation].history.append(frame)

    def card_frame(self, kind: str, room: str, msg_id: str, cards: CardRenderer) -> dict[str, Any]:
        rendered = {loc: cards(loc) for loc in LOCALES}
        first = rendered["en"]
        return {
            "type": kind,
            "room": room,
            "id": msg_id,
            "ticket": first.ticket_key,
            "version": first.version,
            "at": now_iso(),
            "html": {loc: render_card(card) for loc, card in rendered.items()},
        }

    def direct_room(self, room_id: str) -> Room | None:
        """A person's direct messages ("dm:<person id>"): reminders and escalations land here."""
        if room_id not in self.rooms:
            person = self.directory.person(room_id.removeprefix(DM_PREFIX))
            if not room_id.startswith(DM_PREFIX) or person is None:
                return None
            first = self.settings.rooms[0].ticket_type if self.settings.rooms else ""
            self.rooms[room_id] = Room(room_id, Text("Direct messages", "私信"), False, first)
            self.state[room_id] = RoomState()
        return self.rooms[room_id]

    def room_of(self, where: ChannelRef) -> str:
        room = where.conversation or ""
        if room.startswith(DM_PREFIX):
            self.direct_room(room)
        if room not in self.state:
            raise DeliveryError(f"unknown web chat room {room!r}", permanent=True)
        return room

    async def broadcast(self, room: str, frame: dict[str, Any], *, keep: bool) -> None:
        state = self.state[room]
        if keep:
            state.history.append(frame)
        data = json.dumps(frame, ensure_ascii=False)
        sends = [
            self.clients[c].ws.send_str(data) for c in list(state.clients) if c in self.clients
        ]
        if sends:
            await asyncio.gather(*sends, return_exceptions=True)
