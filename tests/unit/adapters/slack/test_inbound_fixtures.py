"""Real Slack payloads through adapters.slack.inbound, one fixture each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from adapters.slack.inbound import (
    ButtonClick,
    Ignored,
    MessageIntake,
    MessageShortcut,
    SlackPayloadError,
    ViewSubmission,
    classify_event,
    classify_interaction,
    dedupe_keys,
    parse_slash_command,
    split_quick_create,
)
from core.workflow import Action

FIXTURES = Path(__file__).parents[3] / "fixtures" / "slack"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_app_mention_becomes_intake_without_the_bot_mention() -> None:
    intake = classify_event(load("app_mention.json"), bot_user_id="W111")

    assert intake == MessageIntake(
        team="T111",
        channel="C111",
        user="W222",
        text="Hi there!",
        ts="1595926230.009600",
        thread_ts=None,
        channel_type="channel",
        event_id="Ev111",
        mentioned=True,
    )


def test_app_mention_from_slack_docs_keeps_the_question() -> None:
    intake = classify_event(load("app_mention_docs.json"), bot_user_id="U0LAN0Z89")

    assert isinstance(intake, MessageIntake)
    assert intake.text == "is it everything a river should be?"
    assert intake.user == "U061F7AUR"
    assert intake.team == "T123ABC456"


def test_channel_message_is_intake_but_not_a_mention() -> None:
    intake = classify_event(load("message_channels.json"), bot_user_id="UBOT")

    assert isinstance(intake, MessageIntake)
    assert intake.text == "Live long and prospect."
    assert intake.channel_type == "channel"
    assert intake.mentioned is False
    assert not intake.is_reply


def test_message_from_another_bot_is_ignored() -> None:
    result = classify_event(load("message_bot.json"), bot_user_id="W111")

    assert isinstance(result, Ignored)
    assert "bot" in result.reason


def test_edited_message_is_ignored() -> None:
    result = classify_event(load("message_changed.json"), bot_user_id="W111")

    assert result == Ignored("message subtype 'message_changed'")


def test_message_with_a_file_still_counts_as_someone_talking() -> None:
    intake = classify_event(load("message_file_share.json"), bot_user_id="UBOT")

    assert isinstance(intake, MessageIntake)
    assert intake.channel_type == "group"
    assert intake.text == "Here is your file!"


def test_socket_mode_payload_is_the_same_event_callback() -> None:
    envelope = load("socket_mode_events_api.json")

    intake = classify_event(envelope["payload"], bot_user_id="W111")

    assert isinstance(intake, MessageIntake)
    assert intake.mentioned is True
    assert intake.text == ""


def test_url_verification_is_not_an_intake_and_has_no_dedupe_keys() -> None:
    body = load("url_verification.json")

    assert isinstance(classify_event(body, bot_user_id="U1"), Ignored)
    assert dedupe_keys(body) == []


def test_mention_and_its_message_event_share_the_message_dedupe_key() -> None:
    mention = load("app_mention.json")
    as_message = load("app_mention.json")
    as_message["event_id"] = "Ev999"
    as_message["event"]["type"] = "message"

    assert dedupe_keys(mention) == ["Ev111", "T111:C111:1595926230.009600"]
    assert dedupe_keys(as_message)[1] == dedupe_keys(mention)[1]


def test_accept_click_names_ticket_version_and_clicker() -> None:
    click = classify_interaction(load("block_actions_accept.json"))

    assert click == ButtonClick(
        team="T111",
        channel="C111",
        message_ts="111.222",
        user="W111",
        action=Action.ACCEPT,
        key="IT-1042",
        version=3,
        value=None,
        trigger_id="111.222.valid",
        response_url="https://hooks.slack.com/actions/T111/111/random-value",
    )


def test_priority_select_carries_the_chosen_option() -> None:
    click = classify_interaction(load("block_actions_set_priority.json"))

    assert isinstance(click, ButtonClick)
    assert (click.action, click.key, click.version, click.value) == (
        Action.SET_PRIORITY,
        "IT-1042",
        3,
        "high",
    )


def test_someone_elses_button_is_ignored() -> None:
    result = classify_interaction(load("block_actions_foreign.json"))

    assert result == Ignored("action 'a' is not ours")


def test_click_with_a_mangled_value_is_a_payload_error() -> None:
    payload = load("block_actions_accept.json")
    payload["actions"][0]["value"] = "IT-1042|three"

    with pytest.raises(SlackPayloadError, match="IT-1042"):
        classify_interaction(payload)


def test_slash_command_text_is_unescaped_and_splits_into_type_and_title() -> None:
    command = parse_slash_command(load("slash_command.json"))

    assert command.command == "/ticket"
    assert command.text == "it printer <jammed> & smoking"
    assert (command.team, command.channel, command.user) == ("T111", "C111", "W111")
    assert split_quick_create(command.text, ["IT", "hr"]) == ("IT", "printer <jammed> & smoking")
    assert split_quick_create("printer jammed", ["it"]) == (None, "printer jammed")


def test_message_shortcut_brings_the_original_message() -> None:
    shortcut = classify_interaction(load("message_action.json"))

    assert shortcut == MessageShortcut(
        team="T111",
        channel="C111",
        user="W111",
        trigger_id="111.222.xxx",
        response_url="https://hooks.slack.com/app/T111/111/xxx",
        message_ts="1583636382.000300",
        message_user="W111",
        message_text="@W222 test",
        thread_ts=None,
    )


def test_view_submission_turns_state_into_form_values() -> None:
    submission = classify_interaction(load("view_submission.json"))

    assert isinstance(submission, ViewSubmission)
    assert submission.values == {"title": "test", "site": "bj", "due": "2026-03-01"}
    assert json.loads(submission.private_metadata) == {"type": "it", "channel": "C111"}
    assert submission.user == "W111"


def test_someone_elses_modal_is_ignored() -> None:
    payload = load("view_submission.json")
    payload["view"]["callback_id"] = "view-id"

    assert classify_interaction(payload) == Ignored("view 'view-id' is not ours")
