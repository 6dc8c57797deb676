"""Pure parsing of what DingTalk pushes over Stream: frames, robot messages, card clicks.

The frame and payload models are dingtalk-stream's (`CallbackMessage`, `EventMessage`,
`SystemMessage`, `ChatbotMessage`, `CardCallbackMessage`); this module only checks what they
leave unchecked and turns them into small typed records. Shapes: types.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from dingtalk_stream.card_callback import CardCallbackMessage
from dingtalk_stream.chatbot import ChatbotMessage
from dingtalk_stream.frames import CallbackMessage, EventMessage, SystemMessage

from adapters.dingtalk.types import (
    CONVERSATION_GROUP,
    CONVERSATION_ONE_TO_ONE,
    TOPIC_BOT_MESSAGE,
    TOPIC_CARD_CALLBACK,
)
from core.text import clean_text
from core.workflow import Action


class DingTalkPayloadError(ValueError):
    """A frame or payload that cannot be read (answered with code 400, never a crash)."""


@dataclass(frozen=True)
class Frame:
    kind: str  # SYSTEM | EVENT | CALLBACK
    topic: str
    message_id: str
    data: dict[str, Any]
    event_id: str = ""
    event_type: str = ""


@dataclass(frozen=True)
class MessageFile:
    download_code: str
    filename: str
    picture: bool = False  # a picture's name is made up here; a file's is the sender's


@dataclass(frozen=True)
class RobotMessage:
    msg_id: str
    conversation_id: str
    direct: bool
    mentioned: bool
    sender_staff_id: str
    sender_nick: str
    text: str
    files: tuple[MessageFile, ...]
    session_webhook: str
    session_expires_ms: int
    msgtype: str
    robot_code: str
    quoted: QuotedMessage | None = None  # the message this one quotes (replies to)
    conversation_title: str = ""  # a group's name


@dataclass(frozen=True)
class QuotedMessage:
    """What a reply quotes. `ids` are the ids it may be stored under, best first: the top-level
    `originalProcessQueryKey` (a robot-sent message's processQueryKey, or for a card the
    `carrierId` its delivery answered), then `text.repliedMsg.msgId` and `originalMsgId`
    (DingTalk's own message ids). `from_robot`: the robot sent it. `text`: what the quote shows
    (a quoted card carries none; a markdown message its text)."""

    ids: tuple[str, ...]
    from_robot: bool
    text: str


@dataclass(frozen=True)
class CardClick:
    out_track_id: str
    user_id: str
    action: Action | None  # None: a button this service did not make
    ticket_key: str
    space_id: str
    value: str = ""  # a comment's text, a chosen person or priority
    menu: str = ""  # "open": show this person the action's choices; "close": hide them


_MODELS: dict[str, Any] = {
    "SYSTEM": SystemMessage,
    "EVENT": EventMessage,
    "CALLBACK": CallbackMessage,
}


def parse_frame(raw: str | bytes) -> Frame:
    """One WebSocket text frame → a Frame; DingTalkPayloadError when it cannot be read."""
    try:
        value = orjson.loads(raw)
    except ValueError as exc:
        raise DingTalkPayloadError(f"frame is not JSON: {exc}") from exc
    if not isinstance(value, dict) or not isinstance(value.get("headers"), dict):
        raise DingTalkPayloadError("frame has no headers object")
    model = _MODELS.get(str(value.get("type")))
    if model is None:
        raise DingTalkPayloadError(f"unknown frame type {value.get('type')!r}")
    try:
        message = model.from_dict(value)
    except (ValueError, TypeError) as exc:
        raise DingTalkPayloadError(f"frame data is not a JSON string: {exc}") from exc
    headers = message.headers
    data = message.data if isinstance(message.data, dict) else {}
    return Frame(
        kind=str(value["type"]),
        topic=str(headers.topic or ""),
        message_id=str(headers.message_id or ""),
        data=data,
        event_id=str(getattr(headers, "event_id", "") or ""),
        event_type=str(getattr(headers, "event_type", "") or ""),
    )


def parse_robot_message(data: dict[str, Any]) -> RobotMessage:
    """The data of a /v1.0/im/bot/messages/get CALLBACK."""
    try:
        msg = ChatbotMessage.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DingTalkPayloadError(f"robot message cannot be read: {exc}") from exc
    if not msg.message_id or not msg.conversation_id or not msg.sender_staff_id:
        raise DingTalkPayloadError("robot message lacks msgId, conversationId or senderStaffId")
    kind = str(msg.conversation_type or "")
    if kind not in (CONVERSATION_GROUP, CONVERSATION_ONE_TO_ONE):
        raise DingTalkPayloadError(f"unknown conversationType {kind!r}")
    text, files = _content(msg, data)
    return RobotMessage(
        msg_id=str(msg.message_id),
        conversation_id=str(msg.conversation_id),
        direct=kind == CONVERSATION_ONE_TO_ONE,
        mentioned=bool(msg.is_in_at_list),
        sender_staff_id=str(msg.sender_staff_id),
        sender_nick=str(msg.sender_nick or ""),
        text=clean_text(text).strip(),
        files=files,
        session_webhook=str(msg.session_webhook or ""),
        session_expires_ms=int(msg.session_webhook_expired_time or 0),
        msgtype=str(msg.message_type or ""),
        robot_code=str(msg.robot_code or ""),
        quoted=_quoted(data),
        conversation_title=str(msg.conversation_title or ""),
    )


def _quoted(data: dict[str, Any]) -> QuotedMessage | None:
    """The quoted message of a reply (`text.isReplyMsg`), as DingTalk sends it: the quote is
    `text.repliedMsg` ({msgId, msgType, senderId, createdAt, content?}), and the message's top
    level names the quoted message's `originalProcessQueryKey` (sent by the robot) or
    `originalMsgId` (sent by a person). 0.24.x's TextContent drops all of it, so it is read
    from the raw data."""
    part = data.get("text")
    text: dict[str, Any] = part if isinstance(part, dict) else {}
    quote = text.get("repliedMsg")
    replied: dict[str, Any] = quote if isinstance(quote, dict) else {}
    process_key = data.get("originalProcessQueryKey")
    candidates = (process_key, replied.get("msgId"), data.get("originalMsgId"))
    ids = tuple(dict.fromkeys(c for c in candidates if isinstance(c, str) and c))
    if not ids or not (text.get("isReplyMsg") or replied or process_key):
        return None
    robot = data.get("chatbotUserId")
    from_robot = bool(robot) and replied.get("senderId") == robot
    return QuotedMessage(
        ids=ids,
        from_robot=from_robot or bool(isinstance(process_key, str) and process_key),
        text=clean_text(_quoted_text(replied.get("content"))).strip(),
    )


def _quoted_text(content: Any) -> str:
    """A quote's words: markdown {title, text}, text {content}, richText [{msgType|type,
    content|text}]; a card's quote carries none."""
    if isinstance(content, str):
        return content
    if not isinstance(content, dict):
        return ""
    for key in ("text", "content"):
        if isinstance(content.get(key), str) and content[key]:
            return str(content[key])
    words: list[str] = []
    parts = content.get("richText")
    for part in parts if isinstance(parts, list) else []:
        if isinstance(part, dict) and (part.get("msgType") or part.get("type") or "text") == "text":
            words.append(str(part.get("text") or part.get("content") or ""))
    return "".join(words) or str(content.get("title") or "")


