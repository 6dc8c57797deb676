"""Injectable platform faults, rendered the way DingTalk answers on each API family.

Sources: the "调用频次与限流" page (open.dingtalk.com/document/development/
how-to-process-api-throttling-on-the-dingtalk-server): per-app QPS → new API code
`Forbidden.AccessDenied.QpsLimitForAppkeyAndApi` / legacy errcode 90018; monthly org quota →
`Forbidden.AccessDenied.ApiCountLimitForOrg` / 90020; per-IP limit → a 5-minute ban answered
with an HTML page, not JSON. Clients in the wild see the QPS code with HTTP 403; pass
status=429 to exercise a client's 429 path too.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from tests.fakes.dingtalk.payloads import IP_BAN_PAGE, api_error, legacy_error


@dataclass(frozen=True)
class Fault:
    """What the next call(s) to a route get instead of the normal answer."""

    kind: str
    status: int = 200
    code: str = ""
    message: str = ""
    errcode: int = 0
    scope: str = ""

    @classmethod
    def throttle(cls, status: int = 403) -> Fault:
        msg = "调用接口频率超过限制，限制将在1秒后解除"
        return cls("throttle", status, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", msg, 90018)

    @classmethod
    def org_quota(cls) -> Fault:
        msg = "企业调用接口次数超过每月限额"
        return cls("quota", 403, "Forbidden.AccessDenied.ApiCountLimitForOrg", msg, 90020)

    @classmethod
    def ip_ban(cls, status: int = 200) -> Fault:
        return cls("ip_ban", status)

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        return cls("server_error", status, "system.busy", "system.busy")

    @classmethod
    def legacy(cls, errcode: int, errmsg: str) -> Fault:
        """HTTP 200 with {"errcode", "errmsg"} — how oapi.dingtalk.com reports every error."""
        return cls("legacy", 200, "", errmsg, errcode)

    @classmethod
    def error(cls, status: int, code: str, message: str | None = None) -> Fault:
        """Any documented new-API error, e.g. error(400, "ding.serverquota.insufficient")."""
        return cls("error", status, code, message or code)

    @classmethod
    def permission_denied(cls, scope: str) -> Fault:
        """The app lacks the permission `scope` (developerpedia, "接口调用没有权限" best
        practice): 403 with the missing permission in `accessdenieddetail.requiredScopes`."""
        msg = (
            "没有调用该接口的权限，接口权限申请参考："
            "https://open.dingtalk.com/document/orgapp-server/add-api-permission"
        )
        code = "Forbidden.AccessDenied.AccessTokenPermissionDenied"
        return cls("permission", 403, code, msg, scope=scope)

    @classmethod
    def hang(cls) -> Fault:
        """The call is recorded and never answered (until the double stops)."""
        return cls("hang")

    def response(self, *, legacy_route: bool, request_id: str) -> web.Response:
        if self.kind == "ip_ban":
            body = IP_BAN_PAGE % request_id
            return web.Response(status=self.status, text=body, content_type="text/html")
        if self.kind == "server_error" and self.status != 500:
            page = f"<html><body><h1>{self.status}</h1></body></html>"
            return web.Response(status=self.status, text=page, content_type="text/html")
        if self.kind == "legacy" or (legacy_route and self.kind in ("throttle", "quota")):
            return web.json_response(legacy_error(self.errcode, self.message))
        answer = api_error(self.code, self.message, request_id)
        if self.kind == "permission":
            answer["accessdenieddetail"] = {"requiredScopes": [self.scope]}
        return web.json_response(answer, status=self.status)
