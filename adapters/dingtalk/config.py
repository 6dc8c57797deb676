"""`channels.dingtalk` in the YAML configuration, and its checks that span sections."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, field_validator

from adapters.dingtalk.people import GROUP_PREFIX
from adapters.kit.config import (
    ChannelConfig,
    Known,
    NonEmpty,
    Section,
    check_type,
    enabled_section,
    http_url,
)
from core.i18n import Locale
from core.people import Person

DEFAULT_API = "https://api.dingtalk.com"
DEFAULT_OAPI = "https://oapi.dingtalk.com"
REMIND_TYPES = {"app": 1, "sms": 2, "call": 3}


class DingConfig(Section):
    """DING (urgent in-app, SMS or phone alerts): paid editions only, so off by default."""

    enabled: bool = False
    remind_type: Literal["app", "sms", "call"] = "app"
    # escalations delivered between these hours (in `timezone`) are sent as DING too:
    # quiet hours hold every non-urgent notice until morning, so what arrives then is urgent
    night_start_hour: int = Field(default=22, ge=0, le=23)
    night_end_hour: int = Field(default=8, ge=0, le=23)
    timezone: str = "Asia/Shanghai"


class DingTalkConfig(ChannelConfig):
    # how robot messages arrive: "stream" (Gongdan opens the connection; card buttons work) or
    # "http" (DingTalk POSTs them, signed, to /dingtalk/callback; cards show no buttons)
    mode: Literal["stream", "http"] = "stream"
    client_id: NonEmpty | None = None  # the app's AppKey (also the robot code of internal apps)
    client_secret: NonEmpty | None = Field(default=None, repr=False)
    robot_code: NonEmpty | None = None  # None: the client_id
    card_template_id: NonEmpty | None = None  # None: markdown/actionCard messages instead
    api_base_url: str = DEFAULT_API
    oapi_base_url: str = DEFAULT_OAPI
    # openConversationId -> the type of tickets its messages open
    help_desk_groups: dict[NonEmpty, NonEmpty] = Field(default_factory=dict)
    default_ticket_type: NonEmpty | None = None
    locale: Locale | None = None
    ding: DingConfig = Field(default_factory=DingConfig)
    # the app's API calls a second that the outbox keeps under (cards, messages, DING): about
    # 20 on DingTalk's standard edition; raise it on an edition that allows more. null: no limit
    api_calls_per_second: float | None = Field(default=20.0, gt=0)

    @field_validator("api_base_url", "oapi_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value).rstrip("/")


def check(section: Mapping[str, Any], known: Known) -> list[str]:
    """The app credentials are required when enabled; named ticket types must exist."""
    dt = enabled_section(section)
    if dt is None:
        return []
    problems: list[str] = []
    for key in ("client_id", "client_secret"):
        if not dt.get(key):
            problem = (
                f"channels.dingtalk.{key}: required (find it in the DingTalk developer console "
                "under your app's 凭证与基础信息 / Credentials)"
            )
            if key == "client_secret" and dt.get("mode") == "http":
                problem += "; in http mode every callback's sign is checked with it"
            problems.append(problem)
    default = dt.get("default_ticket_type")
    check_type("channels.dingtalk.default_ticket_type", default, known.types, problems)
    groups = dt.get("help_desk_groups")
    for group, type_id in groups.items() if isinstance(groups, Mapping) else ():
        path = f"channels.dingtalk.help_desk_groups.{group}"
        if not str(group).startswith(GROUP_PREFIX):
            # a chatid from the legacy API, a group's name or number: no message would match it
            problems.append(
                f"{path}: not a group's openConversationId (those start with "
                f"{GROUP_PREFIX!r}); @ the robot once in that group and copy group_id from "
                "Gongdan's log line 'robot message from a group not in "
                "channels.dingtalk.help_desk_groups'"
            )
        check_type(path, type_id, known.types, problems)
    return problems


@dataclass(frozen=True)
class DingSettings:
    enabled: bool = False
    remind_type: int = 1
    night_start_hour: int = 22
    night_end_hour: int = 8
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True)
class DingTalkSettings:
    client_id: str
    client_secret: str = field(repr=False)
    robot_code: str
    mode: str = "stream"  # "http": messages come to /dingtalk/callback, no Stream connection
    card_template_id: str | None = None
    api_base_url: str = DEFAULT_API
    oapi_base_url: str = DEFAULT_OAPI
    help_desk_groups: Mapping[str, str] = field(default_factory=dict)
    default_ticket_type: str | None = None
    locale: Locale = "zh-CN"
    ding: DingSettings = DingSettings()
    api_calls_per_second: float | None = 20.0  # the outbox keeps the app's sends under it
    base_url: str = ""  # the service's own URL: fallback buttons open the ticket's page
    people: tuple[Person, ...] = ()
