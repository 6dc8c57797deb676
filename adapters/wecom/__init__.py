"""WeCom (企业微信): the smart robot over its long connection (group cards, clicks answered in
place), the company app over encrypted callbacks (1:1 cards updated for 72 h with single-use
response codes), and group-robot webhooks for notices. See docs/channels/wecom.md.
"""

from adapters.contract import ChannelEnv, ChannelSpec
from adapters.wecom.channel import WeComChannel
from adapters.wecom.config import WeComConfig, WeComSettings, check, summary
from adapters.wecom.people import CHANNEL


def build(section: WeComConfig, env: ChannelEnv) -> WeComChannel:
    settings = WeComSettings(
        robot=section.robot,
        app=section.app,
        group_webhooks=dict(section.group_webhooks),
        help_desk_chats=dict(section.help_desk_chats),
        default_ticket_type=section.default_ticket_type,
        locale=section.locale or env.default_locale,
        keep_quotas=section.keep_quotas,
        base_url=env.base_url,
        max_attachment_bytes=env.max_attachment_bytes,
        people=env.people,
        configured=env.configured,
    )
    return WeComChannel(settings, env.ports, env.clock)


SPEC = ChannelSpec(name=CHANNEL, config=WeComConfig, build=build, check=check, summary=summary)

__all__ = ["SPEC"]
