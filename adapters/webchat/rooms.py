"""The web chat's rooms: who is connected where, each room's recent history, and delivery.

The outbox dispatcher posts and updates cards through here; the WebSocket side (channel.py)
registers browsers and reads history. Each person also has a direct room, "dm:<person id>",
made on first use: reminders and escalations land there.

Delivery never waits for a browser: a frame goes into each socket's bounded send queue
(sender.py) and the call returns, so one browser that stops reading delays no one else.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from adapters.contract import CardRenderer, DeliveryError, MessageRef
from adapters.webchat.limits import Limits, RateGate, TokenBucket
from adapters.webchat.render import render_card
from adapters.webchat.sender import Sender
from core.forms import TicketType
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


class WebchatReach:
    """How notices find people and teams in the web chat: a person's direct room
    "dm:<person id>", and the help desk room that files a team's tickets."""

    name = CHANNEL

    def __init__(self, team_rooms: Mapping[str, str] | None = None) -> None:
        self.team_rooms = dict(team_rooms or {})

    def direct_ref(self, person: Person) -> ChannelRef | None:
        return ChannelRef(CHANNEL, DM_PREFIX + person.id)

    def is_direct(self, where: ChannelRef) -> bool:
        return (where.conversation or "").startswith(DM_PREFIX)

    def team_room(self, team_id: str) -> ChannelRef | None:
        room = self.team_rooms.get(team_id)
        return ChannelRef(CHANNEL, room) if room is not None else None


def team_rooms(rooms: Iterable[Room], types: Mapping[str, TicketType]) -> dict[str, str]:
    """Help desk rooms by the team their ticket type files into (first room wins)."""
    found: dict[str, str] = {}
    for room in rooms:
        team = types[room.ticket_type].default_team if room.ticket_type in types else None
        if room.help_desk and team:
            found.setdefault(team, room.id)
    return found


@dataclass
class Client:
    ws: web.WebSocketResponse
    sender: Sender
    gate: RateGate
    person: Person | None = None
    room: str | None = None

    def send(self, frame: dict[str, Any]) -> None:
        """Queue a frame for this browser; returns at once (a slow browser is dropped)."""
        self.sender.offer(encode(frame))


@dataclass
class RoomState:
    history: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=_HISTORY))
    clients: set[int] = field(default_factory=set)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def encode(frame: dict[str, Any]) -> bytes:
    # "replace": a stray surrogate must not make the browser drop the socket for invalid UTF-8
    return json.dumps(frame, ensure_ascii=False).encode("utf-8", "replace")


class RoomHub:
    def __init__(
        self,
        settings: WebchatSettings,
        directory: Directory,
        limits: Limits | None = None,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.limits = limits or Limits()
        self.now = now
        self.rooms = {r.id: r for r in settings.rooms}
        self.state = {r.id: RoomState() for r in settings.rooms}
        self.clients: dict[int, Client] = {}
        self._person_buckets: dict[str, TokenBucket] = {}

    def connect(self, ws: web.WebSocketResponse, transport: asyncio.Transport | None) -> Client:
        """Register a new browser socket and start its sender."""
        sender = Sender(ws, transport, self.limits)
        client = Client(ws, sender, RateGate(self.limits, self.now))
        self.clients[id(client)] = client
        sender.start()
        return client

    async def disconnect(self, client: Client) -> None:
        self.clients.pop(id(client), None)
        if client.room in self.state:
            self.state[client.room].clients.discard(id(client))
        await client.sender.stop()

    def person_bucket(self, person_id: str) -> TokenBucket:
        """One bucket per person, shared by all their sockets (and kept across reconnects)."""
        bucket = self._person_buckets.get(person_id)
        if bucket is None:
            lim = self.limits
            bucket = TokenBucket(lim.person_burst, lim.person_rate, self.now)
            self._person_buckets[person_id] = bucket
        return bucket

    def post_card(self, where: ChannelRef, cards: CardRenderer) -> MessageRef:
        room = self.room_of(where)
        msg_id = f"c-{uuid.uuid4().hex[:12]}"
        self.broadcast(room, self.card_frame("card", room, msg_id, cards), keep=True)
        return MessageRef(CHANNEL, room, msg_id)

    def update_card(self, ref: MessageRef, cards: CardRenderer) -> None:
        room = self.room_of(ChannelRef(CHANNEL, ref.conversation))
        frame = self.card_frame("card_update", room, ref.message, cards)
        state = self.state[room]
        for i, entry in enumerate(state.history):
            if entry.get("type") == "card" and entry.get("ticket") == frame["ticket"]:
                state.history[i] = {**entry, "version": frame["version"], "html": frame["html"]}
        self.broadcast(room, frame, keep=False)

    def post_text(
        self, where: ChannelRef, text: dict[Locale, str], *, ephemeral_to: str | None = None
    ) -> MessageRef | None:
        if ephemeral_to is not None:
            self.to_person(ephemeral_to, text)
            return None
        room = self.room_of(where)
        msg_id = f"b-{uuid.uuid4().hex[:12]}"
        bot = self.settings.bot_name
        self.broadcast(
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

    def to_person(self, person_id: str, text: dict[Locale, str]) -> None:
        data = encode({"type": "notice", "text": dict(text), "level": "info"})
        for client in list(self.clients.values()):
            if client.person is not None and client.person.id == person_id:
                client.sender.offer(data)

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

    def broadcast(self, room: str, frame: dict[str, Any], *, keep: bool) -> None:
        """Queue frame for every browser in room (encoded once); waits for none of them."""
        state = self.state[room]
        if keep:
            state.history.append(frame)
        data = encode(frame)
        for cid in list(state.clients):
            client = self.clients.get(cid)
            if client is not None:
                client.sender.offer(data)
