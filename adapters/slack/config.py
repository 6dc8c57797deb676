"""`channels.slack` in the YAML configuration, and its checks that span sections."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from adapters.kit.config import (
    ChannelConfig,
    Known,
    NonEmpty,
    Secret,
    check_type,
    enabled_section,
    http_url,
    pattern_check,
)
from adapters.slack.client import DEFAULT_BASE_URL
from core.i18n import Locale
from core.people import Person

SlackChannelId = Annotated[
    str, pattern_check(r"[CGD][A-Z0-9]{2,}", "use a Slack channel id such as C024BE91L")
]


class SlackConfig(ChannelConfig):
    """Secrets are checked per mode in `check`, so the message can name the mode."""

    mode: Literal["http", "socket"] = "http"
    bot_token: Secret | None = Field(default=None, repr=False)
    signing_secret: Secret | None = Field(default=None, repr=False)
    app_token: Secret | None = Field(default=None, repr=False)
    api_base_url: str = "https://slack.com/api/"
    # channel id -> the type of tickets its top-level messages open
    help_desk_channels: dict[SlackChannelId, NonEmpty] = Field(default_factory=dict)
    default_ticket_type: NonEmpty | None = None  # None: the first ticket type
    team_id: NonEmpty | None = None
    locale: Locale | None = None  # None: service.default_locale
    command: Annotated[str, pattern_check(r"/[a-z0-9_-]+", "a slash command such as /ticket")] = (
        "/ticket"
    )

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = http_url(value)
        return value if value.endswith("/") else value + "/"


_SECRETS = {
    "http": (("bot_token", "xoxb-"), ("signing_secret", "")),
    "socket": (("bot_token", "xoxb-"), ("app_token", "xapp-")),
}


def check(section: Mapping[str, Any], known: Known) -> list[str]:
    """Which secrets the chosen mode needs, and that the ticket types it names exist."""
    slack = enabled_section(section)
    if slack is None:
        return []
    problems: list[str] = []
    mode = slack.get("mode", "http")
    for key, prefix in _SECRETS.get(str(mode), ()):
        value = slack.get(key)
        if value is None:
            where = "Basic Information → App Credentials" if key == "signing_secret" else ""
            where = where or ("OAuth & Permissions" if key == "bot_token" else "App-Level Tokens")
            problems.append(
                f"channels.slack.{key}: required when mode is {mode} "
                f"(find it in your Slack app's {where})"
            )
        elif prefix and isinstance(value, str) and value and not value.startswith(prefix):
            # never echo a secret; its prefix says which kind of token was pasted
            problems.append(f"channels.slack.{key}: must start with {prefix!r}")
    default = slack.get("default_ticket_type")
    check_type("channels.slack.default_ticket_type", default, known.types, problems)
    desks = slack.get("help_desk_channels")
    for channel, type_id in desks.items() if isinstance(desks, Mapping) else ():
        check_type(f"channels.slack.help_desk_channels.{channel}", type_id, known.types, problems)
    return problems


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str = field(repr=False)
    mode: Literal["http", "socket"] = "http"
    signing_secret: str | None = field(default=None, repr=False)
    app_token: str | None = field(default=None, repr=False)
    api_base_url: str = DEFAULT_BASE_URL
    help_desk_channels: Mapping[str, str] = field(default_factory=dict)
    default_ticket_type: str | None = None  # None: the first configured type
    team_id: str | None = None  # set: deliveries from other workspaces are ignored
    locale: Locale = "zh-CN"
    command: str = "/ticket"
    people: tuple[Person, ...] = ()
    # the people in the config (trusted e-mails): those with an e-mail and no Slack identity are
    # looked up by e-mail at start, so reminders reach them on Slack
    configured: tuple[Person, ...] = ()


@dataclass(frozen=True)
class WorkspaceRouting:
    """The Slack workspace's routing: which channels are help desks, which type by default."""

    help_desk_channels: Mapping[str, str] = field(default_factory=dict)
    default_ticket_type: str | None = None
    locale: Locale = "zh-CN"
    team_id: str | None = None
    people: tuple[Person, ...] = ()