def _content(msg: ChatbotMessage, data: dict[str, Any]) -> tuple[str, tuple[MessageFile, ...]]:
    if msg.message_type == "text" and msg.text is not None:
        return str(msg.text.content or ""), ()
    if msg.message_type == "picture" and msg.image_content is not None:
        code = msg.image_content.download_code
        return "", (MessageFile(str(code), "picture.jpg", picture=True),) if code else ()
    if msg.message_type == "richText" and msg.rich_text_content is not None:
        texts: list[str] = []
        files: list[MessageFile] = []
        for part in msg.rich_text_content.rich_text_list or []:
            if not isinstance(part, dict):
                continue
            if "text" in part:
                texts.append(str(part["text"]))
            elif part.get("downloadCode"):
                name = f"picture-{len(files) + 1}.jpg"
                files.append(MessageFile(str(part["downloadCode"]), name, picture=True))
        return "\n".join(texts), tuple(files)
    content = data.get("content")
    if msg.message_type == "file" and isinstance(content, dict) and content.get("downloadCode"):
        name = str(content.get("fileName") or "file")
        return "", (MessageFile(str(content["downloadCode"]), name),)
    return "", ()


def parse_card_click(data: dict[str, Any]) -> CardClick:
    """The data of a /v1.0/card/instances/callback CALLBACK: the button's params say which
    action on which ticket ({"action": ..., "ticket": ...})."""
    try:
        msg = CardCallbackMessage.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise DingTalkPayloadError(f"card callback cannot be read: {exc}") from exc
    content = msg.content if isinstance(msg.content, dict) else {}
    private = content.get("cardPrivateData")
    params = private.get("params") if isinstance(private, dict) else None
    if not isinstance(params, dict) or not msg.user_id or not msg.card_instance_id:
        raise DingTalkPayloadError("card callback lacks userId, outTrackId or params")
    try:
        action: Action | None = Action(str(params.get("action", "")))
    except ValueError:
        action = None
    return CardClick(
        out_track_id=str(msg.card_instance_id),
        user_id=str(msg.user_id),
        action=action,
        ticket_key=str(params.get("ticket", "")),
        space_id=str(data.get("spaceId") or ""),
        value=str(params.get("value") or ""),
        menu=str(params.get("menu") or ""),
    )


__all__ = ["TOPIC_BOT_MESSAGE", "TOPIC_CARD_CALLBACK"]
