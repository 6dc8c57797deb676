"""The web chat's rooms: who is connected where, each room's recent history, and delivery.

The outbox dispatcher posts and updates cards through here; the WebSocket side (channel.py)
registers browsers and reads history. Each person also has a direct room, "dm:<person id>",
made on first use: reminders and escalations land there.

Delivery never waits for a browser: a frame goes into each socket's bounded send queue
(sender.py) and the call returns, so one browser that stops reading delays no one else.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
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
from core.card import Card, for_viewer
from core.forms import TicketType
from core.i18n import LOCALES, Locale, Text
from core.people import Directory, Person
from core.permissions import is_support
from core.ticket import ChannelRef

CHANNEL = "webchat"
DM_PREFIX = "dm:"
_HISTORY = 200
_THREAD = 100  # comments kept per ticket
# How the outbox relays a comment made elsewhere: "[IT-1001] 李雷: text" (bot/delivery).
_RELAYED = re.compile(
    r"\[(?P<key>[A-Za-z][A-Za-z0-9]*-[0-9]+)\] (?P<who>[^:\n]+): (?P<body>.*)", re.S
)


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


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


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
        wall: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.limits = limits or Limits()
        self.now = now
        self.wall = wall or (lambda: datetime.now(UTC))
        self.threads: dict[str, deque[dict[str, Any]]] = {}
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
        frame = self.card_frame("card", room, msg_id, cards, self.wall())
        self.broadcast(room, frame, keep=True)
        return MessageRef(CHANNEL, room, msg_id)

    def update_card(self, ref: MessageRef, cards: CardRenderer) -> None:
        room = self.room_of(ChannelRef(CHANNEL, ref.conversation))
        frame = self.card_frame("card_update", room, ref.message, cards, self.wall())
        state = self.state[room]
        for i, entry in enumerate(state.history):
            if entry.get("type") == "card" and _same_card(entry, frame):
                state.history[i] = {**frame, "type": "card", "id": entry["id"], "at": entry["at"]}
        self.broadcast(room, frame, keep=False)

    def post_text(
        self, where: ChannelRef, text: dict[Locale, str], *, ephemeral_to: str | None = None
    ) -> MessageRef | None:
        if ephemeral_to is not None:
            self.to_person(ephemeral_to, text)
            return None
        room = self.room_of(where)
        if self._relayed_comment(room, text):
            return MessageRef(CHANNEL, room, f"t-{uuid.uuid4().hex[:12]}")
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
                "at": iso(self.wall()),
                "bot": True,
            },
            keep=True,
        )
        return MessageRef(CHANNEL, room, msg_id)

    def _relayed_comment(self, room: str, text: dict[Locale, str]) -> bool:
        """A comment made on another channel joins the thread of its card in this room."""
        found = {loc: _RELAYED.fullmatch(text.get(loc, "")) for loc in LOCALES}
        en = found["en"]
        if en is None or any(m is None for m in found.values()):
            return False
        key = en["key"]
        if self._card_in(room, key) is None:
            return False  # the card scrolled away: the line itself says which ticket
        names = {loc: m["who"] for loc, m in found.items() if m is not None}
        # each copy of the card on this channel gets its own relay: one thread entry for all
        minute = self.wall().strftime("%Y%m%d%H%M")
        digest = hashlib.sha256(f"{key}\0{en['who']}\0{en['body']}\0{minute}".encode()).hexdigest()
        return self.add_comment(
            key,
            {"id": None, "name": names},
            en["body"],
            channel=None,
            comment_id=f"r-{digest[:16]}",
        )

    def to_person(self, person_id: str, text: dict[Locale, str]) -> None:
        data = encode({"type": "notice", "text": dict(text), "level": "info"})
        for client in list(self.clients.values()):
            if client.person is not None and client.person.id == person_id:
                client.sender.offer(data)

    def restore_card(self, ref: MessageRef, cards: CardRenderer) -> str | None:
        """Put a stored card back into its room's history after a restart, at its own time;
        returns its ticket's key (None when the room is gone)."""
        room = ref.conversation
        if room.startswith(DM_PREFIX):
            self.direct_room(room)
        if room not in self.state:
            return None
        at = ref.posted_at or self.wall()
        history = self.state[room].history
        frame = self.card_frame("card", room, ref.message, cards, at)
        history.append(frame)
        if len(history) > 1 and history[-2]["at"] > history[-1]["at"]:
            self.state[room].history = deque(
                sorted(history, key=lambda e: str(e["at"])), maxlen=_HISTORY
            )
        return str(frame["ticket"])

    def card_frame(
        self, kind: str, room: str, msg_id: str, cards: CardRenderer, at: datetime
    ) -> dict[str, Any]:
        """A card frame as every viewer shares it; `view` makes one viewer's html of it."""
        rendered = {loc: cards(loc) for loc in LOCALES}
        first = rendered["en"]
        return {
            "type": kind,
            "room": room,
            "id": msg_id,
            "ticket": first.ticket_key,
            "kind": str(first.kind),
            "version": first.version,
            "at": iso(at),
            "_cards": rendered,
            "_html": {},
        }

    def view(self, frame: dict[str, Any], viewer: Person | None) -> dict[str, Any]:
        """The frame as `viewer` sees it: only the buttons they may press, the thread's
        internal notes only for the team. Renders are shared by viewers who see the same."""
        cards: dict[Locale, Card] | None = frame.get("_cards")
        if cards is None:
            return frame
        out = {k: v for k, v in frame.items() if not k.startswith("_")}
        mine = {loc: for_viewer(card, viewer, self.directory) for loc, card in cards.items()}
        first = mine["en"]  # what differs between viewers: buttons, edit, the note box
        key = (*(a.id.value for a in first.actions), first.editable, first.notes)
        cache: dict[tuple[str | bool, ...], dict[Locale, str]] = frame["_html"]
        if key not in cache:
            cache[key] = {loc: render_card(card) for loc, card in mine.items()}
        out["html"] = cache[key]
        out["thread"] = self.thread_for(out["ticket"], viewer, cards["en"])
        return out

    def thread_for(self, key: str, viewer: Person | None, card: Card | None) -> list[Any]:
        team = self._sees_internal(viewer, card)
        return [c for c in self.threads.get(key, ()) if team or not c["internal"]]

    def _sees_internal(self, viewer: Person | None, card: Card | None) -> bool:
        return (
            viewer is not None
            and card is not None
            and card.ticket is not None
            and is_support(viewer, card.ticket, self.directory)
        )

    def history_for(self, room: str, viewer: Person | None) -> list[dict[str, Any]]:
        return [self.view(entry, viewer) for entry in self.state[room].history]

    # ---- a ticket's conversation -------------------------------------------------------
    def add_comment(
        self,
        key: str,
        author: dict[str, Any],
        body: str,
        *,
        channel: str | None,
        internal: bool = False,
        comment_id: str | None = None,
        attachments: list[dict[str, Any]] | None = None,
        at: datetime | None = None,
    ) -> bool:
        """Add a comment to the thread under every copy of `key`'s card, live in every room
        that shows it. Returns False when no room here shows that card (nothing to hang it on)."""
        thread = self.threads.setdefault(key, deque(maxlen=_THREAD))
        cid = comment_id or f"k-{uuid.uuid4().hex[:12]}"
        if any(c["id"] == cid for c in thread):
            return True
        comment = {
            "id": cid,
            "author": author,
            "body": body,
            "at": iso(at or self.wall()),
            "channel": channel,
            "internal": internal,
            "attachments": attachments or [],
        }
        thread.append(comment)
        shown = False
        for room, state in self.state.items():
            card = self._card_in(room, key)
            if card is None:
                continue
            shown = True
            frame = {"type": "comment", "room": room, "ticket": key, "comment": comment}
            data = encode(frame)
            for cid_ in list(state.clients):
                client = self.clients.get(cid_)
                if client is None:
                    continue
                if internal and not self._sees_internal(client.person, card):
                    continue
                client.sender.offer(data)
        return shown

    def _card_in(self, room: str, key: str) -> Card | None:
        for entry in reversed(self.state[room].history):
            if entry.get("type") == "card" and entry.get("ticket") == key:
                cards: dict[Locale, Card] = entry["_cards"]
                return cards["en"]
        return None

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
        """Queue frame for every browser in room (encoded once per distinct view); waits for
        none of them."""
        state = self.state[room]
        if keep:
            state.history.append(frame)
        per_view = "_cards" in frame
        shared = None if per_view else encode(frame)
        encoded: dict[tuple[int, int], bytes] = {}
        for cid in list(state.clients):
            client = self.clients.get(cid)
            if client is None:
                continue
            if shared is not None:
                client.sender.offer(shared)
                continue
            view = self.view(frame, client.person)
            seen = (id(view["html"]), len(view["thread"]))
            if seen not in encoded:
                encoded[seen] = encode(view)
            client.sender.offer(encoded[seen])


def _same_card(entry: dict[str, Any], frame: dict[str, Any]) -> bool:
    """What an update changes: a ticket's card, every copy of it in the room; a reminder or
    escalation, that card alone (neither becomes the other)."""
    if entry.get("ticket") != frame["ticket"]:
        return False
    if frame.get("kind", "ticket") != "ticket":
        return bool(entry.get("id") == frame["id"])
    return bool(entry.get("kind", "ticket") == "ticket")
