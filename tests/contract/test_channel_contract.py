"""The channel contract: what every channel does, run against each one's local platform double.

Each case speaks only through a driver (tests/contract/drivers/), so adding a channel is one
driver module and one line in drivers/__init__.py. A channel that cannot do a case says so in
its `Capabilities` (adapters/contract.py) and the case is skipped with that flag's reason.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest

from core.clock import FrozenClock
from tests.contract.drivers.base import ChannelDriver

ACCEPTED_ZH = "已受理"  # core/i18n.py status.accepted: the service speaks zh-CN
HAN = re.compile(r"[\u4e00-\u9fff]")


def skip_unless_third_party(channel: ChannelDriver) -> None:
    if channel.capabilities.own_platform:
        pytest.skip(
            f"{channel.name}: Capabilities.own_platform — its platform is Gongdan's own: "
            "nothing refuses or rate-limits a send, and it sends no event it does not handle"
        )


async def test_a_card_is_posted_then_updated_in_place(channel: ChannelDriver) -> None:
    """Mail cannot change a sent mail (update_in_place=False): the documented substitute is a
    new mail in the card's thread, sent once per status change (docs/channels/email.md)."""
    key = await channel.open_ticket("VPN 连不上")
    await channel.settle()
    [posted] = await channel.cards(key)
    assert ACCEPTED_ZH not in posted.text

    await channel.act(key, "accept", "li.lei")
    await channel.settle()

    shown = await channel.cards(key)
    if channel.capabilities.update_in_place:
        [updated] = shown
        assert (updated.id, updated.thread) == (posted.id, posted.thread)
        assert updated.edits == posted.edits + 1
    else:
        first, updated = shown
        assert first == posted
        assert updated.id != posted.id and posted.id in updated.thread
    assert ACCEPTED_ZH in updated.text


async def test_a_429_waits_exactly_the_retry_after_it_names(
    channel: ChannelDriver, clock: FrozenClock
) -> None:
    skip_unless_third_party(channel)
    if not channel.capabilities.retry_after:
        pytest.skip(
            f"{channel.name}: Capabilities.retry_after is False — its platform names no time to "
            "wait (SMTP's 4xx); a busy platform is retried with backoff instead"
        )
    channel.fail_next_send(retry_after=30)
    key = await channel.open_ticket("VPN 连不上")
    await channel.settle()
    assert channel.send_attempts() == 1
    [row] = await channel.card_posts()
    assert row["status"] == "pending"
    assert row["next_attempt_at"].replace(tzinfo=clock.now().tzinfo) == clock.now() + timedelta(
        seconds=30
    )

    clock.advance(timedelta(seconds=29))
    await channel.settle()
    assert channel.send_attempts() == 1 and await channel.cards(key) == []

    clock.advance(timedelta(seconds=1))
    await channel.settle()
    assert channel.send_attempts() == 2
    assert len(await channel.cards(key)) == 1


async def test_a_permanent_error_fails_the_delivery_for_good(
    channel: ChannelDriver, clock: FrozenClock
) -> None:
    skip_unless_third_party(channel)
    channel.fail_next_send(retry_after=None)
    key = await channel.open_ticket("VPN 连不上")
    await channel.settle()
    [row] = await channel.card_posts()
    assert row["status"] == "failed" and row["last_error"]

    clock.advance(timedelta(days=1))
    await channel.settle()
    assert channel.send_attempts() == 1
    assert await channel.cards(key) == []


async def test_a_duplicate_delivery_has_one_effect(channel: ChannelDriver) -> None:
    key = await channel.open_ticket("VPN 连不上")
    again = await channel.deliver_again()
    await channel.settle()

    assert again.status == channel.accepted
    assert await channel.tickets() == [key]
    assert len(await channel.cards(key)) == 1


async def test_an_unparseable_delivery_is_refused_with_a_reason(channel: ChannelDriver) -> None:
    answer = await channel.send_unparseable()

    assert answer.status == channel.refused
    assert answer.reason.strip()
    assert "Traceback" not in answer.reason
    assert await channel.tickets() == []


async def test_a_known_but_unhandled_event_is_taken_and_logged(
    channel: ChannelDriver, caplog: pytest.LogCaptureFixture
) -> None:
    skip_unless_third_party(channel)
    caplog.set_level(logging.DEBUG, logger="gongdan")
    caplog.clear()

    answer = await channel.send_unhandled()

    assert answer.status == channel.accepted
    assert await channel.tickets() == []
    lines = [r for r in caplog.records if r.name.startswith("gongdan") and "ignored" in r.msg]
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]


async def test_a_direct_message_arrives_in_the_recipients_locale(channel: ChannelDriver) -> None:
    """bob.smith reads English; the service, the requester and the room speak Chinese."""
    message = await channel.message_to_bob()

    assert "Li Lei" in message.text and "李雷" not in message.text
    # a line deliberately in both languages ("发件人未验证 / unverified sender") is no miss
    chinese_only = [line for line in message.text.splitlines() if HAN.search(line)]
    assert [line for line in chinese_only if " / " not in line] == [], message.text
