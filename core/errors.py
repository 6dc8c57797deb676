"""Domain errors. Each message is something the person who pressed the button can act on."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass


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


@dataclass(frozen=True)
class FieldError:
    """One broken form rule. message is English; zh the same in Chinese (falls back to English)."""

    field: str
    rule: str
    message: str
    zh: str = dataclasses.field(default="", compare=False)

    def text(self, locale: str) -> str:
        return self.zh if locale == "zh-CN" and self.zh else self.message


class FormInvalid(DomainError):
    code = "invalid"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(
            "; ".join(f"{e.field}: {e.message}" for e in errors),
            {
                loc: "; ".join(f"{e.field}: {e.text(loc)}" for e in errors)
                for loc in ("zh-CN", "en")
            },
        )
        self.errors = errors
