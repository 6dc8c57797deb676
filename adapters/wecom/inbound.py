"""Pure parsing: smart-robot frame bodies and company-app callback XML -> typed records.

Robot (doc 101027/101463): `aibot_msg_callback` bodies carry msgid, chatid, chattype
(single|group), from.userid, msgtype (text|mixed|image|file|voice) and the content — a voice
message as the words WeCom heard in it (`voice.content`), never the audio;
`aibot_event_callback` bodies carry event.eventtype (enter_chat, template_card_event,
disconnected_event, feedback_event). App (docs 90239, 90240): flat XML with FromUserName,
CreateTime, MsgType, Content, MsgId, Event, EventKey, TaskId, ResponseCode.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from adapters.kit.buttons import ButtonValueError, parse_button_value
from core.workflow import Action

KEY_SEP = "|"
ASSIGNEE_QUESTION = "assignee"  # the robot card's dropdown of people (`button_selection`)
_MENTION = re.compile(r"^\s*@\S+\s*")


class PayloadError(ValueError):
    """A payload we cannot read (a 400 or a logged drop, never a crash)."""


@dataclass(frozen=True)
class FileRef:
    """A robot file or image: `url` serves it AES-encrypted with `aeskey` (per message)."""

    url: str
    aeskey: str
    kind: str = "file"  # "image" or "file"
    filename: str = ""


@dataclass(frozen=True)
class Message:
    """A chat message to the robot or the app."""

    msgid: str
    userid: str
    text: str
    chatid: str | None = None  # None: one-to-one
    files: tuple[FileRef, ...] = ()
    voice: bool = False  # the text is WeCom's transcript of a voice message

    @property
    def direct(self) -> bool:
        return self.chatid is None


@dataclass(frozen=True)
class Unreadable:
    """A robot message Gongdan cannot read (a video, a voice message with no words heard):
    the sender is told so, as the robot's messages are never sent again."""

    msgid: str
    userid: str
    msgtype: str
    chatid: str | None = None


@dataclass(frozen=True)
class Click:
    """A button pressed on a template card."""

    dedupe: str
    userid: str
    task_id: str
    action: Action
    ticket_key: str
    version: int
    response_code: str = ""
    chatid: str | None = None
    value: str = ""  # what the card's dropdown showed chosen when the button was pressed


@dataclass(frozen=True)
class Event:
    """Another event: enter_chat, disconnected_event, or one we do not handle."""

    kind: str
    userid: str = ""
    chatid: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


Inbound = Message | Click | Event


def event_key(action: Action, ticket_key: str, version: int) -> str:
    """A button's key: the action, the ticket and the version it was pressed on."""
    return f"{action.value}{KEY_SEP}{ticket_key}{KEY_SEP}{version}"


def parse_event_key(key: str) -> tuple[Action, str, int]:
    action, _, rest = key.partition(KEY_SEP)
    try:
        ticket, version = parse_button_value(rest, KEY_SEP)
        return Action(action), ticket, version
    except (ButtonValueError, ValueError):
        raise PayloadError(f"unknown button key {key[:80]!r}") from None


def strip_mention(text: str) -> str:
    """A group message starts with "@机器人名"; the ticket is what follows."""
    return _MENTION.sub("", text, count=1).strip()


# ---- the smart robot --------------------------------------------------------------------


