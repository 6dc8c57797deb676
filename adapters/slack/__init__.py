"""Slack: Events API / Socket Mode intake, Block Kit cards and modals.

inbound.py turns Slack payloads into intakes, render.py turns core Cards and ticket types into
Block Kit, escape.py keeps user text inert, types.py documents the payloads.
"""

from adapters.contract import ChannelEnv, ChannelSpec
from adapters.slack.channel import SlackChannel
from adapters.slack.config import SlackConfig, SlackSettings, check
from adapters.slack.people import CHANNEL


def build(section: SlackConfig, env: ChannelEnv) -> SlackChannel:
    settings = SlackSettings(
        bot_token=section.bot_token or "",
        mode=section.mode,
        signing_secret=section.signing_secret,
        app_token=section.app_token,
        api_base_url=section.api_base_url,
        help_desk_channels=dict(section.help_desk_channels),
        default_ticket_type=section.default_ticket_type,
        team_id=section.team_id,
        locale=section.locale or env.default_locale,
        command=section.command,
        people=env.people,
        configured=env.configured,
    )
    return SlackChannel(settings, env.ports, env.clock)


SPEC = ChannelSpec(name=CHANNEL, config=SlackConfig, build=build, check=check)

__all__ = ["SPEC"]
