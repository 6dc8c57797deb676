"""The company app's HTTP API (`https://qyapi.weixin.qq.com/cgi-bin/...`), as WeCom answers it.

Every answer, error or not, is HTTP 200 with `{"errcode": ..., "errmsg": ...}` — except faults a
test injects on purpose (a 5xx, a hang). Known codes: 40001 invalid credential (wrong secret),
40007 invalid media_id, 40013 invalid corpid, 40014 invalid access_token, 41001 access_token missing, 42001 access_token
expired, 45009 api freq out of limit, 40008 invalid message type, 44004 empty content, 60111
userid not found, 93000 invalid webhook url. 40058 (invalid parameter) is the double's answer
where the exact code was not found (duplicate task_id, spent or expired response_code).
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from core.clock import Clock

JSON = dict[str, Any]
TOKEN_TTL = timedelta(seconds=7200)
RESPONSE_CODE_TTL = timedelta(hours=72)
WEBHOOK_LIMIT = 20  # messages per robot per minute
WEBHOOK_WINDOW = timedelta(minutes=1)
# what one app may send one member; WeCom answers errcode 0 to the rest and never shows them
MEMBER_LIMITS = ((30, timedelta(minutes=1)), (1000, timedelta(hours=1)))
MAX_BUTTONS = 6
MAX_TASK_ID = 128
INTERACTIVE_CARDS = frozenset({"button_interaction", "vote_interaction", "multiple_interaction"})
CARD_TYPES = INTERACTIVE_CARDS | {"text_notice", "news_notice"}
APP_MSGTYPES = frozenset(
    {"text", "image", "voice", "video", "file", "textcard", "news", "mpnews", "markdown"}
    | {"miniprogram_notice", "template_card"}
)
APPCHAT_MSGTYPES = frozenset(
    {"text", "image", "voice", "video", "file", "textcard", "news", "mpnews", "markdown"}
)
WEBHOOK_MSGTYPES = frozenset(
    {"text", "markdown", "image", "news", "file", "voice", "template_card"}
)
ERRMSG = {
    0: "ok",
    40001: "invalid credential",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40056: "invalid agentid",
    40058: "invalid parameter",
    41001: "access_token missing",
    42001: "access_token expired",
    44004: "empty content",
    45009: "api freq out of limit",
    60111: "userid not found",
    93000: "invalid webhook url",
}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: JSON
    at: datetime


@dataclass
class SentCard:
    """A template card the app sent with message/send; `template_card` is what it shows now."""

    agentid: int
    task_id: str
    touser: list[str]
    template_card: JSON
    replaced_name: str | None = None
    updates: list[JSON] = field(default_factory=list)


@dataclass
class _Code:
    agentid: int
    task_id: str
    issued: datetime
    used: bool = False


@dataclass(frozen=True)
class _Fault:
    errcode: int = 0
    status: int = 200
    hang: asyncio.Event | None = None


def _err(errcode: int, detail: str = "") -> JSON:
    message = ERRMSG.get(errcode, "error")
    return {"errcode": errcode, "errmsg": f"{message}, {detail}" if detail else message}


@dataclass(eq=False)
class ApiFace:
    """gettoken, message/send, update_template_card, appchat/send, webhook/send, user/get, media."""

    clock: Clock
    corp_id: str = "ww-gongdan-test"
    corp_secret: str = "app-secret-test"
    agent_id: int = 1000002
    webhook_key: str = "hook-key-test"
    calls: list[Call] = field(default_factory=list)
    messages: list[JSON] = field(default_factory=list)
    cards: dict[str, SentCard] = field(default_factory=dict)
    appchat: list[JSON] = field(default_factory=list)
    webhook: list[JSON] = field(default_factory=list)
    users: dict[str, JSON] = field(default_factory=dict)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    # message/send past a member's limits (MEMBER_LIMITS): answered as sent, shown to nobody
    dropped: list[JSON] = field(default_factory=list)
    member_limits: bool = True  # False: a member takes any number (a benchmark without quotas)

    def __post_init__(self) -> None:
        self._tokens: dict[str, datetime] = {}
        self._codes: dict[str, _Code] = {}
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self._hook_times: deque[datetime] = deque()
        self._member_times: dict[str, deque[datetime]] = defaultdict(deque)
        self._counter = 0

    # --- test controls ---------------------------------------------------------------------

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    def fail_next(self, path: str, errcode: int = 0, *, status: int = 200) -> None:
        """The next call to `path` (e.g. "message/send") answers this errcode, or this 5xx."""
        self._faults[path].append(_Fault(errcode=errcode, status=status))

    def hang_next(self, path: str) -> asyncio.Event:
        """The next call to `path` is recorded, then left unanswered until the event is set."""
        gate = asyncio.Event()
        self._faults[path].append(_Fault(hang=gate))
        return gate

    def add_user(self, userid: str, name: str, email: str = "", **extra: Any) -> JSON:
        user = {"userid": userid, "name": name, "email": email, "biz_mail": email, "status": 1}
        self.users[userid] = user | extra
        return self.users[userid]

    def add_media(self, data: bytes, filename: str) -> str:
        media_id = self._next("media")
        self.media[media_id] = (data, filename)
        return media_id

    def issue_response_code(self, task_id: str) -> str:
        """A fresh code for this card, as a template_card_event click carries one."""
        code = self._next("rc")
        self._codes[code] = _Code(self.agent_id, task_id, self.clock.now())
        return code

    def _next(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}-{self._counter:06d}"

    # --- dispatch --------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        table: dict[str, Callable[[JSON, dict[str, str]], JSON]] = {
            "message/send": self._message_send,
            "message/update_template_card": self._update_card,
            "appchat/send": self._appchat_send,
            "user/get": self._user_get,
        }
        out = [
            web.get("/cgi-bin/gettoken", self._wrap("gettoken", self._gettoken, token=False)),
            web.post(
                "/cgi-bin/webhook/send", self._wrap("webhook/send", self._webhook_send, token=False)
            ),
            web.get("/cgi-bin/media/get", self._media_get),
        ]
        for path, handler in table.items():
            method = web.get if path == "user/get" else web.post
            out.append(method(f"/cgi-bin/{path}", self._wrap(path, handler, token=True)))
        return out

    def _wrap(
        self, path: str, handler: Callable[[JSON, dict[str, str]], JSON], *, token: bool
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def route(request: web.Request) -> web.Response:
            query = dict(request.query)
            raw = await request.text() if request.can_read_body else ""
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = None
            self.calls.append(Call(request.method, path, query, body or {}, self.clock.now()))
            if (faulted := await self._fault(path)) is not None:
                return faulted
            if not isinstance(body, dict):
                return web.json_response(_err(40058, "body is not a JSON object"))
            if token and (error := self._check_token(query.get("access_token"))) is not None:
                return web.json_response(error)
            return web.json_response(handler(body, query))

        return route

    async def _fault(self, path: str) -> web.Response | None:
        if not self._faults[path]:
            return None
        fault = self._faults[path].popleft()
        if fault.hang is not None:
            await fault.hang.wait()
            return None
        if fault.status != 200:
            return web.Response(status=fault.status, text="upstream error")
        return web.json_response(_err(fault.errcode))

    def _check_token(self, token: str | None) -> JSON | None:
        if not token:
            return _err(41001)
        issued = self._tokens.get(token)
        if issued is None:
            return _err(40014)
        if self.clock.now() - issued >= TOKEN_TTL:
            return _err(42001)
        return None

    # --- methods ---------------------------------------------------------------------------

    def _gettoken(self, _body: JSON, query: dict[str, str]) -> JSON:
        if query.get("corpid") != self.corp_id:
            return _err(40013)
        if query.get("corpsecret") != self.corp_secret:
            return _err(40001)
        token = self._next("token")
        self._tokens[token] = self.clock.now()
        expires = int(TOKEN_TTL.total_seconds())
        return _err(0) | {"access_token": token, "expires_in": expires}

    def _message_send(self, body: JSON, _query: dict[str, str]) -> JSON:
        if body.get("agentid") not in (self.agent_id, str(self.agent_id)):
            return _err(40056)
        if not (body.get("touser") or body.get("toparty") or body.get("totag")):
            return _err(40058, "touser, toparty or totag is required")
        msgtype = body.get("msgtype")
        if msgtype not in APP_MSGTYPES:
            return _err(40008)
        if msgtype == "text" and not str(body.get("text", {}).get("content", "")).strip():
            return _err(44004)
        users = [u for u in str(body.get("touser", "")).split("|") if u]
        invalid = [u for u in users if self.users and u not in self.users and u != "@all"]
        answer = _err(0) | {"invaliduser": "|".join(invalid), "msgid": self._next("msgid")}
        if msgtype == "template_card" and (error := self._card_error(body.get("template_card"))):
            return error
        shown_to = [u for u in users if self._member_takes(u)]  # each one counted
        if users and not shown_to:
            self.dropped.append(body)  # WeCom says "ok" and shows it to nobody
            return answer
        if msgtype == "template_card":
            card = body.get("template_card")
            assert isinstance(card, dict)
            task_id = str(card.get("task_id", ""))
            if card["card_type"] in INTERACTIVE_CARDS or task_id:
                self.cards[task_id] = SentCard(self.agent_id, task_id, users, card)
                answer["response_code"] = self.issue_response_code(task_id)
        self.messages.append(body)
        return answer

    def _member_takes(self, userid: str) -> bool:
        """Whether this member is shown one more message from the app now (and count it)."""
        if not self.member_limits or userid == "@all":
            return True
        now, times = self.clock.now(), self._member_times[userid]
        longest = max(window for _, window in MEMBER_LIMITS)
        while times and now - times[0] >= longest:
            times.popleft()
        for limit, window in MEMBER_LIMITS:
            if sum(1 for t in times if now - t < window) >= limit:
                return False
        times.append(now)
        return True

    def _card_error(self, card: Any) -> JSON | None:
        if not isinstance(card, dict) or card.get("card_type") not in CARD_TYPES:
            return _err(40058, "template_card.card_type")
        task_id = card.get("task_id")
        if card["card_type"] in INTERACTIVE_CARDS and not task_id:
            return _err(40058, "template_card.task_id is required for interactive cards")
        if task_id and (len(str(task_id)) > MAX_TASK_ID or task_id in self.cards):
            return _err(40058, "template_card.task_id too long or already used")
        if len(card.get("button_list") or []) > MAX_BUTTONS:
            return _err(40058, "template_card.button_list has more than 6 buttons")
        return None

    def _update_card(self, body: JSON, _query: dict[str, str]) -> JSON:
        code = self._codes.get(str(body.get("response_code", "")))
        if code is None:
            return _err(40058, "invalid response_code")
        if code.used:
            return _err(40058, "response_code has been used")
        if self.clock.now() - code.issued > RESPONSE_CODE_TTL:
            return _err(40058, "response_code expired")
        if body.get("agentid") not in (code.agentid, str(code.agentid)):
            return _err(40056)
        card = self.cards.get(code.task_id)
        button, new_card = body.get("button"), body.get("template_card")
        if card is None or not (isinstance(button, dict) or isinstance(new_card, dict)):
            return _err(40058, "button or template_card is required")
        code.used = True
        if isinstance(new_card, dict):
            card.template_card = new_card
        else:
            assert isinstance(button, dict)
            card.replaced_name = str(button.get("replace_name", ""))
        card.updates.append(body)
        return _err(0) | {"invaliduser": []}

    def _appchat_send(self, body: JSON, _query: dict[str, str]) -> JSON:
        if not body.get("chatid"):
            return _err(40058, "chatid is required")
        if body.get("msgtype") not in APPCHAT_MSGTYPES:
            return _err(40008)
        self.appchat.append(body)
        return _err(0)

    def _webhook_send(self, body: JSON, query: dict[str, str]) -> JSON:
        if query.get("key") != self.webhook_key:
            return _err(93000)
        now = self.clock.now()
        while self._hook_times and now - self._hook_times[0] >= WEBHOOK_WINDOW:
            self._hook_times.popleft()
        if len(self._hook_times) >= WEBHOOK_LIMIT:
            return _err(45009)
        msgtype = body.get("msgtype")
        if msgtype not in WEBHOOK_MSGTYPES:
            return _err(40008)
        if msgtype == "template_card":
            kind = body.get("template_card", {}).get("card_type")
            if kind not in ("text_notice", "news_notice"):
                return _err(40058, "a group robot sends only text_notice or news_notice cards")
        self._hook_times.append(now)
        self.webhook.append(body)
        return _err(0)

    def _user_get(self, _body: JSON, query: dict[str, str]) -> JSON:
        user = self.users.get(query.get("userid", ""))
        return _err(0) | user if user else _err(60111)

    async def _media_get(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.calls.append(Call("GET", "media/get", query, {}, self.clock.now()))
        if (faulted := await self._fault("media/get")) is not None:
            return faulted
        if (error := self._check_token(query.get("access_token"))) is not None:
            return web.json_response(error)
        item = self.media.get(query.get("media_id", ""))
        if item is None:
            return web.json_response(_err(40007))
        data, filename = item
        headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
        return web.Response(body=data, headers=headers, content_type="application/octet-stream")
