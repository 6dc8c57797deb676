"""Ticket types are forms: the fields a type collects and the rules core enforces on them."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any

from core.errors import FieldError, FormInvalid
from core.i18n import Text
from core.people import Directory

JSON = Any


class FieldKind(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    NUMBER = "number"
    SELECT = "select"
    MULTI_SELECT = "multi_select"
    DATE = "date"
    PERSON = "person"
    ATTACHMENT = "attachment"


@dataclass(frozen=True)
class Option:
    value: str
    label: Text


@dataclass(frozen=True)
class FieldSpec:
    id: str
    kind: FieldKind
    label: Text
    required: bool = False
    # text: length; number: value; multi_select / attachment: count
    min: float | None = None
    max: float | None = None
    options: tuple[Option, ...] = ()
    help: Text | None = None

    def option_label(self, value: str) -> Text | None:
        for opt in self.options:
            if opt.value == value:
                return opt.label
        return None


PREFIX_RE = re.compile(r"^[A-Z][A-Z0-9]{0,9}$")


@dataclass(frozen=True)
class TicketType:
    id: str
    prefix: str
    name: Text
    fields: tuple[FieldSpec, ...] = ()
    default_team: str | None = None
    default_priority: str = "normal"
    description: Text | None = None

    def field(self, field_id: str) -> FieldSpec | None:
        for spec in self.fields:
            if spec.id == field_id:
                return spec
        return None


_TEXT_MAX = 10_000
_TITLE_MAX = 200

# Every number field holds values within ±(2**53 - 1): the integers a double (JSON's number, and
# JavaScript's) represents exactly, well inside the 64-bit integers orjson, SQLite and PostgreSQL
# store. Beyond it a value would be rounded (or refused by the database) instead of kept as given.
NUMBER_LIMIT = 2**53 - 1


def clean_text(text: str) -> str:
    """User text as stored: trimmed, without NUL characters (which no database keeps)."""
    return text.replace("\x00", "").strip()


def validate_title(title: object) -> str:
    clean = clean_text(title) if isinstance(title, str) else ""
    if not clean:
        raise FormInvalid([FieldError("title", "required", "a title is required", "请填写标题")])
    if len(clean) > _TITLE_MAX:
        raise FormInvalid(
            [
                FieldError(
                    "title",
                    "max",
                    f"at most {_TITLE_MAX} characters (got {len(clean)})",
                    f"最多 {_TITLE_MAX} 个字符（当前 {len(clean)} 个）",
                )
            ]
        )
    return clean


def validate_fields(
    ttype: TicketType, values: Mapping[str, object], directory: Directory
) -> dict[str, JSON]:
    """Check submitted values against the type's form; return the cleaned values or raise."""
    errors: list[FieldError] = []
    clean: dict[str, JSON] = {}
    for key in values:
        if ttype.field(key) is None:
            errors.append(
                FieldError(
                    key,
                    "unknown",
                    f"{ttype.id} has no field {key!r}",
                    f"{ttype.id} 没有字段 {key!r}",
                )
            )
    for spec in ttype.fields:
        raw = values.get(spec.id)
        if _is_empty(raw):
            if spec.required:
                required = FieldError(
                    spec.id, "required", "this field is required", "此项必填", spec.label
                )
                errors.append(required)
            continue
        try:
            clean[spec.id] = _clean(spec, raw, directory)
        except _Invalid as exc:
            errors.append(FieldError(spec.id, exc.rule, exc.message, exc.zh, spec.label))
    if errors:
        raise FormInvalid(errors)
    return clean


def labelled(ttype: TicketType, errors: list[FieldError]) -> list[FieldError]:
    """Each error about one of the form's fields named by that field's label."""
    return [
        replace(e, label=spec.label) if e.label is None and (spec := ttype.field(e.field)) else e
        for e in errors
    ]


