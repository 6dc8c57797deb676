"""A local Slack: the Web API methods Gongdan calls, Socket Mode, and signed inbound requests.

FakeSlack is an aiohttp server on 127.0.0.1 (same event loop as the test) that answers like
https://slack.com/api/ does: HTTP 200 with {"ok": ...}, 429 + Retry-After when rate limited.
Point the real SDK at it: AsyncWebClient(token=fake.bot_token, base_url=await fake.start()).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import WSMsgType, web

from adapters.slack.types import SocketEnvelope
from core.clock import Clock

JSON = dict[str, Any]
_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")
_APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
TRIGGER_TTL = timedelta(seconds=3)


class _WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class Call:
    method: str
    body: JSON
    at: datetime
    token: str | None = None


@dataclass
class PostedMessage:
    channel: str
    ts: str
    text: str
    blocks: list[JSON]
    thread_ts: str | None = None
    edits: int = 0

    def to_json(self, bot_user_id: str, bot_id: str) -> JSON:
        out: JSON = {"type": "message", "user": bot_user_id, "bot_id": bot_id, "ts": self.ts}
        out |= {"text": self.text, "blocks": self.blocks}
        return out | ({"thread_ts": self.thread_ts} if self.thread_ts else {})


@dataclass(frozen=True)
class _Fault:
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    delay: float = 0.0


@dataclass(repr=False, eq=False)
class FakeSlack:
    """The Slack Web API and Socket Mode, in process. Every call is kept in `calls`."""

    clock: Clock = field(default_factory=_WallClock)
    team_id: str = "T0GONGDAN"
    bot_user_id: str = "U0BOT"
    bot_id: str = "B0BOT"
    app_id: str = "A0GONGDAN"
    bot_token: str = "xoxb-gongdan-test"
    app_token: str = "xapp-gongdan-test"
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, str], PostedMessage] = field(default_factory=dict)
    ephemerals: list[JSON] = field(default_factory=list)
    views: list[JSON] = field(default_factory=list)
    users: dict[str, JSON] = field(default_factory=dict)
    acks: list[JSON] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self._holds: dict[str, asyncio.Event] = {}
        self._answered: dict[str, int] = defaultdict(int)
        self._answer = asyncio.Condition()
        self._last_ts: dict[str, int] = {}
        self._triggers: dict[str, datetime] = {}
        self._used_triggers: set[str] = set()
        self._ids = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._connections = 0
        self._connected = asyncio.Condition()
        self._pending: dict[str, asyncio.Future[JSON]] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._methods: dict[str, Callable[[JSON], JSON]] = {
            "api.test": lambda body: {"ok": True, "args": body},
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "views.open": self._views_open,
            "users.info": self._users_info,
            "users.lookupByEmail": self._lookup_by_email,
            "apps.connections.open": self._connections_open,
        }

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> str:
        """Serve on a free port; returns the base URL for AsyncWebClient(base_url=...)."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/socket-mode", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self.base_url

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    # --- test controls -------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def fail_next(
        self, method: str, status: int = 429, retry_after: int = 30, error: str | None = None
    ) -> None:
        """The next call to `method` fails: 429 + Retry-After, a 5xx, or 200 with ok=false."""
        default = {429: "ratelimited"}.get(status, "internal_error" if status >= 500 else "")
        after = retry_after if status == 429 else None
        self._faults[method].append(_Fault(status, error or default or "fatal_error", after))

    def hold(self, method: str) -> asyncio.Event:
        """Calls to `method` are recorded, then wait unanswered until the returned event is set."""
        gate = self._holds[method] = asyncio.Event()
        return gate

    def delay_next(self, method: str, seconds: float) -> None:
        """The next call to `method` waits for real before answering (client timeouts)."""
        self._faults[method].append(_Fault(delay=seconds))

    def add_user(self, user_id: str, name: str, email: str | None = None, **extra: Any) -> JSON:
        """Seed users.info / users.lookupByEmail. Returns the Slack user object."""
        profile = {"real_name": name, "display_name": name} | ({"email": email} if email else {})
        user: JSON = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name.lower(),
            "real_name": name,
        }
        user |= {"deleted": False, "is_bot": False, "tz": "Asia/Shanghai", "profile": profile}
        self.users[user_id] = user | extra
        return self.users[user_id]

    def issue_trigger(self) -> str:
        """A trigger_id as Slack puts in an interaction; views.open accepts it for 3 s."""
        trigger = f"{next(self._ids)}.{self.team_id}.{uuid.uuid4().hex[:12]}"
        self._triggers[trigger] = self.clock.now()
        return trigger

    def message(self, channel: str, ts: str) -> PostedMessage:
        return self.messages[(channel, ts)]

    def messages_in(self, channel: str) -> list[PostedMessage]:
        return sorted((m for m in self.messages.values() if m.channel == channel), key=_ts_key)

    # --- Web API -------------------------------------------------------------------------

    async def wait_answered(self, method: str, count: int = 1, within: float = 3.0) -> None:
        """Until `count` calls to `method` have been answered (for work a client does after acking)."""
        async with self._answer:
            done = self._answer.wait_for(lambda: self._answered[method] >= count)
            await asyncio.wait_for(done, within)

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        response = await self._respond(method, request)
        async with self._answer:
            self._answered[method] += 1
            self._answer.notify_all()
        return response

    async def _respond(self, method: str, request: web.Request) -> web.Response:
        try:
            body = await _read_body(request)
        except ValueError:
            return web.json_response({"ok": False, "error": "invalid_json"})
        token = _bearer(request) or body.pop("token", None)
        self.calls.append(Call(method, body, self.clock.now(), token))
        if (gate := self._holds.get(method)) is not None:
            await gate.wait()
        if self._faults[method]:
            fault = self._faults[method].popleft()
            await asyncio.sleep(fault.delay)
            if fault.error:
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                payload = {"ok": False, "error": fault.error}
                return web.json_response(payload, status=fault.status, headers=headers)
        if (error := self._auth_error(method, token)) is not None:
            return web.json_response({"ok": False, "error": error})
        handler = self._methods.get(method)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        return web.json_response(handler(body))

    def _auth_error(self, method: str, token: str | None) -> str | None:
        if not token:
            return "not_authed"
        wanted = self.app_token if method in _APP_TOKEN_METHODS else self.bot_token
        if token == wanted:
            return None
        return (
            "not_allowed_token_type"
            if token in (self.app_token, self.bot_token)
            else "invalid_auth"
        )

    def _auth_test(self, _: JSON) -> JSON:
        return {
            "ok": True,
            "url": "https://gongdan-test.slack.com/",
            "team": "Gongdan Test",
            "user": "gongdan",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _post_message(self, body: JSON) -> JSON:
        channel = body.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if (error := _content_error(body)) is not None:
            return {"ok": False, "error": error}
        ts = self._next_ts(channel)
        thread = body.get("thread_ts") or None
        msg = PostedMessage(channel, ts, body.get("text", ""), body.get("blocks") or [], thread)
        self.messages[(channel, ts)] = msg
        return {"ok": True, "channel": channel, "ts": ts, "message": self._json(msg)}

    def _update(self, body: JSON) -> JSON:
        msg = self.messages.get((body.get("channel", ""), body.get("ts", "")))
        if msg is None:
            return {"ok": False, "error": "message_not_found"}
        if (error := _content_error(body)) is not None:
            return {"ok": False, "error": error}
        msg.text = body.get("text", msg.text)
        msg.blocks = body.get("blocks", msg.blocks)
        msg.edits += 1
        reply = {"channel": msg.channel, "ts": msg.ts, "text": msg.text}
        return {"ok": True, **reply, "message": self._json(msg)}

    def _post_ephemeral(self, body: JSON) -> JSON:
        if not body.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not body.get("user"):
            return {"ok": False, "error": "user_not_found"}
        if (error := _content_error(body)) is not None:
            return {"ok": False, "error": error}
        ts = self._next_ts(body["channel"])
        self.ephemerals.append(body | {"message_ts": ts})
        return {"ok": True, "message_ts": ts}

    def _views_open(self, body: JSON) -> JSON:
        trigger = body.get("trigger_id", "")
        issued = self._triggers.get(trigger)
        if issued is None:
            return {"ok": False, "error": "invalid_trigger_id"}
        if trigger in self._used_triggers:
            return {"ok": False, "error": "exchanged_trigger_id"}
        if self.clock.now() - issued > TRIGGER_TTL:
            return {"ok": False, "error": "expired_trigger_id"}
        view = body.get("view")
        if not isinstance(view, dict) or view.get("type") != "modal":
            return {"ok": False, "error": "invalid_arguments"}
        self._used_triggers.add(trigger)
        opened = view | {"id": f"V{next(self._ids):08d}", "team_id": self.team_id}
        opened |= {
            "state": {"values": {}},
            "hash": f"{next(self._ids)}.fake",
            "app_id": self.app_id,
        }
        self.views.append(opened)
        return {"ok": True, "view": opened}

    def _users_info(self, body: JSON) -> JSON:
        user = self.users.get(body.get("user", ""))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def _lookup_by_email(self, body: JSON) -> JSON:
        email = str(body.get("email", "")).lower()
        for user in self.users.values():
            if str(user["profile"].get("email", "")).lower() == email and email:
                return {"ok": True, "user": user}
        return {"ok": False, "error": "users_not_found"}

    def _connections_open(self, _: JSON) -> JSON:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket-mode"}

    def _next_ts(self, channel: str) -> str:
        # Slack's ts is "seconds.micro", unique and increasing per channel
        micros = max(
            int(self.clock.now().timestamp() * 1_000_000), self._last_ts.get(channel, 0) + 1
        )
        self._last_ts[channel] = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _json(self, msg: PostedMessage) -> JSON:
        return msg.to_json(self.bot_user_id, self.bot_id)

    # --- Socket Mode ---------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        hello = {"type": "hello", "num_connections": len(self._sockets)}
        await ws.send_json(hello | {"connection_info": {"app_id": self.app_id}})
        async with self._connected:
            self._connections += 1
            self._connected.notify_all()
        try:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    self._on_ack(json.loads(frame.data))
        finally:
            self._sockets.remove(ws)
        return ws

    def _on_ack(self, ack: JSON) -> None:
        self.acks.append(ack)
        waiter = self._pending.pop(str(ack.get("envelope_id")), None)
        if waiter is not None and not waiter.done():
            waiter.set_result(ack)

    async def wait_connected(self, count: int = 1, within: float = 5.0) -> None:
        """Until `count` Socket Mode connections have been opened in total (reconnects count)."""
        async with self._connected:
            await asyncio.wait_for(
                self._connected.wait_for(lambda: self._connections >= count), within
            )

    async def push(self, envelope: SocketEnvelope, within: float = 3.0) -> JSON:
        """Send an envelope to the newest connection; returns the client's ack frame."""
        await self.wait_connected(within=within)
        waiter: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._pending[envelope["envelope_id"]] = waiter
        await self._sockets[-1].send_json(envelope)
        return await asyncio.wait_for(waiter, within)

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask every connected client to reconnect, as Slack does every few hours."""
        for ws in list(self._sockets):
            await ws.send_json(
                {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}}
            )


async def _read_body(request: web.Request) -> JSON:
    body: JSON = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            loaded = json.loads(await request.text() or "{}")
            if not isinstance(loaded, dict):
                raise ValueError("body is not an object")
            body |= loaded
        else:
            body |= {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    for key in _JSON_FIELDS:
        if isinstance(body.get(key), str):
            body[key] = json.loads(body[key])  # form bodies carry blocks as JSON strings
    return body


def _bearer(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return None
    return auth.removeprefix("Bearer ").strip() or None


def _content_error(body: Mapping[str, Any]) -> str | None:
    blocks = body.get("blocks")
    if blocks is not None and (not isinstance(blocks, list) or len(blocks) > 50):
        return "invalid_blocks"
    if not body.get("text") and not blocks:
        return "no_text"
    return None


def _ts_key(msg: PostedMessage) -> tuple[int, int]:
    seconds, _, micros = msg.ts.partition(".")
    return int(seconds), int(micros)


# --- Socket Mode envelopes and signed HTTP deliveries ------------------------------------------


def envelope(
    kind: str, payload: JSON, *, retry_attempt: int | None = None, retry_reason: str = "timeout"
) -> SocketEnvelope:
    """A Socket Mode envelope: kind is events_api, interactive or slash_commands."""
    env: SocketEnvelope = {
        "envelope_id": str(uuid.uuid4()),
        "type": kind,  # type: ignore[typeddict-item]
        "payload": payload,
        "accepts_response_payload": kind != "events_api",
    }
    if retry_attempt is not None:
        env["retry_attempt"] = retry_attempt
        env["retry_reason"] = retry_reason
    return env


def sign(secret: str, body: bytes, ts: int) -> dict[str, str]:
    """Headers Slack adds to every HTTP delivery (v0 HMAC-SHA256 of "v0:{ts}:{body}")."""
    base = b"v0:" + str(ts).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


@dataclass(frozen=True)
class SignedRequest:
    body: bytes
    headers: dict[str, str]


def events_request(
    secret: str, body: Mapping[str, Any], ts: int, *, retry_num: int | None = None
) -> SignedRequest:
    """An Events API delivery; retry_num adds X-Slack-Retry-Num/Reason like Slack's redelivery."""
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **sign(secret, raw, ts)}
    if retry_num is not None:
        headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
    return SignedRequest(raw, headers)


