"""The HTTP side: OAuth, interactive cards, robot messages, session webhooks, DING, directory, files.

New API (api.dingtalk.com): header `x-acs-dingtalk-access-token`, errors as HTTP 4xx/5xx with
{"code", "requestid", "message"}. Legacy API (oapi.dingtalk.com): `?access_token=`, errors as
HTTP 200 with {"errcode", "errmsg"}. Error codes quoted from the vendor's API pages are used
as is; the few the docs do not give are marked "(double's choice)".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes.dingtalk.payloads import JSON, legacy_error

if TYPE_CHECKING:
    from tests.fakes.dingtalk.fake import FakeDingTalk

SPACE_MODELS = {
    "IM_GROUP": "imGroupOpenDeliverModel",
    "IM_ROBOT": "imRobotOpenDeliverModel",
    "IM_SINGLE": "imSingleOpenDeliverModel",
    "ONE_BOX": "topOpenDeliverModel",
}
# msgKey → msgParam keys it needs (robot message templates, "机器人发送消息的类型")
MSG_KEYS: dict[str, tuple[str, ...]] = {
    "sampleText": ("content",),
    "sampleMarkdown": ("title", "text"),
    "sampleImageMsg": ("photoURL",),
    "sampleLink": ("text", "title", "picUrl", "messageUrl"),
    "sampleActionCard": ("title", "text", "singleTitle", "singleURL"),
    "sampleActionCard2": ("title", "text", "actionTitle1", "actionURL1"),
    "sampleActionCard3": ("title", "text", "actionTitle1", "actionURL1"),
    "sampleActionCard4": ("title", "text", "actionTitle1", "actionURL1"),
    "sampleActionCard5": ("title", "text", "actionTitle1", "actionURL1"),
    "sampleActionCard6": ("title", "text", "buttonTitle1", "buttonUrl1"),
    "sampleFile": ("mediaId", "fileName", "fileType"),
}
WEBHOOK_TYPES = {
    "text": ("content",),
    "markdown": ("title", "text"),
    "actionCard": ("title", "text"),
}


@dataclass
class Card:
    """One card instance (outTrackId); every copy in every space shows `params`."""

    out_track_id: str
    template_id: str
    params: dict[str, str]
    private: dict[str, dict[str, str]] = field(default_factory=dict)
    spaces: list[tuple[str, str]] = field(default_factory=list)  # (spaceType, spaceId)
    callback_type: str = "STREAM"
    history: list[dict[str, str]] = field(default_factory=list)  # params after each change
    # spaceId -> the message carrying the card there (deliverResults' carrierId); a user who
    # quotes the card sends this as the message's originalProcessQueryKey
    carriers: dict[str, str] = field(default_factory=dict)

    def copies(self) -> list[tuple[str, str, dict[str, str]]]:
        return [(kind, space, dict(self.params)) for kind, space in self.spaces]

    def apply(self, params: dict[str, str], *, by_key: bool) -> None:
        self.params = (self.params | params) if by_key else dict(params)
        self.history.append(dict(self.params))


@dataclass(frozen=True)
class Sent:
    """A robot message sent through the open API or a session webhook."""

    via: str  # "group" | "oto" | "webhook"
    target: str  # openConversationId, comma-joined userIds, or the webhook's conversation
    msg_key: str  # msgKey, or the webhook's msgtype
    param: JSON
    at: datetime
    process_query_key: str = ""  # what the open API answered; a reply quoting it names it


@dataclass(frozen=True)
class Session:
    conversation_id: str
    expires_at: datetime


class OpenApi:
    def __init__(self, fake: FakeDingTalk) -> None:
        self.fake = fake

    def routes(self, app: web.Application) -> None:
        r = app.router
        r.add_post("/v1.0/oauth2/accessToken", self.access_token)
        r.add_get("/gettoken", self.gettoken)
        r.add_post("/v1.0/card/instances/createAndDeliver", self.create_and_deliver)
        r.add_post("/v1.0/card/instances/deliver", self.deliver)
        r.add_post("/v1.0/card/instances", self.create)
        r.add_put("/v1.0/card/instances", self.update)
        r.add_post("/v1.0/robot/groupMessages/send", self.group_send)
        r.add_post("/v1.0/robot/oToMessages/batchSend", self.oto_send)
        r.add_post("/robot/sendBySession", self.session_send)
        r.add_post("/v1.0/robot/ding/send", self.ding)
        r.add_post("/topapi/v2/user/get", self.user_get)
        r.add_post("/v1.0/robot/messageFiles/download", self.file_download)
        r.add_get("/files/{name}", self.file_serve)

    # --- tokens --------------------------------------------------------------------------

    async def access_token(self, request: web.Request) -> web.Response:
        fake = self.fake
        body = await fake.json_body(request)
        if body is None:
            return fake.error(400, "Missingbody", "body is mandatory for this action.")
        if (body.get("appKey"), body.get("appSecret")) != (fake.app_key, fake.app_secret):
            return fake.error(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        token = fake.issue_token()
        return web.json_response({"accessToken": token, "expireIn": fake.token_ttl_seconds})

    async def gettoken(self, request: web.Request) -> web.Response:
        fake, q = self.fake, request.query
        if (q.get("appkey"), q.get("appsecret")) != (fake.app_key, fake.app_secret):
            return web.json_response(legacy_error(40089, "不合法的corpid或corpsecret"))
        token = fake.issue_token()
        expires = fake.token_ttl_seconds
        body = {"errcode": 0, "access_token": token, "errmsg": "ok", "expires_in": expires}
        return web.json_response(body)

    async def _authed(self, request: web.Request) -> JSON | web.Response:
        fake = self.fake
        if not fake.token_valid(request.headers.get("x-acs-dingtalk-access-token")):
            return fake.error(400, "InvalidAuthentication", "不合法的access_token")
        body = await fake.json_body(request)
        if body is None:
            return fake.error(400, "Missingbody", "body is mandatory for this action.")
        return body

    # --- cards ---------------------------------------------------------------------------

    async def create_and_deliver(self, request: web.Request) -> web.Response:
        body = await self._authed(request)
        if isinstance(body, web.Response):
            return body
        problem = _card_problem(body) or _space_problem(body)
        if problem:
            return self.fake.error(400, problem, problem)
        unknown = self._unknown_template(body)
        if unknown is not None:
            return unknown
        card = self.fake.cards.get(body["outTrackId"])
        if card is None:  # a repeated outTrackId delivers again but changes nothing
            card = _new_card(body)
            self.fake.cards[card.out_track_id] = card
        results = self._deliver(card, body["openSpaceId"])
        out = {"outTrackId": card.out_track_id, "deliverResults": results}
        return web.json_response({"success": True, "result": out})

    async def create(self, request: web.Request) -> web.Response:
        body = await self._authed(request)
        if isinstance(body, web.Response):
            return body
        problem = _card_problem(body)
        if problem:
            return self.fake.error(400, problem, problem)
        unknown = self._unknown_template(body)
        if unknown is not None:
            return unknown
        if body["outTrackId"] in self.fake.cards:
            return self.fake.error(400, "param.cardAlreadyExist", "param.cardAlreadyExist")
        card = _new_card(body)
        self.fake.cards[card.out_track_id] = card
        return web.json_response({"success": True, "result": card.out_track_id})

    async def deliver(self, request: web.Request) -> web.Response:
        body = await self._authed(request)
        if isinstance(body, web.Response):
            return body
        card = self.fake.cards.get(str(body.get("outTrackId", "")))
        problem = "param.outTrackIdEmpty" if not body.get("outTrackId") else None
        problem = problem or ("param.cardNotExist" if card is None else _space_problem(body))
        if problem or card is None:
            return self.fake.error(400, problem or "param.cardNotExist", problem)
        return web.json_response(
            {"success": True, "result": self._deliver(card, body["openSpaceId"])}
        )

    def _unknown_template(self, body: JSON) -> web.Response | None:
        """A template id not published for this app: "不存在的卡片模板" (the im card API's
        code for it; the vendor's createAndDeliver page lists none of its own)."""
        known = self.fake.templates
        if known is None or body["cardTemplateId"] in known:
            return None
        code = "invalidParameter.cardTemplate.notFound"
        return self.fake.error(400, code, "不存在的卡片模板")

    def _deliver(self, card: Card, open_space_id: str) -> list[JSON]:
        results = []
        for kind, space in _parse_spaces(open_space_id) or []:
            if (kind, space) not in card.spaces:
                card.spaces.append((kind, space))
            carrier = card.carriers.setdefault(space, f"msg{self.fake.new_hex(22)}==")
            results.append(
                {"spaceType": kind, "spaceId": space, "success": True, "carrierId": carrier}
            )
        return results

    async def update(self, request: web.Request) -> web.Response:
        body = await self._authed(request)
        if isinstance(body, web.Response):
            return body
        fake = self.fake
        if not body.get("outTrackId"):
            return fake.error(400, "param.outTrackIdEmpty", "param.outTrackIdEmpty")
        card = fake.cards.get(str(body["outTrackId"]))
        if card is None:
            return fake.error(400, "param.cardNotExist", "param.cardNotExist")
        data, private = body.get("cardData"), body.get("privateData")
        if not data and not private:
            code = "param.cardDataAndPrivateDataBothEmpty"
            return fake.error(400, code, code)
        if _non_string_params(body):
            return fake.error(400, "param.invalid", "param.invalid")
        options = body.get("cardUpdateOptions") or {}
        if isinstance(data, dict) and "cardParamMap" in data:
            card.apply(data["cardParamMap"], by_key=bool(options.get("updateCardDataByKey")))
        for user, value in (private or {}).items():
            params = value.get("cardParamMap", {})
            if options.get("updatePrivateDataByKey"):
                params = card.private.get(user, {}) | params
            card.private[user] = params
        return web.json_response({"success": True, "result": True})

    # --- robot messages ------------------------------------------------------------------

    async def group_send(self, request: web.Request) -> web.Response:
        body = await self._authed(request)
        if isinstance(body, web.Response):
            return body
        target = body.get("openConversationId")
        return self._robot_send(body, "group", target if isinstance(target, str) else "")

    async def oto_send(self, request: web.Request) -> web.Response:
        body = await self._authed(request)
        if isinstance(body, web.Response):
            return body
        users = body.get("userIds")
        if not isinstance(users, list) or not users or len(users) > 20:
            return self.fake.error(400, "invalidParameter.userIds", "userIds: 1 to 20 userIds")
        return self._robot_send(body, "oto", ",".join(map(str, users)))

    def _robot_send(self, body: JSON, via: str, target: str) -> web.Response:
        fake = self.fake
        if body.get("robotCode") != fake.robot_code:
            return fake.error(400, "invalidParameter.robotCode", "robotCode 不存在")
        if not target:
            return fake.error(400, "invalidParameter.openConversationId", "缺少会话")
        key, param = body.get("msgKey"), _json_object(body.get("msgParam"))
        if key not in MSG_KEYS or param is None or any(k not in param for k in MSG_KEYS[key]):
            return fake.error(400, "invalidParameter.msgParam", f"msgKey/msgParam invalid: {key}")
        answer: JSON = {"processQueryKey": fake.new_hex(32)}
        fake.sent.append(Sent(via, target, key, param, fake.clock.now(), answer["processQueryKey"]))
        if via == "oto":
            unknown = [u for u in target.split(",") if fake.users and u not in fake.users]
            answer |= {"invalidStaffIdList": unknown, "flowControlledStaffIdList": []}
        return web.json_response(answer)

    async def session_send(self, request: web.Request) -> web.Response:
        fake = self.fake
        session = fake.sessions.get(request.query.get("session", ""))
        if session is None or fake.clock.now() > session.expires_at:
            # what DingTalk answers for a session webhook it no longer knows (errcode 300001)
            return web.json_response(legacy_error(300001, "session 不存在"))
        body = await fake.json_body(request)
        kind = body.get("msgtype") if body else None
        part = body.get(kind) if body and isinstance(kind, str) else None
        if kind not in WEBHOOK_TYPES or not isinstance(part, dict):
            return web.json_response(legacy_error(40035, "缺少参数 msgtype"))
        if any(k not in part for k in WEBHOOK_TYPES[kind]):
            return web.json_response(legacy_error(40035, f"缺少参数 {kind}"))
        assert body is not None and isinstance(kind, str)
        fake.sent.append(Sent("webhook", session.conversation_id, kind, body, fake.clock.now()))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    # --- DING ----------------------------------------------------------------------------

    async def ding(self, request: web.Request) -> web.Response:
        body = await self._authed(request)
        if isinstance(body, web.Response):
            return body
        fake = self.fake
        if fake.edition == "standard":  # (double's choice) DING needs a paid edition
            msg = "没有调用该接口的权限"
            return fake.error(403, "Forbidden.AccessDenied.AccessTokenPermissionDenied", msg)
        if body.get("robotCode") != fake.robot_code:
            return fake.error(
                400, "invalid.chatbotId", f"invalid.chatbotId {body.get('robotCode')}"
            )
        kind, users = body.get("remindType"), body.get("receiverUserIdList")
        if kind not in (1, 2, 3) or not body.get("content"):
            return fake.error(400, "invalidParameter.param.invalid", "参数不合法")
        if not isinstance(users, list) or not users:
            return fake.error(400, "miss.staffId", "miss.staffId")
        if len(users) > (200 if kind == 1 else 20):
            return fake.error(400, "ding.receivercount.limit", "ding receiver count limit")
        if kind in (2, 3) and not fake.ding_paid_quota:
            msg = "ding server quota insufficient"
            return fake.error(400, "ding.serverquota.insufficient", msg)
        ding_id = fake.new_hex(16)
        fake.dings.append({"openDingId": ding_id} | body)
        return web.json_response({"openDingId": ding_id})

    # --- directory and files ---------------------------------------------------------------

    async def user_get(self, request: web.Request) -> web.Response:
        fake = self.fake
        if not fake.token_valid(request.query.get("access_token")):
            return web.json_response(legacy_error(40014, "不合法的access_token"))
        body = await fake.json_body(request) or {}
        user = fake.users.get(str(body.get("userid", "")))
        if user is None:
            answer = legacy_error(60121, "找不到该用户") | {"request_id": fake.new_hex(16)}
            return web.json_response(answer)
        ok = {"errcode": 0, "errmsg": "ok", "result": user, "request_id": fake.new_hex(16)}
        return web.json_response(ok)

    async def file_download(self, request: web.Request) -> web.Response:
        body = await self._authed(request)
        if isinstance(body, web.Response):
            return body
        fake = self.fake
        name = fake.download_codes.get(str(body.get("downloadCode", "")))
        if body.get("robotCode") != fake.robot_code or name is None:
            # (double's choice) code for an unknown downloadCode
            return fake.error(400, "invalidParameter.downloadCode", "downloadCode 无效")
        return web.json_response({"downloadUrl": f"{fake.base_url}/files/{name}"})

    async def file_serve(self, request: web.Request) -> web.Response:
        stored = self.fake.files.get(request.match_info["name"])
        if stored is None:
            raise web.HTTPNotFound()
        return web.Response(body=stored, content_type="application/octet-stream")


def _json_object(value: Any) -> JSON | None:
    try:
        loaded = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return loaded if isinstance(loaded, dict) else None


def _parse_spaces(open_space_id: Any) -> list[tuple[str, str]] | None:
    """`dtv1.card//IM_GROUP.cid…;IM_ROBOT.user1` → [(IM_GROUP, cid…), (IM_ROBOT, user1)]."""
    if not isinstance(open_space_id, str) or not open_space_id.startswith("dtv1.card//"):
        return None
    spaces = []
    for part in open_space_id.removeprefix("dtv1.card//").split(";"):
        kind, dot, space = part.partition(".")
        if not dot or not space or kind.upper() not in SPACE_MODELS:
            return None
        spaces.append((kind.upper(), space))
    return spaces


def _non_string_params(body: JSON) -> bool:
    maps = [(body.get("cardData") or {}).get("cardParamMap") or {}]
    maps += [(v or {}).get("cardParamMap") or {} for v in (body.get("privateData") or {}).values()]
    return any(not isinstance(v, str) for m in maps for v in m.values())


def _card_problem(body: JSON) -> str | None:
    if not body.get("outTrackId"):
        return "param.outTrackIdEmpty"
    if not body.get("cardTemplateId"):
        return "param.cardTemplateIdEmpty"
    data = body.get("cardData")
    if not isinstance(data, dict) or not isinstance(data.get("cardParamMap"), dict):
        return "param.cardPublicDataEmpty"
    return "param.invalid" if _non_string_params(body) else None


def _space_problem(body: JSON) -> str | None:
    if not body.get("openSpaceId"):
        return "param.openSpaceIdEmpty"
    spaces = _parse_spaces(body["openSpaceId"])
    if spaces is None:
        return "param.openSpaceIdInvalid"
    missing = [kind for kind, _ in spaces if not isinstance(body.get(SPACE_MODELS[kind]), dict)]
    if missing:
        return "param.openDeliverModelEmpty"
    group = body.get("imGroupOpenDeliverModel")
    if isinstance(group, dict) and not group.get("robotCode"):
        return "param.openDeliverModelError"
    return None


def _new_card(body: JSON) -> Card:
    private = {
        u: dict(v.get("cardParamMap", {})) for u, v in (body.get("privateData") or {}).items()
    }
    params = dict(body["cardData"]["cardParamMap"])
    card = Card(body["outTrackId"], body["cardTemplateId"], params, private)
    card.callback_type = str(body.get("callbackType") or "STREAM")
    card.history.append(dict(params))
    return card
