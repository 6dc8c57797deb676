"""Forms by mail: `Location: 3F east` / `地点：三楼` lines fill a ticket type's fields.

Only the matching is done here; core.forms.validate_fields still decides what is valid, so an
unknown select value is passed through as written and reported by core in the user's words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from core.forms import FieldKind, FieldSpec, TicketType

FieldValue = str | list[str]

_LINE = re.compile(r"^\s*([^:：\n]{1,60}?)\s*[:：]\s*(.*?)\s*$")
_ITEM_SEPARATORS = re.compile(r"\s*[,，、;；]\s*")


def parse_field_lines(text: str, fields: Sequence[FieldSpec]) -> tuple[dict[str, FieldValue], str]:
    """Values found in `Label: value` lines, and the body with those lines taken out.

    Labels match a field's id or its English or Chinese label, case-insensitively, with an
    ASCII or full-width colon. The first line for a field wins; a line with an empty value is
    removed but fills nothing, so a form template sent back half-filled still reads cleanly.
    """
    by_name: dict[str, FieldSpec] = {}
    for spec in fields:
        if spec.kind == FieldKind.ATTACHMENT:
            continue  # files arrive as attachments, never as a line of text
        for name in (spec.id, spec.label.en, spec.label.zh):
            if name:
                by_name.setdefault(_fold(name), spec)
    values: dict[str, FieldValue] = {}
    body: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        match = _LINE.match(line)
        found = by_name.get(_fold(match.group(1))) if match else None
        if match is None or found is None or found.id in values:
            body.append(line)
            continue
        raw = match.group(2)
        if raw:
            values[found.id] = _value(found, raw)
    return values, "\n".join(body).strip("\n")


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _value(spec: FieldSpec, raw: str) -> FieldValue:
    if spec.kind == FieldKind.SELECT:
        return _option(spec, raw)
    if spec.kind == FieldKind.MULTI_SELECT:
        items = [item for item in _ITEM_SEPARATORS.split(raw) if item]
        return list(dict.fromkeys(_option(spec, item) for item in items))
    return raw


def _option(spec: FieldSpec, raw: str) -> str:
    wanted = _fold(raw)
    for opt in spec.options:
        if wanted in {_fold(opt.value), _fold(opt.label.en), _fold(opt.label.zh or opt.label.en)}:
            return opt.value
    return raw


def apply_tag(ttype: TicketType, tag: str | None, fields: dict[str, FieldValue]) -> None:
    """it+printer@: the tag fills the first select field that has that option."""
    if tag is None:
        return
    for spec in ttype.fields:
        if spec.kind != FieldKind.SELECT or spec.id in fields:
            continue
        for opt in spec.options:
            if opt.value.lower() == tag:
                fields[spec.id] = opt.value
                return
