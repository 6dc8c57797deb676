"""The company app's HTTP API and group-robot webhooks, over aiohttp.

wechatpy's client is synchronous and its token URL fixed, so calls are made here. WeCom answers
every error inside HTTP 200 as `{"errcode": n, "errmsg": ...}`: 40014/42001/40001 (the token was
refused) fetch a new token and try once more; 45009 (frequency limit) and -1 (busy) are retried
later; anything else is permanent. https://developer.work.weixin.qq.com/document/path/90313
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import orjson

from adapters.contract import DeliveryError, PlatformCalls
from adapters.kit.tokens import Token, TokenCache
from adapters.kit.wire import compact_json

TIMEOUT_S = 10.0
TOKEN_REFUSED = frozenset({40014, 42001, 40001})
RATE_LIMITED = 45009
BUSY = -1
RATE_LIMIT_WAIT_S = 60.0
WEBHOOK_PER_MINUTE = 20


class WeComError(DeliveryError):
    """A refusal with WeCom's errcode."""

    def __init__(self, errcode: int, errmsg: str, **kwargs: Any) -> None:
        super().__init__(f"wecom errcode {errcode}: {errmsg}", **kwargs)
        self.errcode = errcode


def error_for(data: Mapping[str, Any], what: str, *, one_place: bool = False) -> WeComError | None:
    """The refusal an answer's errcode means (None: errcode 0, it worked). one_place: the call's
    frequency limit is one place's (a group webhook's minute), not the corp's for an API."""
    code = data.get("errcode", 0)
    if not isinstance(code, int) or code == 0:
        return None
    message = f"{what}: {data.get('errmsg', '')}"
    if code == RATE_LIMITED:
        return WeComError(code, message, retry_after=RATE_LIMIT_WAIT_S, this_place_only=one_place)
    return WeComError(code, message, permanent=code not in (BUSY, *TOKEN_REFUSED))


def raise_for(data: Mapping[str, Any], what: str) -> None:
    error = error_for(data, what)
    if error is not None:
        raise error


class Http:
    """One pooled session, opened on start."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self.calls = PlatformCalls()  # the app's API and the webhooks, for the metrics

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_S), json_serialize=compact_json
            )
        return self._session

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def json(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self.session.request(method, url, **kwargs) as response:
                if response.status != 200:
                    raise DeliveryError(f"wecom answered HTTP {response.status}")
                data = orjson.loads(await response.read())
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise DeliveryError(f"wecom call failed: {type(exc).__name__}: {exc}") from exc
        if not isinstance(data, dict):
            raise DeliveryError("wecom answered something that is not a JSON object")
        return data

    async def api(self, call: str, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        """`json`, counted as `call` by its errcode (which it leaves to the caller to raise)."""
        try:
            data = await self.json(method, url, **kwargs)
        except DeliveryError as exc:
            self.calls.failed(call, exc)
            raise
        error = error_for(data, call)
        if error is None:
            self.calls.ok(call)
        else:
            self.calls.failed(call, error)
        return data

    async def read(self, url: str, limit: int) -> tuple[bytes, str]:
        """GET raw bytes, at most `limit` (DeliveryError beyond), and the file name served."""
        try:
            async with self.session.get(url) as response:
                if response.status != 200:
                    raise DeliveryError(f"file download answered HTTP {response.status}")
                data = await response.content.read(limit + 1)
                disposition = response.content_disposition
                name = disposition.filename if disposition is not None else None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"file download failed: {exc}") from exc
        if len(data) > limit:
            raise DeliveryError("file is over the attachment size limit", permanent=True)
        return data, name or ""


class AppClient:
    """The company app's API: token cached and renewed, errcodes mapped to DeliveryError."""

    def __init__(
        self,
        http: Http,
        base_url: str,
        corp_id: str,
        secret: str,
        agent_id: int,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.agent_id = agent_id
        self._corp_id = corp_id
        self._secret = secret
        self.tokens = TokenCache(self._fetch_token, margin_s=300.0, now=now)

    async def _fetch_token(self) -> Token:
        data = await self.http.api(
            "gettoken",
            "GET",
            f"{self.base_url}/cgi-bin/gettoken",
            params={"corpid": self._corp_id, "corpsecret": self._secret},
        )
        code = data.get("errcode", 0)
        if code:
            # a wrong corp id or secret never fixes itself; anything else may
            raise WeComError(
                int(code), f"gettoken: {data.get('errmsg', '')}", permanent=code in (40001, 40013)
            )
        return Token(str(data["access_token"]), float(data.get("expires_in", 7200)))

    async def call(
        self,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        query: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """POST `body` (or GET when None) to /cgi-bin/<path>; the answer when errcode is 0."""
        for attempt in (1, 2):
            token = await self.tokens.get()
            params = {**(query or {}), "access_token": token}
            url = f"{self.base_url}/cgi-bin/{path}"
            if body is None:
                data = await self.http.api(path, "GET", url, params=params)
            else:
                data = await self.http.api(path, "POST", url, params=params, json=dict(body))
            if data.get("errcode") in TOKEN_REFUSED and attempt == 1:
                self.tokens.invalidate(token)
                continue
            raise_for(data, path)
            return data
        raise AssertionError("unreachable")

    async def send(self, touser: str, message: Mapping[str, Any]) -> dict[str, Any]:
        return await self.call(
            "message/send", {"touser": touser, "agentid": self.agent_id, **message}
        )

    async def update_card(
        self, userids: list[str], response_code: str, card: Mapping[str, Any]
    ) -> None:
        await self.call(
            "message/update_template_card",
            {
                "userids": userids,
                "agentid": self.agent_id,
                "response_code": response_code,
                "template_card": dict(card),
            },
        )

    async def user(self, userid: str) -> dict[str, Any]:
        return await self.call("user/get", query={"userid": userid})


class Webhooks:
    """Group robots' webhooks, each paced at WeCom's 20 messages a minute."""

    def __init__(
        self, http: Http, urls: Mapping[str, str], now: Callable[[], float] = time.monotonic
    ) -> None:
        self.http = http
        self.urls = dict(urls)
        self._now = now
        self._sent: dict[str, deque[float]] = {name: deque() for name in urls}

    async def send(self, name: str, message: Mapping[str, Any]) -> None:
        url = self.urls.get(name)
        if url is None:
            raise DeliveryError(f"no group webhook named {name!r}", permanent=True)
        sent, now = self._sent[name], self._now()
        while sent and now - sent[0] >= 60.0:
            sent.popleft()
        # a webhook's minute is its own: the robot's cards and the other webhooks go on
        if len(sent) >= WEBHOOK_PER_MINUTE:
            raise DeliveryError(
                "group webhook paced at 20 a minute",
                retry_after=60.0 - (now - sent[0]),
                this_place_only=True,
            )
        sent.append(now)
        answer = await self.http.api("webhook/send", "POST", url, json=dict(message))
        error = error_for(answer, "webhook/send", one_place=True)
        if error is not None:
            raise error
