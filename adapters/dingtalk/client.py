"""DingTalk's REST calls on aiohttp (the SDK's helpers use blocking `requests`): the access
token, cards, robot messages, session webhooks, DING, the directory and message files.

Every call is bounded by the session's timeout, counted per path (`calls`), and its errors are
turned into DeliveryError by errors.error_from. A token refused before its time is dropped
and the call made once more with a new one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson

from adapters.contract import DeliveryError, PlatformCalls
from adapters.dingtalk.errors import TokenRefused, error_from
from adapters.kit.tokens import Token, TokenCache
from adapters.kit.wire import compact_json

log = logging.getLogger("gongdan.dingtalk")

TIMEOUT_S = 10.0
NO_SUCH_USER = "60121"  # topapi/v2/user/get: 找不到该用户
NO_PERMISSION = "60011"  # 没有调用该接口的权限
DIRECTORY_HINT = (
    " (the app lacks the directory permission qyapi_get_member / 通讯录个人信息读权限: request "
    "it under 权限管理 / Permissions in the developer console, then publish a new version; "
    "until then senders are named by their staffId)"
)
SESSION_GONE = "300001"  # sessionWebhook: "session 不存在" (expired, or never known)
JSON = dict[str, Any]
API_SETTING = "channels.dingtalk.api_base_url"
OAPI_SETTING = "channels.dingtalk.oapi_base_url"


class SessionExpired(DeliveryError):
    """DingTalk refused a sessionWebhook as expired: answer through the robot API instead."""


class DingTalkClient:
    def __init__(self, client_id: str, client_secret: str, api: str, oapi: str) -> None:
        self.client_id = client_id
        self._secret = client_secret
        self.api = api.rstrip("/")
        self.oapi = oapi.rstrip("/")
        self.tokens = TokenCache(self._fetch_token)
        self.calls = PlatformCalls()
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
            self._session = aiohttp.ClientSession(timeout=timeout, json_serialize=compact_json)
        return self._session

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    # ---- the plumbing ------------------------------------------------------------------
    def _base_hint(self, setting: str) -> str:
        base = self.oapi if setting == OAPI_SETTING else self.api
        return f" (is {setting} right? {base} does not answer as DingTalk's API)"

    async def _request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        quiet: frozenset[str] = frozenset(),
        setting: str = "",
    ) -> JSON:
        """One call; `setting` names the configuration key of the base URL it was made to, so
        an address that cannot be reached, or is not DingTalk's API, is named in the error."""
        try:
            async with self.session.request(
                method, url, json=body, headers=headers, params=params
            ) as r:
                text = await r.text()
                status, content_type = r.status, r.headers.get("Content-Type", "")
        except (aiohttp.ClientError, TimeoutError) as exc:
            failure = DeliveryError(f"dingtalk {what}: {type(exc).__name__} {exc}")
            if setting and isinstance(exc, aiohttp.ClientConnectorError | aiohttp.InvalidURL):
                failure = DeliveryError(f"{failure}{self._base_hint(setting)}")
            self.calls.failed(what, failure)
            raise failure from exc
        error = error_from(status, text, content_type=content_type, what=what)
        if error is not None and setting and status == 404:
            # DingTalk answers its own errors with a code; a bare 404 is another server
            error = DeliveryError(f"{error}{self._base_hint(setting)}", permanent=True)
        if error is None:
            self.calls.ok(what)
        else:
            self.calls.failed(what, error)
            if not any(code in str(error) for code in quiet):
                log.warning("dingtalk call failed", extra={"call": what, "error": str(error)})
            raise error
        try:
            value = orjson.loads(text) if text else {}
        except orjson.JSONDecodeError as exc:
            raise DeliveryError(f"dingtalk {what}: the answer is not JSON") from exc
        return value if isinstance(value, dict) else {}

    async def _fetch_token(self) -> Token:
        body = {"appKey": self.client_id, "appSecret": self._secret}
        data = await self._request(
            "POST",
            f"{self.api}/v1.0/oauth2/accessToken",
            what="accessToken",
            body=body,
            setting=API_SETTING,
        )
        return Token(str(data.get("accessToken", "")), float(data.get("expireIn", 7200)))

    async def call(self, method: str, path: str, body: Any) -> JSON:
        """A new-API call with the access token (fetched once, renewed before it ends)."""
        for attempt in (1, 2):
            token = await self.tokens.get()
            headers = {"x-acs-dingtalk-access-token": token}
            try:
                return await self._request(
                    method,
                    f"{self.api}{path}",
                    what=path,
                    body=body,
                    headers=headers,
                    setting=API_SETTING,
                )
            except TokenRefused:
                self.tokens.invalidate(token)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def legacy(self, path: str, body: Any, quiet: frozenset[str] = frozenset()) -> JSON:
        """An oapi.dingtalk.com call (errors as errcode in HTTP 200)."""
        for attempt in (1, 2):
            token = await self.tokens.get()
            try:
                return await self._request(
                    "POST",
                    f"{self.oapi}{path}",
                    what=path,
                    body=body,
                    params={"access_token": token},
                    quiet=quiet,
                    setting=OAPI_SETTING,
                )
            except TokenRefused:
                self.tokens.invalidate(token)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    # ---- what the channel asks ---------------------------------------------------------
    async def open_connection(self, subscriptions: list[JSON]) -> tuple[str, str]:
        """Register a Stream connection; returns (endpoint, one-time ticket)."""
        body = {
            "clientId": self.client_id,
            "clientSecret": self._secret,
            "subscriptions": subscriptions,
            "ua": "gongdan",
            "localIp": "",
        }
        data = await self._request(
            "POST",
            f"{self.api}/v1.0/gateway/connections/open",
            what="connections/open",
            body=body,
            setting=API_SETTING,
        )
        return str(data.get("endpoint", "")), str(data.get("ticket", ""))

    async def webhook(self, url: str, body: JSON) -> None:
        """Answer through a message's sessionWebhook (no token; errcode in HTTP 200).
        SessionExpired when DingTalk no longer knows the session."""
        try:
            await self._request(
                "POST", url, what="sessionWebhook", body=body, quiet=frozenset({SESSION_GONE})
            )
        except DeliveryError as exc:
            if SESSION_GONE in str(exc):
                raise SessionExpired(str(exc), permanent=True) from exc
            raise

    async def robot_message(
        self, robot_code: str, to: str, *, group: bool, key: str, param: Mapping[str, str]
    ) -> JSON:
        """A message from the robot, in a group (`to`: its openConversationId) or 1:1 (`to`:
        a staffId); `key` is the message template (sampleText, sampleActionCard …)."""
        body: JSON = {
            "robotCode": robot_code,
            "msgKey": key,
            "msgParam": compact_json(dict(param)),
        }
        if group:
            body["openConversationId"] = to
            return await self.call("POST", "/v1.0/robot/groupMessages/send", body)
        body["userIds"] = [to]
        data = await self.call("POST", "/v1.0/robot/oToMessages/batchSend", body)
        if to in (data.get("invalidStaffIdList") or []):
            raise DeliveryError(f"dingtalk: {to!r} is not a staff member", permanent=True)
        return data

    async def user(self, staff_id: str) -> JSON | None:
        """The directory entry of a staff member (None: no such user)."""
        try:
            data = await self.legacy(
                "/topapi/v2/user/get", {"userid": staff_id}, quiet=frozenset({NO_SUCH_USER})
            )
        except DeliveryError as exc:
            if NO_SUCH_USER in str(exc):
                return None
            if NO_PERMISSION in str(exc):
                # the legacy API names no permission (errcode 60011, or 88 with subcode 60011)
                raise DeliveryError(f"{exc}{DIRECTORY_HINT}", permanent=True) from exc
            raise
        result = data.get("result")
        return result if isinstance(result, dict) else None

    async def download(self, robot_code: str, download_code: str, limit: int) -> bytes:
        """A file a user sent the robot: downloadCode → a short-lived URL → at most `limit`
        bytes (b"" when it is larger)."""
        data = await self.call(
            "POST",
            "/v1.0/robot/messageFiles/download",
            {"downloadCode": download_code, "robotCode": robot_code},
        )
        url = str(data.get("downloadUrl", ""))
        try:
            async with self.session.get(url) as r:
                if r.status != 200:
                    raise DeliveryError(f"dingtalk file download: HTTP {r.status}")
                content = await r.content.read(limit + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"dingtalk file download: {exc}") from exc
        return content if len(content) <= limit else b""
