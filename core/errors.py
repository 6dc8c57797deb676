"""Domain errors. Each message is something the person who pressed the button can act on."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from core.i18n import Locale, Text, t


class DomainError(Exception):
    """Base of every error core raises on purpose."""

    code = "domain_error"

    def __init__(self, message: str, texts: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        # the same message in every language, when core has it: a REST caller's
        # Accept-Language picks one; `message` is in the actor's language
        self.texts: dict[str, str] = dict(texts or {})

    def text(self, locale: str) -> str:
        return self.texts.get(locale, self.message)


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The ticket moved on: someone else acted first, or the action no longer applies."""

    code = "conflict"


class PermissionDenied(DomainError):
    code = "forbidden"


class ConcurrencyError(DomainError):
    """Storage saw a newer version than the one the decision was based on; retry the command."""

    code = "concurrency"


# the ticket's own fields: an error about one is named by its label in core.i18n (`field.<id>`)
_OWN_FIELDS = frozenset({"title", "description", "priority", "type", "assignee", "body"})


@dataclass(frozen=True)
class FieldError:
    """One broken form rule. message is English; zh the same in Chinese (falls back to English).
    `field` is the id a program reads; `label` the name a person knows the field by."""

    field: str
    rule: str
    message: str
    zh: str = dataclasses.field(default="", compare=False)
    label: Text | None = dataclasses.field(default=None, compare=False)

    def text(self, locale: str) -> str:
        return self.zh if locale == "zh-CN" and self.zh else self.message

    def name(self, locale: str) -> str:
        """The field as the reader knows it: its label in their language, else its id."""
        loc: Locale = "zh-CN" if locale == "zh-CN" else "en"
        if self.label is not None:
            return self.label.get(loc) or self.field
        if self.field in _OWN_FIELDS:
            return t(f"field.{self.field}", loc)
        return self.field


class FormInvalid(DomainError):
    code = "invalid"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(
            _listed(errors, "en"), {loc: _listed(errors, loc) for loc in ("zh-CN", "en")}
        )
        self.errors = errors


def _listed(errors: list[FieldError], locale: str) -> str:
    """Every broken field, each named by its label: "金额：不能小于 0；物品：此项必填"."""
    colon, separator = ("：", "；") if locale == "zh-CN" else (": ", "; ")
    return separator.join(f"{e.name(locale)}{colon}{e.text(locale)}" for e in errors)
