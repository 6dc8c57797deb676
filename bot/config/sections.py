"""The sections of the YAML configuration, one pydantic model each; bot.config assembles them.

Every model is frozen and forbids unknown keys. Rules that span sections (references, unique
ids) live in bot.config.refs. Each channel's section is its own model (adapters/<ch>/config.py),
listed under `channels` from the registry in bot/channels.py.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from adapters.kit.config import ChannelConfig, LocalizedText, NonEmpty, Section, pattern_check
from bot.channels import CHANNELS, channel_names
from core.assignment import Strategy
from core.conversation import ConversationRules
from core.forms import FieldKind
from core.i18n import Locale
from core.people import Role
from core.ticket import Priority

_T = TypeVar("_T")

if TYPE_CHECKING:
    ChannelName = str
else:  # the registered channels, and those planned
    ChannelName = Literal[channel_names()]


_RESERVED_FIELDS = frozenset({"title", "description", "priority"})


def _not_reserved(value: str) -> str:
    if value in _RESERVED_FIELDS:
        raise ValueError(f"{value!r} is built into every ticket; choose another field id")
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)"
        ) from None
    return value


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


Slug = Annotated[
    str,
    pattern_check(
        r"[a-z0-9][a-z0-9._-]*",
        "use lowercase letters, digits, '.', '_' or '-', starting with a letter or digit",
    ),
]
TypeId = Annotated[
    str,
    pattern_check(
        r"[a-z][a-z0-9_-]*", "use lowercase letters, digits, '_' or '-', starting with a letter"
    ),
]
FieldId = Annotated[
    str,
    pattern_check(
        r"[a-z][a-z0-9_]*", "use lowercase letters, digits or '_', starting with a letter"
    ),
    AfterValidator(_not_reserved),
]
Prefix = Annotated[
    str,
    pattern_check(
        r"[A-Z][A-Z0-9]{0,9}", "use 1 to 10 capital letters or digits, starting with a letter"
    ),
]
Timezone = Annotated[str, AfterValidator(_timezone)]


class ServiceConfig(Section):
    name: NonEmpty
    host: NonEmpty = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    base_url: str = "http://127.0.0.1:8080"
    default_locale: Locale = "zh-CN"
    timezone: Timezone = "Asia/Shanghai"
    shutdown_timeout_s: float = Field(default=20.0, ge=0)
    # HTTP connection limits (docs/configuration.md)
    header_timeout_s: float = Field(default=10.0, gt=0)
    body_timeout_s: float = Field(default=60.0, gt=0)
    keepalive_timeout_s: float = Field(default=75.0, gt=0)
    max_connections: int = Field(default=1000, ge=1)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"https?://[^/\s]+", value):
            raise ValueError(f"{value!r} must be an http:// or https:// URL")
        # links are built as base_url + "/path"
        return value.rstrip("/")


_DATABASE_SCHEMES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")


class DatabaseConfig(Section):
    url: str = Field(default="sqlite+aiosqlite:///var/gongdan.db", repr=False)

    @field_validator("url")
    @classmethod
    def _supported_driver(cls, value: str) -> str:
        if not value.startswith(_DATABASE_SCHEMES):
            # the URL may carry a password, so only the scheme is repeated back
            scheme = value.split("://", 1)[0] if "://" in value else value[:20]
            raise ValueError(f"must start with {' or '.join(_DATABASE_SCHEMES)} (got {scheme!r})")
        return value

    @property
    def backend(self) -> Literal["sqlite", "postgresql"]:
        return "sqlite" if self.url.startswith("sqlite") else "postgresql"


class LoggingConfig(Section):
    level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], BeforeValidator(_upper)] = "INFO"
    format: Literal["json", "text"] = "text"


class ApiToken(Section):
    name: NonEmpty
    token: str = Field(min_length=16, repr=False)
    person: NonEmpty


class ApiConfig(Section):
    # an empty list is allowed: the REST API then answers 401 to everyone
    tokens: tuple[ApiToken, ...] = ()


class AttachmentsConfig(Section):
    """Where files that come with tickets are kept, and the largest one kept."""

    dir: NonEmpty = "var/attachments"  # relative paths start at the working directory
    max_bytes: int = Field(default=10 * 2**20, ge=1)


class LeaveConfig(Section):
    """Days off, both ends included."""

    model_config = ConfigDict(populate_by_name=True)

    first: date = Field(alias="from")
    last: date = Field(alias="to")

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        if self.last < self.first:
            raise ValueError(f"'to' ({self.last}) is before 'from' ({self.first})")
        return self


class PersonConfig(Section):
    id: Slug
    name: LocalizedText
    email: str | None = None
    locale: Locale | None = None  # None: service.default_locale
    roles: tuple[Role, ...] = (Role.REQUESTER,)
    identities: dict[ChannelName, NonEmpty] = Field(default_factory=dict)
    timezone: Timezone | None = None
    calendar: NonEmpty | None = None  # their working hours; None: their team's
    leave: tuple[LeaveConfig, ...] = ()

    @field_validator("email")
    @classmethod
    def _looks_like_email(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise ValueError(f"{value!r} is not an email address")
        return value


class SkillRuleConfig(Section):
    """Tickets matching every condition given here need `skills` (see docs/assignment-and-escalation.md)."""

    type: NonEmpty | None = None
    field: NonEmpty | None = None
    value: NonEmpty | None = None
    tag: NonEmpty | None = None
    skills: tuple[NonEmpty, ...] = ()

    @model_validator(mode="after")
    def _says_which_skill(self) -> Self:
        if self.value is not None and self.field is None:
            raise ValueError("'value' needs the 'field' it is a value of")
        if not self.skills and (self.field is None or self.value is not None):
            raise ValueError(
                "give 'skills', or a 'field' without 'value' whose value names the skill"
            )
        return self


def at_least_one(items: tuple[_T, ...]) -> tuple[_T, ...]:
    # an AfterValidator, not min_length: pydantic adds "too short" when any item is invalid
    if not items:
        raise ValueError("needs at least 1 item")
    return items


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


_NEEDS = {
    Strategy.ON_CALL: ("rotation", "the on_call strategy needs 'rotation'"),
    Strategy.SKILLS: ("skill_rules", "the skills strategy needs 'skill_rules'"),
    Strategy.REGION: ("regions", "the region strategy needs 'region_field' and 'regions'"),
}


class AssignmentConfig(Section):
    # one strategy or a chain: [skills, least_loaded]
    strategy: Annotated[
        tuple[Strategy, ...], BeforeValidator(_one_or_many), AfterValidator(at_least_one)
    ]
    rotation: NonEmpty | None = None
    calendar: NonEmpty | None = None  # working hours of members without their own
    skills: dict[NonEmpty, tuple[NonEmpty, ...]] = Field(default_factory=dict)
    skill_rules: tuple[SkillRuleConfig, ...] = ()
    region_field: FieldId | None = None
    regions: dict[NonEmpty, tuple[NonEmpty, ...]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _strategies_have_what_they_need(self) -> Self:
        for strategy in self.strategy:
            key, message = _NEEDS.get(strategy, ("", ""))
            if key and not getattr(self, key):
                raise ValueError(message)
            if strategy is Strategy.REGION and self.region_field is None:
                raise ValueError(message)
        return self


class TeamConfig(Section):
    id: Slug
    name: LocalizedText
    members: tuple[NonEmpty, ...] = ()
    lead: NonEmpty | None = None
    manager: NonEmpty | None = None
    # None: new tickets go to the lead, else to the queue
    assignment: AssignmentConfig | None = None


class OptionConfig(Section):
    value: NonEmpty
    label: LocalizedText


_CHOICE_KINDS = (FieldKind.SELECT, FieldKind.MULTI_SELECT)


class FieldConfig(Section):
    id: FieldId
    kind: FieldKind
    label: LocalizedText
    required: bool = False
    min: float | None = None
    max: float | None = None
    # validate_default: a select without options must be reported, not silently accepted
    options: tuple[OptionConfig, ...] | None = Field(default=None, validate_default=True)
    help: LocalizedText | None = None

    @field_validator("max")
    @classmethod
    def _max_not_below_min(cls, value: float | None, info: ValidationInfo) -> float | None:
        low = info.data.get("min")
        if value is not None and low is not None and value < low:
            raise ValueError(f"must not be less than min ({low:g})")
        return value

    @field_validator("options")
    @classmethod
    def _options_fit_kind(
        cls, value: tuple[OptionConfig, ...] | None, info: ValidationInfo
    ) -> tuple[OptionConfig, ...] | None:
        kind = info.data.get("kind")
        if kind is None:
            return value
        if kind in _CHOICE_KINDS and not value:
            raise ValueError(f"a {kind.value} field needs at least one option")
        if kind not in _CHOICE_KINDS and value is not None:
            raise ValueError(f"only select and multi_select fields take options, not {kind.value}")
        values = [o.value for o in value or ()]
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise ValueError(f"duplicate option value {', '.join(map(repr, repeated))}")
        return value


class TicketTypeConfig(Section):
    id: TypeId
    prefix: Prefix
    name: LocalizedText
    description: LocalizedText | None = None
    default_team: NonEmpty | None = None
    default_priority: Priority = Priority.NORMAL
    fields: tuple[FieldConfig, ...] = ()


class ChannelSections(Section):
    """The `channels` section: one optional key per registered channel (bot/channels.py)."""

    if TYPE_CHECKING:  # the fields are made from the registry

        def __getattr__(self, name: str) -> Any: ...

    def section(self, name: str) -> ChannelConfig | None:
        value = getattr(self, name, None)
        return value if isinstance(value, ChannelConfig) else None

    def enabled(self) -> dict[str, ChannelConfig]:
        """The configured, enabled channels by name."""
        found = {name: self.section(name) for name in type(self).model_fields}
        return {name: s for name, s in found.items() if s is not None and s.enabled}


def _channels_model() -> type[ChannelSections]:
    fields: dict[str, Any] = {
        spec.name: (spec.config, spec.config())
        if spec.on_by_default
        else (spec.config | None, None)
        for spec in CHANNELS
    }
    return create_model("ChannelsConfig", __base__=ChannelSections, **fields)


if TYPE_CHECKING:
    ChannelsConfig = ChannelSections
else:
    ChannelsConfig = _channels_model()


class OutboxConfig(Section):
    max_attempts: int = Field(default=12, ge=1)
    base_backoff_s: float = Field(default=1.0, gt=0)
    max_backoff_s: float = Field(default=300.0, gt=0)
    # messages per second per channel; a channel not listed is not throttled
    rate_limits: dict[ChannelName, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    # longest wait for one send (any channel); then it counts as failed and is retried
    send_timeout_s: float = Field(default=10.0, gt=0, le=300)
    # lines one person gets about one ticket within this many seconds go out as one message
    notice_coalesce_s: float = Field(default=60.0, ge=0)

    @field_validator("max_backoff_s")
    @classmethod
    def _max_not_below_base(cls, value: float, info: ValidationInfo) -> float:
        base = info.data.get("base_backoff_s")
        if base is not None and value < base:
            raise ValueError(f"must not be less than base_backoff_s ({base:g})")
        return value


class ConversationConfig(Section):
    """How chat messages are told apart (core.conversation); see docs/conversation.md."""

    # small talk that opens no ticket, per language; None keeps the built-in lists
    chatter: dict[Locale, tuple[NonEmpty, ...]] | None = None
    # further messages from the same person in the same conversation within this many minutes
    # are comments on the ticket they just opened
    follow_up_minutes: float = Field(default=5.0, ge=0, le=24 * 60)

    def rules(self) -> ConversationRules:
        chatter = {str(k): v for k, v in self.chatter.items()} if self.chatter is not None else None
        return ConversationRules.of(chatter, timedelta(minutes=self.follow_up_minutes))
