"""DingTalk wire shapes: Stream frames, robot-message and card-click payloads, error bodies.

Shapes follow open-dingtalk/developerpedia `docs/learn/stream/protocol.md` (frames and acks),
the receive-message docs (robot payloads, also parsed by `dingtalk_stream.ChatbotMessage`) and
the card "event-callback" docs (click payloads, parsed by `dingtalk_stream.CardCallbackMessage`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

JSON = dict[str, Any]

TOPIC_BOT_MESSAGE = "/v1.0/im/bot/messages/get"
TOPIC_CARD_CALLBACK = "/v1.0/card/instances/callback"
CONTENT_TYPE = "application/json"


def dumps(value: Any) -> str:
    """JSON as DingTalk writes it: compact, Chinese kept as is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def opaque_id(kind: str, seed: str) -> str:
    """An encrypted-looking id ($:LWCP_v1:$…) derived from `seed`, stable across runs."""
    digest = hashlib.sha256(f"{kind}:{seed}".encode()).hexdigest()[:22]
    return f"$:LWCP_v1:${digest}"


def frame(kind: str, headers: Mapping[str, str], data: Mapping[str, Any]) -> JSON:
    """A server push: SYSTEM, EVENT or CALLBACK; `data` travels as a JSON string."""
    return {"specVersion": "1.0", "type": kind, "headers": dict(headers), "data": dumps(data)}


def robot_message(
    *,
    msg_id: str,
    create_at: int,
    robot_code: str,
    corp_id: str,
    session_webhook: str,
    session_webhook_expired_time: int,
    sender_staff_id: str,
    sender_nick: str,
    conversation_id: str,
    conversation_type: str = "2",
    conversation_title: str | None = None,
    msgtype: str = "text",
    text: str = "",
    content: Mapping[str, Any] | None = None,
    at_staff_ids: Sequence[str] = (),
    is_in_at_list: bool = True,
    is_admin: bool = False,
    replied: Mapping[str, Any] | None = None,
    original_process_query_key: str | None = None,
) -> JSON:
    """The `data` of a /v1.0/im/bot/messages/get CALLBACK (group: conversationType "2", 1:1: "1").

    text → `text.content`, as DingTalk delivers it: the robot's @mention already taken out
    (" 3楼打印机坏了" for "@工单助手 3楼打印机坏了"; other people's mentions stay). A reply
    quoting a message adds `text.isReplyMsg` and `text.repliedMsg`: {createdAt, senderId,
    msgType, msgId[, content]}, and at the top level the quoted robot message's
    `originalProcessQueryKey` — a card's delivery carrierId;
    picture → `content.downloadCode`; file → `content.{downloadCode, fileName}`; richText →
    `content.richText` (a list of {text} and {type: picture, downloadCode}).
    """
    bot = opaque_id("bot", robot_code)
    msg: JSON = {"conversationId": conversation_id}
    if conversation_type == "2":
        at_users = [{"dingtalkId": bot}] + [
            {"dingtalkId": opaque_id("user", staff), "staffId": staff} for staff in at_staff_ids
        ]
        msg["atUsers"] = at_users
    msg |= {
        "chatbotCorpId": corp_id,
        "chatbotUserId": bot,
        "msgId": msg_id,
        "senderNick": sender_nick,
        "isAdmin": is_admin,
        "senderStaffId": sender_staff_id,
        "sessionWebhookExpiredTime": session_webhook_expired_time,
        "createAt": create_at,
        "senderCorpId": corp_id,
        "conversationType": conversation_type,
        "senderId": opaque_id("user", sender_staff_id),
    }
    if conversation_type == "2":
        msg["conversationTitle"] = conversation_title or ""
        msg["isInAtList"] = is_in_at_list
    msg["sessionWebhook"] = session_webhook
    if msgtype == "text":
        msg["text"] = {"content": text}
        if replied is not None:
            msg["text"] |= {"isReplyMsg": True, "repliedMsg": dict(replied)}
    else:
        msg["content"] = dict(content or {})
    msg |= {"robotCode": robot_code, "msgtype": msgtype}
    if original_process_query_key is not None:
        msg["originalProcessQueryKey"] = original_process_query_key
    return msg


def card_click(
    *,
    out_track_id: str,
    user_id: str,
    corp_id: str,
    params: Mapping[str, Any],
    action_ids: Sequence[str],
    space_id: str,
    space_type: str = "im",
) -> JSON:
    """The `data` of a /v1.0/card/instances/callback CALLBACK: `content` and `value` are JSON
    strings holding {"cardPrivateData": {"actionIds", "params"}} (the card template's button
    params), `extension` is a JSON string too."""
    private = dumps({"cardPrivateData": {"actionIds": list(action_ids), "params": dict(params)}})
    return {
        "extension": "{}",
        "corpId": corp_id,
        "spaceType": space_type,
        "userIdType": 1,
        "type": "actionCallback",
        "userId": user_id,
        "content": private,
        "spaceId": space_id,
        "outTrackId": out_track_id,
        "value": private,
    }


def api_error(code: str, message: str, request_id: str) -> JSON:
    """The error body of the new API (api.dingtalk.com), sent with an HTTP 4xx/5xx."""
    return {"code": code, "requestid": request_id, "message": message}


def legacy_error(errcode: int, errmsg: str) -> JSON:
    """The error body of the legacy API (oapi.dingtalk.com), always sent with HTTP 200."""
    return {"errcode": errcode, "errmsg": errmsg}


IP_BAN_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>访问被拒绝</title></head>
<body>
<div id="punish">您的访问过于频繁，请稍后再试。Too many requests from your IP, try again later.</div>
<script>var punishInfo = {"status":1111,"wait":5,"source":"x5","punish":"deny","uuid":"%s"};</script>
</body></html>
"""
