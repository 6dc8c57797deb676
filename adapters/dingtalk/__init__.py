"""DingTalk (钉钉): a robot in group and 1:1 chats (Stream mode, or signed HTTP callbacks),
interactive cards updated in place, DING for urgent escalations at night. See
docs/channels/dingtalk.md."""

from adapters.contract import ChannelEnv, ChannelSpec
from adapters.dingtalk.channel import DingTalkChannel
from adapters.dingtalk.config import (
    REMIND_TYPES,
    DingSettings,
    DingTalkConfig,
    DingTalkSettings,
    check,
)
from adapters.dingtalk.people import CHANNEL


def build(section: DingTalkConfig, env: ChannelEnv) -> DingTalkChannel:
    ding = section.ding
    settings = DingTalkSettings(
        client_id=section.client_id or "",
        client_secret=section.client_secret or "",
        robot_code=section.robot_code or section.client_id or "",
        mode=section.mode,
        card_template_id=section.card_template_id,
        api_base_url=section.api_base_url,
        oapi_base_url=section.oapi_base_url,
        help_desk_groups=dict(section.help_desk_groups),
        default_ticket_type=section.default_ticket_type,
        locale=section.locale or env.default_locale,
        ding=DingSettings(
            enabled=ding.enabled,
            remind_type=REMIND_TYPES[ding.remind_type],
            night_start_hour=ding.night_start_hour,
            night_end_hour=ding.night_end_hour,
            timezone=ding.timezone,
        ),
        api_calls_per_second=section.api_calls_per_second,
        base_url=env.base_url,
        people=env.configured,
    )
    return DingTalkChannel(
        settings, env.ports, env.clock, max_attachment_bytes=env.max_attachment_bytes
    )


def _summary(section: DingTalkConfig) -> str:
    cards = "card template" if section.card_template_id else "markdown cards (no template)"
    mode = "Stream" if section.mode == "stream" else "HTTP callback at /dingtalk/callback"
    return f"{mode}, {len(section.help_desk_groups)} help desk groups, {cards}"


SPEC = ChannelSpec(name=CHANNEL, config=DingTalkConfig, build=build, check=check, summary=_summary)

__all__ = ["SPEC"]
