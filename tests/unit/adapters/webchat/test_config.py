"""`channels.webchat.limits`: what one browser may cost, set in the configuration."""

from __future__ import annotations

import pytest

from adapters.webchat.limits import Limits
from bot.config import ConfigError, parse_config
from tests.unit.bot.test_config import dump, minimal


def test_web_chat_limits_come_from_the_configuration_and_default_to_the_documented_ones() -> None:
    limits = {"socket_burst": 5, "socket_rate": 0.5, "in_flight": 2}
    data = minimal(channels={"webchat": {"limits": limits}})

    config = parse_config(dump(data), env={})

    assert config.channels.webchat.limits.limits() == Limits(
        socket_burst=5, socket_rate=0.5, in_flight=2
    )
    assert parse_config(dump(minimal()), env={}).channels.webchat.limits.limits() == Limits()


def test_a_web_chat_limit_out_of_range_is_named() -> None:
    data = minimal(channels={"webchat": {"limits": {"in_flight": 0, "frames": 3}}})

    with pytest.raises(ConfigError) as caught:
        parse_config(dump(data), env={})

    assert caught.value.problems == [
        "channels.webchat.limits.in_flight: must be at least 1",
        "channels.webchat.limits.frames: unknown key (allowed: max_frame_bytes, max_text_chars, "
        "send_queue_frames, send_queue_bytes, send_timeout_s, close_timeout_s, socket_burst, "
        "socket_rate, person_burst, person_rate, refused_before_close, in_flight)",
    ]
