"""The channels this service can run, in the order notices try them. A new channel is one line
here (its folder adapters/<ch>/ exports the spec: docs/channels/adding-a-channel.md)."""

from __future__ import annotations

from typing import Any

import adapters.dingtalk
import adapters.email
import adapters.slack
import adapters.webchat
import adapters.wecom
from adapters.contract import ChannelSpec

CHANNELS: tuple[ChannelSpec[Any], ...] = (
    adapters.webchat.SPEC,
    adapters.slack.SPEC,
    adapters.email.SPEC,
    adapters.dingtalk.SPEC,
    adapters.wecom.SPEC,
)

# people's identities and outbox rate limits may name these before their channel is registered
_PLANNED = ("slack", "dingtalk", "wecom", "email", "webchat")


def channel_names() -> tuple[str, ...]:
    """Every name a config key may use for a channel."""
    return tuple(dict.fromkeys([*_PLANNED, *(spec.name for spec in CHANNELS)]))