class _Invalid(Exception):
    def __init__(self, rule: str, message: str, zh: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.zh = zh


def _is_empty(raw: object) -> bool:
    # a required text answered with spaces is still unanswered
    if isinstance(raw, str):
        return not raw.strip()
    return raw is None or (isinstance(raw, list | tuple) and len(raw) == 0)


def _fmt(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else str(n)


def _clean(spec: FieldSpec, raw: object, directory: Directory) -> JSON:
    kind = spec.kind
    if kind in (FieldKind.TEXT, FieldKind.LONG_TEXT):
        if not isinstance(raw, str):
            raise _Invalid("type", "must be text", "必须是文本")
        text = clean_text(raw)
        limit = (
            spec.max
            if spec.max is not None
            else (_TEXT_MAX if kind == FieldKind.LONG_TEXT else 500)
        )
        if spec.min is not None and len(text) < spec.min:
            raise _Invalid(
                "min", f"at least {_fmt(spec.min)} characters", f"至少 {_fmt(spec.min)} 个字符"
            )
        if len(text) > limit:
            raise _Invalid("max", f"at most {_fmt(limit)} characters", f"最多 {_fmt(limit)} 个字符")
        return text
    if kind == FieldKind.NUMBER:
        number = _number(raw)
        if abs(number) > NUMBER_LIMIT:
            raise _Invalid(
                "range",
                f"must be between -{NUMBER_LIMIT} and {NUMBER_LIMIT}",
                f"必须在 -{NUMBER_LIMIT} 到 {NUMBER_LIMIT} 之间",
            )
        if spec.min is not None and number < spec.min:
            raise _Invalid(
                "min", f"must be at least {_fmt(spec.min)}", f"不能小于 {_fmt(spec.min)}"
            )
        if spec.max is not None and number > spec.max:
            raise _Invalid("max", f"must be at most {_fmt(spec.max)}", f"不能大于 {_fmt(spec.max)}")
        return int(number) if number.is_integer() else number
    if kind == FieldKind.SELECT:
        value = raw if isinstance(raw, str) else None
        if value is None or spec.option_label(value) is None:
            choices = ", ".join(o.value for o in spec.options)
            raise _Invalid("options", f"must be one of {choices}", f"必须是以下之一：{choices}")
        return value
    if kind == FieldKind.MULTI_SELECT:
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
            raise _Invalid("type", "must be a list of options", "必须是选项列表")
        bad = [i for i in items if spec.option_label(i) is None]
        if bad:
            raise _Invalid(
                "options", f"unknown option(s) {', '.join(bad)}", f"未知选项 {'、'.join(bad)}"
            )
        chosen = list(dict.fromkeys(items))
        _check_count(spec, len(chosen))
        return chosen
    if kind == FieldKind.DATE:
        if not isinstance(raw, str):
            raise _Invalid("type", "must be a date like 2026-03-01", "日期格式应为 2026-03-01")
        try:
            return date.fromisoformat(raw.strip()).isoformat()
        except ValueError:
            raise _Invalid(
                "type", "must be a date like 2026-03-01", "日期格式应为 2026-03-01"
            ) from None
    if kind == FieldKind.PERSON:
        if not isinstance(raw, str) or directory.person(raw) is None:
            raise _Invalid("person", f"unknown person {raw!r}", f"未知人员 {raw!r}")
        return raw
    return _attachments(spec, raw)


def _number(raw: object) -> float:
    number: float | None = None
    try:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            number = float(raw)
        elif isinstance(raw, str):
            number = float(raw.strip().replace(",", ""))
    except (ValueError, OverflowError):  # OverflowError: an int too big for a float
        number = None
    # "nan" and "inf" parse as floats but compare with nothing and are not valid JSON
    if number is None or not math.isfinite(number):
        raise _Invalid("type", "must be a number", "必须是数字")
    return number


def _check_count(spec: FieldSpec, count: int) -> None:
    if spec.min is not None and count < spec.min:
        raise _Invalid("min", f"choose at least {_fmt(spec.min)}", f"至少选择 {_fmt(spec.min)} 项")
    if spec.max is not None and count > spec.max:
        raise _Invalid("max", f"choose at most {_fmt(spec.max)}", f"最多选择 {_fmt(spec.max)} 项")


def _attachments(spec: FieldSpec, raw: object) -> JSON:
    """Attachments arrive as ids of stored attachment metadata (strings)."""
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise _Invalid("type", "must be a list of attachment ids", "必须是附件编号列表")
    _check_count(spec, len(items))
    return list(items)
