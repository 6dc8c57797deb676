"""The smart robot (智能机器人) long connection: WeCom's side of the aibot WebSocket protocol.

Frames are JSON `{cmd, headers: {req_id}, body}` (doc 101463; the official SDKs' ws.py/ws.ts).
WeCom pushes `aibot_msg_callback` / `aibot_event_callback`; the client sends `aibot_subscribe`,
`ping`, `aibot_respond_msg`, `aibot_respond_welcome_msg`, `aibot_respond_update_msg` and
`aibot_send_msg`, each answered by `{headers: {req_id}, errcode, errmsg}` (no cmd). A reply
reuses the req_id of the callback it answers.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from aiohttp import WSMsgType, web
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from core.clock import Clock

JSON = dict[str, Any]

# WeCom documents the 5-second windows; the errcodes below are the double's choice where the
# real value was not found in the docs (an adapter must treat any non-zero errcode as a refusal).
REPLY_WINDOW = timedelta(seconds=5)
ERR_BAD_SECRET = 40001  # "invalid credential", as gettoken answers a wrong secret
ERR_NOT_SUBSCRIBED = 40014
ERR_UNKNOWN_REQ_ID = 40058
ERR_WINDOW_CLOSED = 40058
ERR_BAD_BODY = 40058
ERR_UNKNOWN_CMD = 40058
ERR_BAD_MSGTYPE = 40008

_REPLY_TYPES = frozenset(
    {"stream", "text", "markdown", "template_card", "stream_with_template_card"}
)
_SEND_TYPES = frozenset({"markdown", "template_card", "file", "image", "voice", "video"})


@dataclass(frozen=True)
class Frame:
    """One frame on the wire; `direction` is "in" (client → WeCom) or "out"."""

    direction: str
    data: JSON
    at: datetime

    @property
    def cmd(self) -> str:
        return str(self.data.get("cmd", ""))

    @property
    def req_id(self) -> str:
        return str(self.data.get("headers", {}).get("req_id", ""))


@dataclass
class ShownCard:
    """A template card as a chat shows it now; `versions` holds every card it has shown."""

    chatid: str
    task_id: str
    template_card: JSON
    versions: list[JSON] = field(default_factory=list)
    updated_for: list[list[str]] = field(default_factory=list)


@dataclass
class Shown:
    """One message the robot put in a chat (a reply, a welcome or a proactive send)."""

    chatid: str
    cmd: str
    body: JSON


@dataclass
class _Callback:
    kind: str  # "message", "enter_chat", "template_card_event"
    chatid: str
    userid: str
    at: datetime
    task_id: str = ""
    answered: bool = False


@dataclass(eq=False)
class _Connection:
    ws: web.WebSocketResponse
    base_url: str
    bot_id: str | None = None


@dataclass(eq=False)
class AiBotFace:
    """WeCom's end of the smart robot's long connection, with helpers that play the users."""

    clock: Clock
    bot_id: str = "aibot-gongdan-test"
    secret: str = "aibot-secret-test"
    bot_name: str = "工单机器人"
    seed: int = 7
    frames: list[Frame] = field(default_factory=list)
    shown: list[Shown] = field(default_factory=list)
    cards: dict[str, ShownCard] = field(default_factory=dict)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._counter = 0
        self._connections: list[_Connection] = []
        self._callbacks: dict[str, _Callback] = {}
        self._changed = asyncio.Condition()
        self.subscriptions = 0

    # --- what the test sees ----------------------------------------------------------------

    def received(self, cmd: str) -> list[Frame]:
        """Frames the client sent with this cmd, oldest first."""
        return [f for f in self.frames if f.direction == "in" and f.cmd == cmd]

    def answers(self, req_id: str) -> list[JSON]:
        """Every ack the double sent for this req_id."""
        return [
            f.data for f in self.frames if f.direction == "out" and not f.cmd and f.req_id == req_id
        ]

    def chat(self, chatid: str) -> list[Shown]:
        return [s for s in self.shown if s.chatid == chatid]

    def replies(self, chatid: str) -> list[str]:
        """What the robot answered to messages in a chat (finished streams, text, markdown)."""
        out = []
        for s in self.chat(chatid):
            if s.cmd == "aibot_respond_msg":
                part = s.body.get(str(s.body.get("msgtype")), {})
                out.append(str(part.get("content", "")) if isinstance(part, dict) else "")
        return out

    def cards_in(self, chatid: str) -> dict[str, ShownCard]:
        """The cards a chat shows now, by task_id."""
        return {k: c for k, c in self.cards.items() if c.chatid == chatid}

    @property
    def connected(self) -> int:
        return sum(1 for c in self._connections if c.bot_id is not None)

    async def wait_for(self, cmd: str, count: int = 1, within: float = 3.0) -> list[Frame]:
        """Until the client has sent `count` frames with this cmd; returns them."""
        await self._wait(lambda: len(self.received(cmd)) >= count, within)
        return self.received(cmd)

    async def wait_subscribed(self, count: int = 1, within: float = 3.0) -> None:
        """Until `count` successful subscriptions have happened in total."""
        await self._wait(lambda: self.subscriptions >= count, within)

    async def wait_disconnected(self, within: float = 3.0) -> None:
        await self._wait(lambda: not self._connections, within)

    async def _wait(self, done: Callable[[], bool], within: float) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(done), within)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- users acting in WeCom -------------------------------------------------------------

    async def send_group_message(
        self, chatid: str, userid: str, text: str, *, mention: bool = True
    ) -> JSON:
        """A user @mentions the robot in a group; returns the pushed frame."""
        content = f"@{self.bot_name} {text}" if mention else text
        return await self.push_message(chatid, userid, "text", {"text": {"content": content}})

    async def send_direct_message(self, userid: str, text: str) -> JSON:
        return await self.push_message(None, userid, "text", {"text": {"content": text}})

    async def send_voice(self, chatid: str | None, userid: str, heard: str) -> JSON:
        """A voice message: WeCom sends the words it heard (`voice.content`), never the audio."""
        return await self.push_message(chatid, userid, "voice", {"voice": {"content": heard}})

    async def send_image(self, chatid: str | None, userid: str, data: bytes) -> JSON:
        return await self.push_message(chatid, userid, "image", {"image": self._upload(data, "")})

    async def send_file(self, chatid: str | None, userid: str, data: bytes, filename: str) -> JSON:
        item = self._upload(data, filename)
        return await self.push_message(chatid, userid, "file", {"file": item})

    async def send_mixed(self, chatid: str | None, userid: str, parts: list[str | bytes]) -> JSON:
        """Text and images in one message: str parts are text, bytes parts are images."""
        items: list[JSON] = [
            {"msgtype": "text", "text": {"content": p}}
            if isinstance(p, str)
            else {"msgtype": "image", "image": self._upload(p, "")}
            for p in parts
        ]
        return await self.push_message(chatid, userid, "mixed", {"mixed": {"msg_item": items}})

    async def push_message(
        self, chatid: str | None, userid: str, msgtype: str, content: JSON
    ) -> JSON:
        """Any `aibot_msg_callback`; chatid None means a one-to-one chat with the robot."""
        body: JSON = {
            "msgid": self._next("msg"),
            "aibotid": self.bot_id,
            "chattype": "group" if chatid else "single",
            "from": {"userid": userid},
            "create_time": self._timestamp(),
            "response_url": f"{self._live().base_url}/aibot/response?code={self._next('rc')}",
            "msgtype": msgtype,
        }
        if chatid:
            body["chatid"] = chatid
        body |= content
        return await self._push("aibot_msg_callback", body, "message", chatid or userid, userid)

    async def send_raw(self, text: str) -> None:
        """A text frame exactly as given, JSON or not (WeCom's own frames always are)."""
        conn = self._live()
        await conn.ws.send_str(text)

    async def click(
        self,
        task_id: str,
        userid: str,
        event_key: str,
        *,
        selected: dict[str, list[str]] | None = None,
    ) -> JSON:
        """A user presses a button (or submits choices) on the card with this task_id."""
        card = self.cards.get(task_id)
        if card is None:
            raise LookupError(f"no card with task_id {task_id!r} has been shown")
        event: JSON = {
            "card_type": card.template_card.get("card_type", "button_interaction"),
            "event_key": event_key,
            "task_id": task_id,
        }
        if selected:
            event["selected_items"] = {
                "selected_item": [
                    {"question_key": q, "option_ids": {"option_id": ids}}
                    for q, ids in selected.items()
                ]
            }
        body = self._event_body(card.chatid, userid, "template_card_event", event)
        return await self._push(
            "aibot_event_callback", body, "template_card_event", card.chatid, userid, task_id
        )

    async def enter_chat(self, userid: str) -> JSON:
        """The user opens the one-to-one chat with the robot (first time that day)."""
        body = self._event_body(None, userid, "enter_chat", None)
        return await self._push("aibot_event_callback", body, "enter_chat", userid, userid)

    async def drop(self) -> None:
        """Cut every connection without a word (close code 1011: an error, not a kick)."""
        await self.close_all(code=1011, message=b"dropped")
        await self.wait_disconnected()

    async def close_all(self, code: int = 1001, message: bytes = b"going away") -> None:
        for conn in list(self._connections):
            await conn.ws.close(code=code, message=message)

    def _event_body(self, chatid: str | None, userid: str, kind: str, data: JSON | None) -> JSON:
        body: JSON = {
            "msgid": self._next("msg"),
            "create_time": self._timestamp(),
            "aibotid": self.bot_id,
            "chattype": "group" if chatid else "single",
            "from": {"userid": userid},
            "msgtype": "event",
            "event": {"eventtype": kind} | ({kind: data} if data is not None else {}),
        }
        if chatid:
            body["chatid"] = chatid
        return body

    async def _push(
        self, cmd: str, body: JSON, kind: str, chatid: str, userid: str, task_id: str = ""
    ) -> JSON:
        conn = self._live()
        req_id = self._next("req")
        frame = {"cmd": cmd, "headers": {"req_id": req_id}, "body": body}
        self._callbacks[req_id] = _Callback(kind, chatid, userid, self.clock.now(), task_id)
        await self._send(conn, frame)
        return frame

    def _live(self) -> _Connection:
        for conn in reversed(self._connections):
            if conn.bot_id is not None:
                return conn
        raise RuntimeError("no subscribed connection: the client has not sent aibot_subscribe")

    def _upload(self, data: bytes, filename: str) -> JSON:
        """Encrypt bytes with a fresh per-message key, as WeCom does, and serve them."""
        key = self._random.randbytes(32)
        media_id = self._next("media")
        self.media[media_id] = (encrypt_media(data, key), filename)
        url = f"{self._live().base_url}/aibot/media/{media_id}"
        return {"url": url, "aeskey": base64.b64encode(key).decode().rstrip("=")}

    def _next(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}-{self._counter:06d}"

    def _timestamp(self) -> int:
        return int(self.clock.now().timestamp())

    # --- the WebSocket ---------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        scheme = "https" if request.secure else "http"
        conn = _Connection(ws, f"{scheme}://{request.host}")
        self._connections.append(conn)
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                await self._on_frame(conn, message.data)
        finally:
            self._connections.remove(conn)
            await self._notify()
        return ws

    async def _on_frame(self, conn: _Connection, raw: str) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            return  # WeCom ignores garbage; the SDK logs its own parse errors the same way
        if not isinstance(frame, dict):
            return
        self.frames.append(Frame("in", frame, self.clock.now()))
        req_id = str(frame.get("headers", {}).get("req_id", ""))
        cmd = frame.get("cmd")
        raw_body = frame.get("body")
        body: JSON = raw_body if isinstance(raw_body, dict) else {}
        if cmd == "aibot_subscribe":
            errcode, errmsg = await self._subscribe(conn, body)
        elif conn.bot_id is None:
            errcode, errmsg = ERR_NOT_SUBSCRIBED, "not subscribed: send aibot_subscribe first"
        elif cmd == "ping":
            errcode, errmsg = 0, "ok"
        elif cmd in _HANDLERS:
            errcode, errmsg = _HANDLERS[cmd](self, req_id, body)
        else:
            errcode, errmsg = ERR_UNKNOWN_CMD, f"unknown cmd {cmd!r}"
        await self._send(
            conn, {"headers": {"req_id": req_id}, "errcode": errcode, "errmsg": errmsg}
        )
        await self._notify()

    async def _send(self, conn: _Connection, frame: JSON) -> None:
        self.frames.append(Frame("out", frame, self.clock.now()))
        await conn.ws.send_str(json.dumps(frame, ensure_ascii=False))

    async def _subscribe(self, conn: _Connection, body: JSON) -> tuple[int, str]:
        if body.get("bot_id") != self.bot_id or body.get("secret") != self.secret:
            return ERR_BAD_SECRET, "invalid bot_id or secret"
        for old in [c for c in self._connections if c.bot_id == self.bot_id and c is not conn]:
            await self._kick(old)
        conn.bot_id = self.bot_id
        self.subscriptions += 1
        return 0, "ok"

    async def _kick(self, conn: _Connection) -> None:
        """One live connection per bot: tell the old one, then close it."""
        body = self._event_body(None, "", "disconnected_event", None)
        body.pop("from")
        await self._send(
            conn,
            {"cmd": "aibot_event_callback", "headers": {"req_id": self._next("req")}, "body": body},
        )
        conn.bot_id = None
        await conn.ws.close(code=1000, message=b"new connection established")

    # --- replies ---------------------------------------------------------------------------

    def _respond(self, req_id: str, body: JSON) -> tuple[int, str]:
        callback = self._callbacks.get(req_id)
        if callback is None or callback.kind != "message":
            return ERR_UNKNOWN_REQ_ID, "req_id is not a message callback"
        return self._show(callback.chatid, "aibot_respond_msg", body, _REPLY_TYPES)

    def _respond_welcome(self, req_id: str, body: JSON) -> tuple[int, str]:
        callback = self._callbacks.get(req_id)
        if callback is None or callback.kind != "enter_chat":
            return ERR_UNKNOWN_REQ_ID, "req_id is not an enter_chat event"
        if callback.answered or self.clock.now() - callback.at > REPLY_WINDOW:
            return ERR_WINDOW_CLOSED, "welcome reply window (5 s) has passed"
        callback.answered = True
        return self._show(
            callback.chatid, "aibot_respond_welcome_msg", body, {"text", "template_card"}
        )

    def _respond_update(self, req_id: str, body: JSON) -> tuple[int, str]:
        callback = self._callbacks.get(req_id)
        if callback is None or callback.kind != "template_card_event":
            return ERR_UNKNOWN_REQ_ID, "req_id is not a template_card_event"
        if self.clock.now() - callback.at > REPLY_WINDOW:
            return ERR_WINDOW_CLOSED, "card update window (5 s after the click) has passed"
        card_json = body.get("template_card")
        if body.get("response_type") != "update_template_card" or not isinstance(card_json, dict):
            return ERR_BAD_BODY, "need response_type=update_template_card and template_card"
        if card_json.get("task_id") != callback.task_id:
            return ERR_BAD_BODY, "template_card.task_id must be the clicked card's task_id"
        card = self.cards[callback.task_id]
        card.template_card = card_json
        card.versions.append(card_json)
        card.updated_for.append(list(body.get("userids") or []))
        callback.answered = True
        return 0, "ok"

    def _send_msg(self, _req_id: str, body: JSON) -> tuple[int, str]:
        chatid = body.get("chatid")
        if not isinstance(chatid, str) or not chatid:
            return ERR_BAD_BODY, "chatid is required"
        return self._show(chatid, "aibot_send_msg", body, _SEND_TYPES)

    def _show(
        self, chatid: str, cmd: str, body: JSON, allowed: set[str] | frozenset[str]
    ) -> tuple[int, str]:
        msgtype = body.get("msgtype")
        if msgtype not in allowed:
            return ERR_BAD_MSGTYPE, f"invalid msgtype {msgtype!r} for {cmd}"
        card = body.get("template_card")
        if msgtype in ("template_card", "stream_with_template_card") and isinstance(card, dict):
            task_id = card.get("task_id")
            if card.get("card_type") != "text_notice" and not task_id:
                return ERR_BAD_BODY, "an interactive template_card needs a task_id"
            if task_id in self.cards:
                return ERR_BAD_BODY, f"task_id {task_id!r} already used"
            if task_id:
                self.cards[task_id] = ShownCard(chatid, task_id, card, [card])
        self.shown.append(Shown(chatid, cmd, body))
        return 0, "ok"


_HANDLERS: dict[str, Callable[[AiBotFace, str, JSON], tuple[int, str]]] = {
    "aibot_respond_msg": AiBotFace._respond,
    "aibot_respond_welcome_msg": AiBotFace._respond_welcome,
    "aibot_respond_update_msg": AiBotFace._respond_update,
    "aibot_send_msg": AiBotFace._send_msg,
}


def encrypt_media(data: bytes, key: bytes) -> bytes:
    """AES-256-CBC, IV = key[:16], PKCS#7 padded to 32 bytes: what the SDK's decrypt_file undoes."""
    pad = 32 - len(data) % 32
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return encryptor.update(data + bytes([pad]) * pad) + encryptor.finalize()


async def serve_media(face: AiBotFace, request: web.Request) -> web.Response:
    item = face.media.get(request.match_info["media_id"])
    if item is None:
        return web.Response(status=404, text="media not found or expired")
    data, filename = item
    disposition = f"attachment; filename*=UTF-8''{quote(filename, safe='')}"
    headers = {"Content-Disposition": disposition} if filename else {}
    return web.Response(body=data, headers=headers, content_type="application/octet-stream")
