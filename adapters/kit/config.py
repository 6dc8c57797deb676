"""Config primitives every channel's `config.py` builds on, and the helpers of their cross-checks.

The models are pydantic (frozen, unknown keys refused); bot.config assembles them into the
schema. Cross-checks read the plain data rather than the validated model, so they still run (and
report) when another part of the file is invalid; each names the problem as `path: what is wrong`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from core.i18n import Text

Entries = list[tuple[str, Mapping[str, Any]]]


def pattern_check(pattern: str, rule: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not allowed: {rule}")
        return value

    return AfterValidator(check)


def http_url(value: str) -> str:
    """A field validator body: `value` must be an http(s) URL."""
    if not re.match(r"https?://[^/\s]+", value):
        raise ValueError(f"{value!r} must be an http:// or https:// URL")
    return value


NonEmpty = Annotated[str, Field(min_length=1)]
Secret = Annotated[str, Field(min_length=1)]


class Section(BaseModel):
    """Base of every config model."""

    # extra="forbid" turns a misspelt key into an "unknown key" problem instead of a silent default;
    # numbers become text so that `dingtalk: 10086` is a valid external id
    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)


class LocalizedText(Section):
    """A label in zh-CN and/or en; a plain string means the same text in both."""

    model_config = ConfigDict(populate_by_name=True)

    zh: str | None = Field(default=None, alias="zh-CN")
    en: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain_string(cls, value: object) -> object:
        return {"zh-CN": value, "en": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_language(self) -> Self:
        if not (self.zh or self.en):
            raise ValueError("give the text in zh-CN, en or both")
        return self

    def text(self) -> Text:
        return Text(en=self.en or "", zh=self.zh or "")


class ChannelConfig(Section):
    """What every channel section has."""

    enabled: bool = True


@dataclass(frozen=True)
class Known:
    """The ids a channel's cross-checks may refer to; None: that section is malformed (the
    schema reports it, and every reference would otherwise be reported as unknown too)."""

    types: Mapping[str, str] | None
    people: Mapping[str, str] | None = None


def as_list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def entries(value: object, path: str) -> Entries:
    return [(f"{path}[{i}]", v) for i, v in enumerate(as_list(value)) if isinstance(v, Mapping)]


def as_key(value: object) -> str | None:
    # YAML reads `id: 42` as a number; the schema turns it into text, so compare it as text
    if isinstance(value, bool):
        return None
    if isinstance(value, str | int | float):
        return str(value)
    return None


def unique(items: Entries, key: str, what: str, problems: list[str]) -> dict[str, str]:
    """Report repeats of entry[key]; return every value seen -> the path of its first use."""
    seen: dict[str, str] = {}
    for path, entry in items:
        value = as_key(entry.get(key))
        if value is None:
            continue
        if value in seen:
            problems.append(
                f"{path}.{key}: duplicate {what} {value!r} (already used by {seen[value]})"
            )
        else:
            seen[value] = path
    return seen


def check_type(
    path: str, value: object, known: Mapping[str, str] | None, problems: list[str]
) -> None:
    """`value` must name a configured ticket type."""
    ref = as_key(value)
    if ref is not None and known is not None and ref not in known:
        problems.append(f"{path}: unknown ticket type {ref!r}")


def enabled_section(value: object) -> Mapping[str, Any] | None:
    """A channel section worth checking: a mapping that is not switched off."""
    if not isinstance(value, Mapping) or value.get("enabled") is False:
        return None
    return value
