"""How Slack's wire text becomes what the person typed."""

from __future__ import annotations

import pytest

from adapters.slack.inbound import (
    Ignored,
    MessageIntake,
    SlackPayloadError,
    classify_event,
    slack_text,
)


@pytest.mark.parametrize(
    ("wire", "typed"),
    [
        ("<@UBOT> printer jammed", "printer jammed"),
        ("printer <@UBOT> jammed", "printer jammed"),
        ("ask <@U123> about it", "ask @U123 about it"),
        ("ask <@U123|ada> about it", "ask @U123 about it"),
        ("see <#C42|help-desk>", "see #help-desk"),
        ("<!here> it is down", "@here it is down"),
        ("<!subteam^S1|@it-team> ping", "@it-team ping"),
        ("<https://example.com>", "https://example.com"),
        ("<https://example.com|the wiki>", "the wiki (https://example.com)"),
        ("<mailto:ada@example.com|ada@example.com>", "ada@example.com"),
        ("a &lt; b &amp;&amp; c &gt; d", "a < b && c > d"),
        ("literal &amp;lt; stays", "literal &lt; stays"),
        ("打印机卡纸了 <@UBOT>", "打印机卡纸了"),
    ],
)
def test_wire_text_reads_as_typed(wire: str, typed: str) -> None:
    assert slack_text(wire, bot_user_id="UBOT") == typed


def _body(**event: object) -> dict[str, object]:
    base = {"type": "message", "user": "U1", "text": "hi", "ts": "1.000001", "channel": "C1"}
    return {"type": "event_callback", "team_id": "T1", "event_id": "Ev1", "event": base | event}


def test_direct_message_is_direct_and_thread_reply_is_a_reply() -> None:
    dm = classify_event(_body(channel="D1", channel_type="im"), bot_user_id="UBOT")
    reply = classify_event(_body(thread_ts="0.5"), bot_user_id="UBOT")

    assert isinstance(dm, MessageIntake)
    assert dm.is_direct
    assert isinstance(reply, MessageIntake)
    assert reply.is_reply
    assert reply.thread_ts == "0.5"


def test_channel_type_is_guessed_from_the_id_when_slack_omits_it() -> None:
    intake = classify_event(_body(type="app_mention", channel="G9"), bot_user_id="UBOT")

    assert isinstance(intake, MessageIntake)
    assert intake.channel_type == "group"


def test_our_own_posts_and_user_less_events_are_ignored() -> None:
    assert classify_event(_body(user="UBOT"), bot_user_id="UBOT") == Ignored("our own message")
    assert isinstance(classify_event(_body(user=None), bot_user_id="UBOT"), Ignored)
    assert isinstance(classify_event(_body(type="reaction_added"), bot_user_id="UBOT"), Ignored)


def test_event_without_ts_is_a_payload_error_naming_the_key() -> None:
    body = _body()
    del body["event"]["ts"]  # type: ignore[attr-defined]

    with pytest.raises(SlackPayloadError, match="'ts'"):
        classify_event(body, bot_user_id="UBOT")
