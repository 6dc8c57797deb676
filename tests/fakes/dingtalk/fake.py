"""FakeDingTalk: one aiohttp server on 127.0.0.1 (port 0) playing api.dingtalk.com,
oapi.dingtalk.com and the Stream gateway at once. See the package docstring for the scope."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import uuid
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

from aiohttp import web

from core.clock import Clock
from tests.fakes.dingtalk.faults import Fault
from tests.fakes.dingtalk.openapi import Card, OpenApi, Sent, Session
from tests.fakes.dingtalk.outgoing import Delivery, OutgoingRobot
from tests.fakes.dingtalk.payloads import (
    JSON,
    TOPIC_BOT_MESSAGE,
    TOPIC_CARD_CALLBACK,
    api_error,
    card_click,
    opaque_id,
    robot_message,
)
from tests.fakes.dingtalk.stream import Ack, Push, StreamGateway

LEGACY_ROUTES = frozenset({"/gettoken", "/topapi/v2/user/get", "/robot/sendBySession"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    at: datetime


@dataclass(repr=False, eq=False)
class FakeDingTalk:
    """DingTalk in process. Every HTTP call is kept in `calls`; every frame and ack in `stream`."""

    clock: Clock = field(default_factory=_WallClock)
    app_key: str = "dingtestappkey0001"
    app_secret: str = "scrubbed-app-secret"
    corp_id: str = "dingtestcorp0001"
    app_id: str = "0f1e2d3c-4b5a-6978-8a9b-acbdcedf0011"
    seed: int = 0
    ticket_ttl: timedelta = timedelta(seconds=90)
    token_ttl_seconds: int = 7200
    ack_timeout: timedelta = timedelta(seconds=5)  # EVENT redelivery when not acked
    later_delay: timedelta = timedelta(seconds=60)  # EVENT redelivery after a LATER ack
    session_ttl: timedelta = timedelta(minutes=90)  # sessionWebhook validity
    disconnect_grace: float = 10.0  # real seconds between a disconnect frame and the close
    auto_redeliver: bool = True  # a 10 ms ticker runs redeliver_due() on the injected clock
    edition: str = "professional"  # "standard" refuses DING
    ding_paid_quota: bool = False  # SMS/phone DING need a bought quota
    # the card templates published for this app; None: any id is taken as one
    templates: set[str] | None = None
    calls: list[Call] = field(default_factory=list)
    cards: dict[str, Card] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    dings: list[JSON] = field(default_factory=list)
    users: dict[str, JSON] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    download_codes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.robot_code = self.app_key  # an internal app's robot uses its AppKey as robotCode
        self.rng = random.Random(self.seed)
        self.stream = StreamGateway(self)
        self.outgoing = OutgoingRobot(self)
        self._ids = 0
        self._tokens: dict[str, datetime] = {}
        self._faults: dict[tuple[str | None, str], deque[Fault]] = defaultdict(deque)
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.port = 0

    # --- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> FakeDingTalk:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> str:
        """Serve on a free port; returns the base URL (both the new and the legacy API)."""
        app = web.Application(middlewares=[self._record])
        OpenApi(self).routes(app)
        app.router.add_post("/v1.0/gateway/connections/open", self.stream.open)
        app.router.add_get("/connect", self.stream.connect)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        if self.auto_redeliver:
            self._ticker = asyncio.create_task(self._tick())
        return self.base_url

    async def stop(self) -> None:
        self._release.set()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self.stream.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.01)
            await self.stream.redeliver_due()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    # --- recording and faults ------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        raw = await request.read() if request.can_read_body else b""
        body: Any = raw.decode(errors="replace")
        with contextlib.suppress(ValueError):
            body = json.loads(raw) if raw else None
        self.calls.append(
            Call(request.method, request.path, dict(request.query), body, self.clock.now())
        )
        fault = self._take_fault(request.method, request.path)
        if fault is None:
            return await handler(request)
        if fault.kind == "hang":
            await self._release.wait()
            raise web.HTTPServiceUnavailable()
        legacy = request.path in LEGACY_ROUTES
        return fault.response(legacy_route=legacy, request_id=self.new_uuid().upper())

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for key in ((method, path), (None, path)):
            if self._faults[key]:
                return self._faults[key].popleft()
        return None

    def fail_next(self, path: str, fault: Fault, times: int = 1, method: str | None = None) -> None:
        """The next `times` calls to `path` (any method, or only `method`) get `fault`."""
        self._faults[(method, path)].extend([fault] * times)

    def calls_to(self, path: str, method: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.path == path and method in (None, c.method)]

    async def json_body(self, request: web.Request) -> JSON | None:
        try:
            body = json.loads(await request.read() or b"null")
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def error(self, status: int, code: str, message: str | None = None) -> web.Response:
        body = api_error(code, message or code, self.new_uuid().upper())
        return web.json_response(body, status=status)

    # --- ids and time --------------------------------------------------------------------

    def new_hex(self, length: int) -> str:
        return f"{self.rng.getrandbits(length * 4):0{length}x}"

    def new_uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def new_message_id(self) -> str:
        self._ids += 1
        return f"{self.new_hex(8)}_{self._ids}_{self.new_hex(11)}_{self.new_hex(4)}"

    def now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    # --- tokens --------------------------------------------------------------------------

    def issue_token(self) -> str:
        """The live token is returned again (and its life renewed) while it is valid."""
        now = self.clock.now()
        live = [t for t, until in self._tokens.items() if until > now]
        token = live[0] if live else self.new_hex(32)
        self._tokens[token] = now + timedelta(seconds=self.token_ttl_seconds)
        return token

    def token_valid(self, token: str | None) -> bool:
        until = self._tokens.get(token or "")
        return until is not None and until > self.clock.now()

    def expire_tokens(self) -> None:
        self._tokens.clear()

    # --- seeding -------------------------------------------------------------------------

    def add_user(
        self, user_id: str, name: str, *, email: str = "", mobile: str = "", title: str = ""
    ) -> JSON:
        """A person for topapi/v2/user/get (and batchSend's invalidStaffIdList)."""
        user: JSON = {"userid": user_id, "unionid": f"union{user_id}", "name": name, "avatar": ""}
        user |= {"mobile": mobile, "email": email, "title": title, "active": True}
        user |= {"admin": False, "boss": False, "dept_id_list": [1], "state_code": "86"}
        self.users[user_id] = user
        return user

    def add_file(self, content: bytes) -> str:
        """Bytes a user sent the robot; returns the downloadCode to put in a message."""
        code, name = self.new_hex(40), f"{self.new_hex(24)}.file"
        self.download_codes[code] = name
        self.files[name] = content
        return code

    def card(self, out_track_id: str) -> Card:
        return self.cards[out_track_id]

    # --- Stream: what a test pushes ------------------------------------------------------

    async def wait_connected(self, count: int = 1, within: float = 3.0) -> None:
        await self.stream.wait_connected(count, within)

    def bot_message(
        self,
        *,
        text: str = "",
        sender_staff_id: str = "manager4220",
        sender_nick: str = "李雷",
        conversation_id: str = "cidGroupHelpDesk0001==",
        conversation_type: str = "2",
        conversation_title: str = "IT 服务台",
        msgtype: str = "text",
        content: Mapping[str, Any] | None = None,
        at_staff_ids: Sequence[str] = (),
        quoting: Card | None = None,
        quoting_message: Sent | None = None,
    ) -> JSON:
        """A robot message's payload (the same in Stream and HTTP mode), with a new
        sessionWebhook. `quoting`: a reply quoting that card's message in this conversation
        (`originalProcessQueryKey` is the card's carrierId there)."""
        session = self.new_hex(32)
        expires = self.clock.now() + self.session_ttl
        self.sessions[session] = Session(conversation_id, expires)
        return robot_message(
            msg_id=f"msg{self.new_hex(22)}==",
            create_at=self.now_ms(),
            robot_code=self.robot_code,
            corp_id=self.corp_id,
            session_webhook=f"{self.base_url}/robot/sendBySession?session={session}",
            session_webhook_expired_time=int(expires.timestamp() * 1000),
            sender_staff_id=sender_staff_id,
            sender_nick=sender_nick,
            conversation_id=conversation_id,
            conversation_type=conversation_type,
            conversation_title=conversation_title,
            msgtype=msgtype,
            text=text,
            content=content,
            at_staff_ids=at_staff_ids,
            replied=self._quote(quoting, quoting_message),
            original_process_query_key=(
                self._carrier(quoting, conversation_id, sender_staff_id, conversation_type)
                if quoting is not None
                else quoting_message.process_query_key
                if quoting_message is not None
                else None
            ),
        )

    async def send_bot_message(self, **message: Any) -> tuple[JSON, Push]:
        """A robot message over Stream (fire-and-forget; `bot_message` takes the arguments):
        returns its payload and push; `stream.lost` holds it when no connection subscribed to
        the topic was open."""
        payload = self.bot_message(**message)
        return payload, await self.stream.push("CALLBACK", TOPIC_BOT_MESSAGE, payload, {})

    async def post_bot_message(self, url: str, **message: Any) -> tuple[JSON, Delivery]:
        """A robot message in HTTP mode: POSTed to `url`, signed with the app secret."""
        payload = self.bot_message(**message)
        return payload, await self.outgoing.post(url, payload)

    def _quote(self, card: Card | None, message: Sent | None) -> JSON | None:
        """`text.repliedMsg` of a reply quoting the robot's card or message, as a live tenant
        sends it: DingTalk's own id of the message; a card's quote has no content
        (DingTalk-Real-AI/dingtalk-openclaw-connector#399), a markdown one its title and text."""
        if card is None and message is None:
            return None
        quote: JSON = {
            "createdAt": self.now_ms(),
            "senderId": opaque_id("bot", self.robot_code),
            "msgType": "interactiveCard",
            "msgId": f"msg{self.new_hex(22)}==",
        }
        if message is not None:
            kind = "markdown" if "title" in message.param else "text"
            words = {k: str(v) for k, v in message.param.items() if k in ("title", "text")}
            if kind == "text":
                words = {"content": str(message.param.get("content", ""))}
            quote |= {"msgType": kind, "content": words}
        return quote

    @staticmethod
    def _carrier(card: Card, conversation_id: str, staff_id: str, conversation_type: str) -> str:
        """The quoted card's `originalProcessQueryKey`: its delivery's carrierId there."""
        return card.carriers[staff_id if conversation_type == "1" else conversation_id]

    async def click_card(
        self,
        out_track_id: str,
        user_id: str,
        params: Mapping[str, Any],
        *,
        action_ids: Sequence[str] = ("action_button",),
        within: float = 3.0,
    ) -> Ack:
        """A button press on a card; waits for the ack and applies a card update it carries
        ({"response": {"cardData": {"cardParamMap"}, "cardUpdateOptions", "userPrivateData"}})."""
        card = self.cards.get(out_track_id)
        space = card.spaces[0][1] if card and card.spaces else ""
        data = card_click(
            out_track_id=out_track_id,
            user_id=user_id,
            corp_id=self.corp_id,
            params=params,
            action_ids=action_ids,
            space_id=space,
        )
        push = await self.stream.push("CALLBACK", TOPIC_CARD_CALLBACK, data, {})
        ack = await self.stream.wait_ack(push.message_id, within)
        if card is not None:
            _apply_click_answer(card, user_id, ack.data)
        return ack

    async def push_event(
        self, event_type: str, data: Mapping[str, Any], *, event_id: str | None = None
    ) -> Push:
        """An EVENT (at-least-once): redelivered until acked with {"status": "SUCCESS"}."""
        born = str(self.now_ms())
        headers = {
            "eventType": event_type,
            "eventId": event_id or self.new_hex(32),
            "eventCorpId": self.corp_id,
            "eventBornTime": born,
            "eventUnifiedAppId": self.app_id,
        }
        return await self.stream.push("EVENT", "*", dict(data), headers)

    async def ping(self, connection_id: str | None = None, within: float = 3.0) -> Ack:
        """SYSTEM ping with a fresh opaque; returns the client's pong."""
        conn = self.stream.pick(connection_id)[-1]
        push = await self.stream.system("ping", {"opaque": self.new_uuid()}, conn)
        return await self.stream.wait_ack(push.message_id, within)

    async def disconnect(
        self, reason: str = "connection is expired", connection_id: str | None = None
    ) -> None:
        """SYSTEM disconnect, then the server closes the socket `disconnect_grace` s later."""
        await self.stream.disconnect(reason, connection_id)

    async def drop(self, connection_id: str | None = None) -> None:
        """Cut the TCP connection(s) without a close frame."""
        self.stream.drop(connection_id)
        await asyncio.sleep(0)

    async def redeliver_due(self) -> int:
        return await self.stream.redeliver_due()


def _apply_click_answer(card: Card, user_id: str, data: Any) -> None:
    response = data.get("response") if isinstance(data, dict) else None
    if not isinstance(response, dict):
        return
    options = response.get("cardUpdateOptions") or {}
    public = (response.get("cardData") or {}).get("cardParamMap")
    if isinstance(public, dict) and all(isinstance(v, str) for v in public.values()):
        card.apply(public, by_key=bool(options.get("updateCardDataByKey")))
    private = (response.get("userPrivateData") or {}).get("cardParamMap")
    if isinstance(private, dict) and all(isinstance(v, str) for v in private.values()):
        card.private[user_id] = card.private.get(user_id, {}) | private
