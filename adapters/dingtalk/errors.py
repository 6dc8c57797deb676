"""DingTalk's error answers → DeliveryError, with a log line an operator can act on.

New API (api.dingtalk.com): HTTP 4xx/5xx with {"code", "message", "requestid"}. Legacy API
(oapi.dingtalk.com, session webhooks): HTTP 200 with {"errcode" ≠ 0, "errmsg"}. The per-app
QPS throttle comes as 403 `Forbidden.AccessDenied.QpsLimitForAppkeyAndApi` (legacy errcode
90018) and is treated like a 429; the per-IP limit bans the address for 5 minutes and answers
with an HTML page, not JSON.
"""

from __future__ import annotations

import json
from typing import Any

from adapters.contract import DeliveryError

THROTTLE_CODES = frozenset({"Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", "90018", "90002"})
QUOTA_CODES = frozenset({"Forbidden.AccessDenied.ApiCountLimitForOrg", "90020"})
TOKEN_CODES = frozenset({"InvalidAuthentication", "40014", "42001", "invalidAuthentication"})
# the app's credentials themselves are wrong: the token call and the Stream open-connection
# call answer invalidClientIdOrSecret (legacy gettoken: 40089 不合法的corpid或corpsecret)
CREDENTIAL_CODES = frozenset({"invalidClientIdOrSecret", "40089"})
CREDENTIAL_HINT = (
    " (channels.dingtalk.client_id / channels.dingtalk.client_secret: DingTalk does not accept "
    "them; copy both from your app's 凭证与基础信息 / Credentials page)"
)
# the robot named in a send is not this app's robot (robot messages, cards' deliver models, DING)
ROBOT_CODES = frozenset(
    {"invalidParameter.robotCode", "chatbot.notFound", "chatbotNotFound", "invalid.chatbotId"}
)
ROBOT_HINT = (
    " (channels.dingtalk.robot_code: DingTalk knows no such robot for this app; an internal "
    "app's robot code is its Client ID (AppKey), used when robot_code is not set)"
)
# createAndDeliver's answers for a card template it cannot use: unknown, not published, or not
# bound to this app ("卡片模板无效", "不存在的卡片模板", "创建卡片实例失败,先检查卡片模板是否已发布")
TEMPLATE_CODES = frozenset(
    {
        "invalidParameter.cardTemplate.notFound",
        "cardTemplateInvalid",
        "cardInstance.wrong",
        "param.cardTemplateNotExist",
    }
)
TEMPLATE_HINT = (
    " (channels.dingtalk.card_template_id: DingTalk cannot use this card template; check the "
    "id, that the template is published and bound to this app — deploy/dingtalk/README.md)"
)
THROTTLE_WAIT_S = 1.0  # the throttle lifts after a second ("限制将在1秒后解除")
IP_BAN_WAIT_S = 300.0  # the per-IP ban lasts five minutes
QUOTA_WAIT_S = 3600.0  # the monthly org quota is spent: try again much later


class TokenRefused(DeliveryError):
    """The access token was refused before its time: fetch a new one and try once more."""


class CardsRefused(DeliveryError):
    """DingTalk makes no interactive card for this app: it cannot use the configured card
    template, or the app lacks the card permission (a setup mistake; messages still work)."""


def is_ban_page(content_type: str, text: str) -> bool:
    return "html" in content_type.lower() or text.lstrip().lower().startswith(
        ("<!doctype", "<html")
    )


def error_from(
    status: int, text: str, *, content_type: str = "application/json", what: str = ""
) -> DeliveryError | None:
    """The error an answer carries (None: it is a success)."""
    if is_ban_page(content_type, text):
        if status < 500:
            return DeliveryError(
                f"dingtalk {what}: this server's IP address is banned for 5 minutes "
                "(too many calls from one address)",
                retry_after=IP_BAN_WAIT_S,
            )
        return DeliveryError(f"dingtalk {what}: HTTP {status}")
    body = _json(text)
    code = str(body.get("code") or body.get("errcode") or "") if body is not None else ""
    message = str(body.get("message") or body.get("errmsg") or "") if body is not None else text
    if status < 300 and code in ("", "0"):
        return None
    where = f"dingtalk {what}: {code or f'HTTP {status}'} {message}".strip()
    scopes = _required_scopes(body)
    if scopes:
        # the app lacks a permission: DingTalk names it, and the admin must request it
        kind = CardsRefused if what.startswith("/v1.0/card/") else DeliveryError
        return kind(
            f"{where} (the app lacks the permission {', '.join(scopes)}: request it under "
            "权限管理 / Permissions in the developer console, then publish a new version)",
            permanent=True,
        )
    if code in THROTTLE_CODES or status == 429:
        return DeliveryError(where + " (throttled)", retry_after=THROTTLE_WAIT_S)
    if code in QUOTA_CODES:
        return DeliveryError(
            where + " (the organisation's monthly API quota is spent)", retry_after=QUOTA_WAIT_S
        )
    if code in TOKEN_CODES:
        return TokenRefused(where)
    if code in CREDENTIAL_CODES:
        return DeliveryError(where + CREDENTIAL_HINT, permanent=True)
    if code in ROBOT_CODES:
        return DeliveryError(where + ROBOT_HINT, permanent=True)
    if code in TEMPLATE_CODES:
        return CardsRefused(where + TEMPLATE_HINT, permanent=True)
    if status >= 500 or code in ("-1", "system.busy"):
        return DeliveryError(where)
    if status in (401, 403) or code.startswith(("Forbidden", "invalidClient")):
        return DeliveryError(where, permanent=True)
    return DeliveryError(where, permanent=True)


def _required_scopes(body: dict[str, Any] | None) -> list[str]:
    """`accessdenieddetail.requiredScopes` of a 403 AccessTokenPermissionDenied answer."""
    detail = body.get("accessdenieddetail") if body is not None else None
    scopes = detail.get("requiredScopes") if isinstance(detail, dict) else None
    return [str(s) for s in scopes] if isinstance(scopes, list) else []


def _json(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
