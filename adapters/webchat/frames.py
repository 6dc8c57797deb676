"""Frames a browser sends, parsed and type-checked before anything acts on them.

Every field is checked for its type here, so a handler never meets `null` where it expects
text (which once opened a ticket titled "None"), a float where it expects a version, or JSON
nested deeper than the parser can follow. A refused frame raises FrameError, whose text names
the problem in both languages; the socket stays open.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.i18n import Locale
from core.text import clean_text
from core.workflow import Action

MAX_CLIENT_ID = 100
MAX_FIELDS = 100
_NAMES = 200  # person ids, room ids, ticket keys, type ids: short by nature

FieldValue = str | int | float | bool | list[str] | None


class FrameError(Exception):
    """A frame the web chat refuses, with its reason in both languages."""

    def __init__(self, en: str, zh: str, client_id: str | None = None) -> None:
        super().__init__(en)
        self.en, self.zh, self.client_id = en, zh, client_id

    def text(self) -> dict[Locale, str]:
        return {"en": self.en, "zh-CN": self.zh}


@dataclass(frozen=True)
class Hello:
    person: str
    room: str


@dataclass(frozen=True)
class Say:
    text: str
    client_id: str | None
    # the card whose thread this was written in: a comment on that ticket, whatever it says
    ticket: str | None = None


@dataclass(frozen=True)
class Act:
    ticket: str
    action: Action
    version: int | None
    value: str | None
    client_id: str | None
    internal: bool = False  # a comment for the support side only


@dataclass(frozen=True)
class SubmitForm:
    ticket_type: str
    title: str
    description: str
    client_id: str | None
    fields: dict[str, FieldValue] = field(default_factory=dict)


@dataclass(frozen=True)
class EditForm:
    """Show the edit form of a ticket (for `ticket_type` when the editor picked another type)."""

    ticket: str
    ticket_type: str | None
    client_id: str | None


@dataclass(frozen=True)
class SubmitEdit:
    ticket: str
    version: int | None
    ticket_type: str
    title: str
    description: str
    priority: str
    client_id: str | None
    fields: dict[str, FieldValue] = field(default_factory=dict)


Frame = Hello | Say | Act | SubmitForm | EditForm | SubmitEdit


def parse(raw: str | bytes, max_text: int) -> Frame:
    """The frame in `raw`, or FrameError naming what is wrong with it."""
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise FrameError(
            "malformed frame: JSON nested too deeply", "无效的消息帧：JSON 嵌套层数过多"
        ) from None
    except ValueError as exc:
        raise FrameError(
            f"malformed frame: not valid JSON ({exc})", f"无效的消息帧：不是有效的 JSON（{exc}）"
        ) from None
    if not isinstance(data, dict):
        raise FrameError("a frame must be a JSON object", "消息帧必须是 JSON 对象")
    client_id = _client_id(data)
    reader = _Fields(data, client_id)
    kind = reader.text("type")
    reader.optional_text("room")
    if kind == "hello":
        return Hello(reader.name("person"), reader.name("room"))
    if kind == "say":
        ticket = (reader.optional_text("ticket") or "").strip().upper() or None
        return Say(reader.text("text", limit=max_text), client_id, ticket)
    if kind == "action":
        name = reader.name("action")
        if name not in Action.__members__.values():
            raise reader.error("action", f"unknown action {name!r}", f"未知的操作 {name!r}")
        return Act(
            ticket=reader.name("ticket"),
            action=Action(name),
            version=reader.version(),
            value=reader.optional_text("value", limit=max_text),
            client_id=client_id,
            internal=reader.flag("internal"),
        )
    if kind == "submit_form":
        return SubmitForm(
            ticket_type=reader.name("ticket_type"),
            title=reader.optional_text("title", limit=max_text) or "",
            description=reader.optional_text("description", limit=max_text) or "",
            client_id=client_id,
            fields=reader.form_fields(),
        )
    if kind == "edit":
        return EditForm(reader.name("ticket"), reader.optional_text("ticket_type"), client_id)
    if kind == "submit_edit":
        return SubmitEdit(
            ticket=reader.name("ticket"),
            version=reader.version(),
            ticket_type=reader.name("ticket_type"),
            title=reader.optional_text("title", limit=max_text) or "",
            description=reader.optional_text("description", limit=max_text) or "",
            priority=reader.name("priority"),
            client_id=client_id,
            fields=reader.form_fields(),
        )
    raise FrameError(f"unknown frame type {kind!r}", f"未知的消息帧类型 {kind!r}", client_id)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _client_id(data: Mapping[str, Any]) -> str | None:
    value = data.get("client_id")
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_CLIENT_ID:
        raise FrameError(
            f"client_id must be text of 1 to {MAX_CLIENT_ID} characters",
            f"client_id 必须是 1 到 {MAX_CLIENT_ID} 个字符的文本",
        )
    return value


class _Fields:
    """Reads typed fields out of one frame; every refusal names the field."""

    def __init__(self, data: dict[str, Any], client_id: str | None) -> None:
        self.data = data
        self.client_id = client_id

    def error(self, name: str, en: str, zh: str) -> FrameError:
        return FrameError(f"{name}: {en}", f"{name}：{zh}", self.client_id)

    def text(self, name: str, limit: int = _NAMES) -> str:
        value = self.data.get(name)
        if value is None:
            raise self.error(name, "is required", "必填")
        return self._checked(name, value, limit)

    def name(self, name: str) -> str:
        value = self.text(name).strip()
        if not value:
            raise self.error(name, "must not be empty", "不能为空")
        return value

    def optional_text(self, name: str, limit: int = _NAMES) -> str | None:
        value = self.data.get(name)
        return None if value is None else self._checked(name, value, limit)

    def _checked(self, name: str, value: object, limit: int) -> str:
        if not isinstance(value, str):
            en, zh = _kind(value)
            raise self.error(name, f"must be text, not {en}", f"必须是文本，而不是{zh}")
        if len(value) > limit:
            raise self.error(
                name, f"is too long (at most {limit} characters)", f"过长（最多 {limit} 个字符）"
            )
        return clean_text(value)

    def flag(self, name: str) -> bool:
        value = self.data.get(name, False)
        if not isinstance(value, bool):
            en, zh = _kind(value)
            raise self.error(name, f"must be true or false, not {en}", f"必须是布尔值，而不是{zh}")
        return value

    def version(self) -> int | None:
        value = self.data.get("version")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
            en, zh = _kind(value)
            raise self.error(
                "version",
                f"must be the whole number the card showed, not {en}",
                f"必须是卡片上显示的整数版本号，而不是{zh}",
            )
        return value

    def form_fields(self) -> dict[str, FieldValue]:
        value = self.data.get("fields")
        if value is None:
            return {}
        if not isinstance(value, dict):
            en, zh = _kind(value)
            raise self.error("fields", f"must be an object, not {en}", f"必须是对象，而不是{zh}")
        if len(value) > MAX_FIELDS:
            raise self.error(
                "fields", f"too many (at most {MAX_FIELDS})", f"字段过多（最多 {MAX_FIELDS} 个）"
            )
        return {key: self._field_value(f"fields.{key}", item) for key, item in value.items()}

    def _field_value(self, name: str, value: object) -> FieldValue:
        if value is None or isinstance(value, bool | int):
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.error(name, "must be a finite number", "必须是有限的数字")
            return value
        if isinstance(value, str):
            return self._checked(name, value, 10_000)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            if len(value) > MAX_FIELDS:
                raise self.error(
                    name,
                    f"too many choices (at most {MAX_FIELDS})",
                    f"选项过多（最多 {MAX_FIELDS} 个）",
                )
            return [self._checked(name, v, _NAMES) for v in value]
        en, zh = _kind(value)
        raise self.error(
            name,
            f"must be text, a number, true/false or a list of text, not {en}",
            f"必须是文本、数字、布尔值或文本列表，而不是{zh}",
        )


def _kind(value: object) -> tuple[str, str]:
    """What JSON type value is, in English and Chinese."""
    if value is None:
        return "null", "null"
    if isinstance(value, bool):
        return "true/false", "布尔值"
    if isinstance(value, int | float):
        return f"the number {value!r:.40}", f"数字 {value!r:.40}"
    if isinstance(value, str):
        return "text", "文本"
    if isinstance(value, list):
        return "a list", "列表"
    return "an object", "对象"
