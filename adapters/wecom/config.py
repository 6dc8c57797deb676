"""`channels.wecom` in the YAML configuration, and its checks that span sections.

Either the smart robot (`robot`), the company app (`app`) or group webhooks alone is enough;
all three together serve groups (robot), 1:1 cards that update for days (app) and notices in
groups that have only a webhook.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, field_validator

from adapters.kit.config import (
    ChannelConfig,
    Known,
    NonEmpty,
    Secret,
    Section,
    check_type,
    enabled_section,
    http_url,
)
from core.i18n import Locale
from core.people import Person

DEFAULT_API_BASE_URL = "https://qyapi.weixin.qq.com"
DEFAULT_WS_URL = "wss://openws.work.weixin.qq.com"
AES_KEY_LENGTH = 43  # WeCom's EncodingAESKey: 43 characters of base64 without the "="


class RobotConfig(Section):
    """The smart robot (智能机器人) over its long connection: no public URL needed."""

    bot_id: NonEmpty
    secret: Secret = Field(repr=False)
    ws_url: str = DEFAULT_WS_URL
    heartbeat_s: float = Field(default=30.0, gt=0)

    @field_validator("ws_url")
    @classmethod
    def _ws_url(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError(f"{value!r} must be a ws:// or wss:// URL")
        return value


class AppConfig(Section):
    """The self-built company app (自建应用): encrypted callbacks in, HTTP API out."""

    corp_id: NonEmpty
    agent_id: int
    secret: Secret = Field(repr=False)
    token: Secret = Field(repr=False)
    encoding_aes_key: Secret = Field(repr=False)
    api_base_url: str = DEFAULT_API_BASE_URL
    # WeCom documents no replay protection: callbacks older or newer than this are refused
    callback_window_s: int = Field(default=300, gt=0)

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value).rstrip("/")

    @field_validator("encoding_aes_key")
    @classmethod
    def _aes_key(cls, value: str) -> str:
        if len(value) != AES_KEY_LENGTH:
            raise ValueError(f"must be {AES_KEY_LENGTH} characters (the app's EncodingAESKey)")
        return value


class WeComConfig(ChannelConfig):
    locale: Locale | None = None  # None: service.default_locale
    default_ticket_type: NonEmpty | None = None  # None: the first ticket type
    # group chat id -> the type of tickets raised there
    help_desk_chats: dict[NonEmpty, NonEmpty] = Field(default_factory=dict)
    robot: RobotConfig | None = None
    app: AppConfig | None = None
    # name -> the group robot's webhook key, or its full URL; a team's notices go to the
    # webhook named like the team
    group_webhooks: dict[NonEmpty, NonEmpty] = Field(default_factory=dict)
    # the outbox keeps WeCom's documented send limits (adapters/wecom/quotas.py): an app's 30
    # messages a minute to one member (it drops the rest unseen), a webhook's 20 a minute;
    # false only against a test double
    keep_quotas: bool = True


def check(section: Mapping[str, Any], known: Known) -> list[str]:
    """Something to connect with, and that the ticket types named exist."""
    wecom = enabled_section(section)
    if wecom is None:
        return []
    problems: list[str] = []
    if not any(wecom.get(k) for k in ("robot", "app", "group_webhooks")):
        problems.append(
            "channels.wecom: give robot (smart robot), app (company app) or group_webhooks"
        )
    check_type(
        "channels.wecom.default_ticket_type",
        wecom.get("default_ticket_type"),
        known.types,
        problems,
    )
    chats = wecom.get("help_desk_chats")
    for chat, type_id in chats.items() if isinstance(chats, Mapping) else ():
        check_type(f"channels.wecom.help_desk_chats.{chat}", type_id, known.types, problems)
    return problems


def summary(section: WeComConfig) -> str:
    parts = [name for name in ("robot", "app") if getattr(section, name) is not None]
    if section.group_webhooks:
        parts.append(f"{len(section.group_webhooks)} webhooks")
    return ", ".join(parts)


@dataclass(frozen=True)
class WeComSettings:
    """What the channel runs with (the config plus what the service adds)."""

    robot: RobotConfig | None
    app: AppConfig | None
    group_webhooks: Mapping[str, str] = field(default_factory=dict)
    help_desk_chats: Mapping[str, str] = field(default_factory=dict)
    default_ticket_type: str | None = None
    locale: Locale = "zh-CN"
    keep_quotas: bool = True
    base_url: str = ""
    max_attachment_bytes: int = 10 * 1024 * 1024
    people: tuple[Person, ...] = ()
    configured: tuple[Person, ...] = ()

    def webhook_url(self, value: str) -> str:
        if "://" in value:
            return value
        base = self.app.api_base_url if self.app else DEFAULT_API_BASE_URL
        return f"{base}/cgi-bin/webhook/send?key={value}"