def robot_message(body: Mapping[str, Any]) -> Message | Unreadable:
    msgid, userid = _str(body, "msgid"), _str(_map(body, "from"), "userid")
    if not msgid or not userid:
        raise PayloadError("aibot_msg_callback without msgid or from.userid")
    chatid = _str(body, "chatid") if body.get("chattype") == "group" else None
    msgtype = body.get("msgtype")
    texts: list[str] = []
    files: list[FileRef] = []
    if msgtype == "text":
        texts.append(_str(_map(body, "text"), "content"))
    elif msgtype == "voice":
        heard = _str(_map(body, "voice"), "content").strip()
        if not heard:
            return Unreadable(msgid, userid, "voice", chatid)
        return Message(msgid, userid, heard, chatid, voice=True)  # spoken: no @mention to strip
    elif msgtype in ("image", "file"):
        files.append(_file(_map(body, str(msgtype)), str(msgtype)))
    elif msgtype == "mixed":
        items = _map(body, "mixed").get("msg_item")
        for item in items if isinstance(items, list) else ():
            if not isinstance(item, Mapping):
                continue
            if item.get("msgtype") == "text":
                texts.append(_str(_map(item, "text"), "content"))
            elif item.get("msgtype") == "image":
                files.append(_file(_map(item, "image"), "image"))
    else:
        return Unreadable(msgid, userid, str(msgtype or ""), chatid)
    text = "\n".join(t for t in texts if t)
    if chatid is not None:
        text = strip_mention(text)
    return Message(msgid, userid, text, chatid, tuple(f for f in files if f.url))


def robot_event(body: Mapping[str, Any]) -> Click | Event:
    event = _map(body, "event")
    kind = _str(event, "eventtype")
    userid = _str(_map(body, "from"), "userid")
    chatid = _str(body, "chatid") if body.get("chattype") == "group" else None
    if kind == "template_card_event":
        data = _map(event, "template_card_event")
        try:
            action, ticket, version = parse_event_key(_str(data, "event_key"))
        except PayloadError as exc:  # a card that is not ours: known event, nothing to do
            return Event(kind, userid, chatid, {"reason": str(exc)})
        return Click(
            dedupe=f"robot:{_str(body, 'msgid')}",
            userid=userid,
            task_id=_str(data, "task_id"),
            action=action,
            ticket_key=ticket,
            version=version,
            chatid=chatid,
            value=_selected(data, ASSIGNEE_QUESTION),
        )
    return Event(kind, userid, chatid, event)


def _selected(data: Mapping[str, Any], question: str) -> str:
    """The option chosen in a card's dropdown: `selected_items.selected_item[]` (one item may
    come as an object, ids as a string), `{question_key, option_ids: {option_id: [...]}}`."""
    items = _map(data, "selected_items").get("selected_item")
    for item in items if isinstance(items, list) else [items]:
        if isinstance(item, Mapping) and _str(item, "question_key") == question:
            ids = _map(item, "option_ids").get("option_id")
            chosen = ids[0] if isinstance(ids, list) and ids else ids
            return str(chosen) if isinstance(chosen, str | int) else ""
    return ""


# ---- the company app ---------------------------------------------------------------------


def app_callback(root: Element) -> Message | Click | Event:
    fields = {child.tag: (child.text or "").strip() for child in root}
    userid = fields.get("FromUserName", "")
    if not userid:
        raise PayloadError("callback without FromUserName")
    msgtype = fields.get("MsgType", "")
    if msgtype == "text":
        msgid = fields.get("MsgId") or f"{userid}:{fields.get('CreateTime', '')}"
        return Message(f"app:{msgid}", userid, fields.get("Content", ""))
    if msgtype != "event":
        return Event(f"message:{msgtype}", userid)
    kind = fields.get("Event", "")
    dedupe = f"app:{userid}:{fields.get('CreateTime', '')}:{kind}"
    if kind == "template_card_event":
        try:
            action, ticket, version = parse_event_key(fields.get("EventKey", ""))
        except PayloadError as exc:  # a card that is not ours: known event, nothing to do
            return Event(kind, userid, extra={"reason": str(exc)})
        return Click(
            dedupe=f"{dedupe}:{fields.get('TaskId', '')}",
            userid=userid,
            task_id=fields.get("TaskId", ""),
            action=action,
            ticket_key=ticket,
            version=version,
            response_code=fields.get("ResponseCode", ""),
        )
    return Event(kind, userid)


def _file(data: Mapping[str, Any], kind: str) -> FileRef:
    return FileRef(_str(data, "url"), _str(data, "aeskey"), kind, _str(data, "filename"))


def _map(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
