"""adapters/dingtalk/inbound.py against real DingTalk payloads (tests/fixtures/dingtalk/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from adapters.dingtalk.inbound import (
    DingTalkPayloadError,
    MessageFile,
    QuotedMessage,
    parse_card_click,
    parse_frame,
    parse_robot_message,
)
from core.workflow import Action

FIXTURES = Path(__file__).parents[3] / "fixtures" / "dingtalk"


def raw(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def load(name: str) -> dict[str, Any]:
    return dict(json.loads(raw(name)))


def test_group_text_callback_is_a_mention_with_its_text_and_keys() -> None:
    frame = parse_frame(raw("callback_bot_message_group_text.json"))
    msg = parse_robot_message(frame.data)

    assert (frame.kind, frame.topic) == ("CALLBACK", "/v1.0/im/bot/messages/get")
    assert frame.message_id == "212ca9d7_974_1898c159aa6_1783b"
    assert msg.msg_id == "msgLICYescrubbedHgY4JtMQw==" and msg.conversation_id == "cidAsXSBLnA=="
    assert msg.mentioned and not msg.direct and msg.text == "测试数据"
    assert msg.sender_staff_id == "16650scrubbed698" and msg.files == ()


def test_one_to_one_message_is_direct() -> None:
    msg = parse_robot_message(load("chatbot_message_1to1_text.json"))

    assert msg.direct and msg.conversation_id == "cidSingleChatScrubbed=="


def test_a_reply_quoting_the_robots_card_names_the_cards_carrier_first() -> None:
    msg = parse_robot_message(load("chatbot_message_group_reply.json"))

    assert msg.text == "已经重启过了，还是不行"
    # the carrierId createAndDeliver answered comes back as originalProcessQueryKey; the
    # quote itself carries DingTalk's own message id and no words
    assert msg.quoted == QuotedMessage(
        ids=("scrubbedCarrierId0001", "msgscrubbedQuotedCard01=="), from_robot=True, text=""
    )


def test_a_reply_quoting_a_robot_markdown_message_keeps_the_words_it_shows() -> None:
    msg = parse_robot_message(load("chatbot_message_group_reply_markdown.json"))

    assert msg.quoted is not None and msg.quoted.from_robot
    assert msg.quoted.ids[0] == "scrubbedProcessQueryKey0002"
    assert msg.quoted.text.startswith("### IT-1001 打印机坏了")


def test_a_reply_quoting_a_person_is_not_from_the_robot() -> None:
    msg = parse_robot_message(load("chatbot_message_group_reply_user.json"))

    assert msg.quoted == QuotedMessage(
        ids=("msgscrubbedUserMsg0001==",), from_robot=False, text="3楼打印机坏了"
    )


def test_a_message_quoting_nothing_has_no_quote() -> None:
    assert parse_robot_message(load("chatbot_message_1to1_text.json")).quoted is None


def test_picture_message_carries_its_download_code() -> None:
    msg = parse_robot_message(load("chatbot_message_group_picture.json"))

    [picture] = msg.files
    assert picture.download_code and msg.text == ""


def test_file_message_keeps_its_file_name() -> None:
    msg = parse_robot_message(load("chatbot_message_group_file.json"))

    assert msg.files == (MessageFile("mIofN681YE3f/scrubbedfile", "报修单.pdf"),)


def test_rich_text_keeps_the_words_and_every_picture() -> None:
    msg = parse_robot_message(load("chatbot_message_group_richtext.json"))

    assert msg.text == "打印机卡纸"
    assert [f.download_code for f in msg.files] == ["mIofN681YE3f/scrubbedpic"]


def test_event_frame_carries_its_event_id_and_type() -> None:
    frame = parse_frame(raw("event_user_add_org.json"))

    assert frame.kind == "EVENT" and frame.event_type == "user_add_org"
    assert frame.event_id == "c7c7120f2c07419scrubbedebdba0318c8"


def test_ping_and_disconnect_are_system_frames() -> None:
    ping = parse_frame(raw("system_ping.json"))
    disconnect = parse_frame(raw("system_disconnect.json"))

    assert (ping.kind, ping.topic) == ("SYSTEM", "ping") and "opaque" in ping.data
    assert (disconnect.kind, disconnect.topic) == ("SYSTEM", "disconnect")


def test_card_click_of_a_foreign_button_names_no_action() -> None:
    frame = parse_frame(raw("callback_card_click.json"))
    click = parse_card_click(frame.data)

    assert click.action is None and click.out_track_id == "scrubbed"
    assert click.user_id == "scrubbed" and click.space_id == "cidscrubbed"


def test_card_click_of_our_button_names_action_and_ticket() -> None:
    data = json.loads(load("callback_card_click.json")["data"])
    content = {
        "cardPrivateData": {"actionIds": ["b"], "params": {"action": "accept", "ticket": "IT-7"}}
    }
    data["content"] = json.dumps(content)

    click = parse_card_click(data)

    assert (click.action, click.ticket_key) == (Action.ACCEPT, "IT-7")


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"type": "CALLBACK"}',
        '{"type": "NOPE", "headers": {}}',
        '{"type": "CALLBACK", "headers": {}, "data": "{broken"}',
    ],
)
def test_unreadable_frames_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(DingTalkPayloadError):
        parse_frame(text)


def test_robot_message_without_sender_is_refused() -> None:
    data = load("chatbot_message_1to1_text.json")
    del data["senderStaffId"]

    with pytest.raises(DingTalkPayloadError, match="senderStaffId"):
        parse_robot_message(data)