def interactivity_request(secret: str, payload: Mapping[str, Any], ts: int) -> SignedRequest:
    """An interactivity delivery: form-encoded `payload=<JSON>`."""
    raw = urlencode({"payload": json.dumps(payload)}).encode()
    return SignedRequest(raw, _form_headers(secret, raw, ts))


def slash_command_request(secret: str, fields: Mapping[str, str], ts: int) -> SignedRequest:
    raw = urlencode(dict(fields)).encode()
    return SignedRequest(raw, _form_headers(secret, raw, ts))


def _form_headers(secret: str, raw: bytes, ts: int) -> dict[str, str]:
    return {"Content-Type": "application/x-www-form-urlencoded", **sign(secret, raw, ts)}


def event_callback(
    event: JSON, *, team_id: str = "T0GONGDAN", event_id: str | None = None, event_time: int = 0
) -> JSON:
    """Wrap an event the way the Events API (and Socket Mode's events_api payload) does."""
    return {
        "token": "scrubbed",
        "team_id": team_id,
        "api_app_id": "A0GONGDAN",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": event_time,
        "authorizations": [{"team_id": team_id, "user_id": "U0BOT", "is_bot": True}],
    }


def message_event(user: str, channel: str, text: str, ts: str, **extra: Any) -> JSON:
    """A `message` event; pass type="app_mention", thread_ts=..., subtype=..., bot_id=... in extra."""
    kinds = {"C": "channel", "G": "group", "D": "im"}
    event = {"type": "message", "user": user, "text": text, "ts": ts, "channel": channel}
    event |= {"event_ts": ts, "channel_type": kinds.get(channel[:1], "channel")}
    event |= extra
    if event["type"] == "app_mention":
        event.pop("channel_type")
    return event


def block_actions(
    *,
    user: str,
    channel: str,
    message_ts: str,
    action: JSON,
    trigger_id: str,
    team_id: str = "T0GONGDAN",
) -> JSON:
    """A click on a message's button or select; `action` is one element of `actions`."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": team_id},
        "api_app_id": "A0GONGDAN",
        "team": {"id": team_id, "domain": "gongdan-test"},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "channel": {"id": channel, "name": "help"},
        "trigger_id": trigger_id,
        "response_url": f"https://hooks.slack.com/actions/{team_id}/1/scrubbed",
        "actions": [{"action_ts": message_ts, **action}],
    }
