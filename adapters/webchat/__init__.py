"""The built-in web chat: a group-chat page, a WebSocket per browser, cards updated in place."""

from adapters.contract import ChannelEnv, ChannelSpec
from adapters.webchat.channel import Room, WebchatChannel, WebchatSettings
from adapters.webchat.config import WebchatConfig, check, summary
from adapters.webchat.rooms import CHANNEL
from core.i18n import as_locale


def build(section: WebchatConfig, env: ChannelEnv) -> WebchatChannel:
    settings = WebchatSettings(
        service_name=env.service_name,
        bot_name=section.bot_name.text(),
        rooms=tuple(
            Room(
                r.id,
                r.name.text(),
                r.help_desk,
                r.ticket_type,
                as_locale(r.locale) if r.locale else None,
            )
            for r in section.rooms
        ),
        people=env.configured,  # the identity picker lists only the configured people
    )
    return WebchatChannel(
        settings,
        env.ports,
        env.clock,
        section.limits.limits(),
        max_attachment_bytes=env.max_attachment_bytes,
    )


SPEC = ChannelSpec(
    name=CHANNEL,
    config=WebchatConfig,
    build=build,
    check=check,
    on_by_default=True,
    summary=summary,
)

__all__ = ["SPEC"]
