"""`channels.webchat` in the YAML configuration: the bot's name, the rooms and the limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field

from adapters.kit.config import (
    ChannelConfig,
    Known,
    LocalizedText,
    NonEmpty,
    Section,
    check_type,
    entries,
    pattern_check,
    unique,
)
from adapters.webchat.limits import Limits
from core.i18n import Locale

RoomId = Annotated[
    str,
    pattern_check(
        r"[a-z0-9][a-z0-9_-]*",
        "use lowercase letters, digits, '_' or '-', starting with a letter or digit",
    ),
]

_DEFAULT = Limits()


class RoomConfig(Section):
    id: RoomId
    name: LocalizedText
    help_desk: bool = False  # False: only messages that @mention the bot open tickets
    ticket_type: NonEmpty
    locale: Locale | None = None


class LimitsConfig(Section):
    """What one browser may cost the service (docs/webchat.md); the defaults suit an office."""

    max_frame_bytes: int = Field(default=_DEFAULT.max_frame_bytes, ge=1024)
    max_text_chars: int = Field(default=_DEFAULT.max_text_chars, ge=1)
    send_queue_frames: int = Field(default=_DEFAULT.send_queue_frames, ge=1)
    send_queue_bytes: int = Field(default=_DEFAULT.send_queue_bytes, ge=1024)
    send_timeout_s: float = Field(default=_DEFAULT.send_timeout_s, gt=0)
    close_timeout_s: float = Field(default=_DEFAULT.close_timeout_s, gt=0)
    socket_burst: int = Field(default=_DEFAULT.socket_burst, ge=1)
    socket_rate: float = Field(default=_DEFAULT.socket_rate, gt=0)
    person_burst: int = Field(default=_DEFAULT.person_burst, ge=1)
    person_rate: float = Field(default=_DEFAULT.person_rate, gt=0)
    refused_before_close: int = Field(default=_DEFAULT.refused_before_close, ge=0)
    in_flight: int = Field(default=_DEFAULT.in_flight, ge=1, le=64)

    def limits(self) -> Limits:
        return Limits(**self.model_dump())


class WebchatConfig(ChannelConfig):
    bot_name: LocalizedText = LocalizedText.model_validate({"zh-CN": "工单助手", "en": "Gongdan"})
    rooms: tuple[RoomConfig, ...] = ()
    limits: LimitsConfig = LimitsConfig()


def check(section: Mapping[str, Any], known: Known) -> list[str]:
    """Room ids are unique and each room files into a known ticket type."""
    problems: list[str] = []
    rooms = entries(section.get("rooms"), "channels.webchat.rooms")
    unique(rooms, "id", "room id", problems)
    for path, room in rooms:
        check_type(f"{path}.ticket_type", room.get("ticket_type"), known.types, problems)
    return problems


def summary(section: WebchatConfig) -> str:
    n = len(section.rooms)
    return f"{n} room{'s' if n != 1 else ''}" if n else ""
