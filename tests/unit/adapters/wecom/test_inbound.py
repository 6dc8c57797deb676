"""WeCom's documented payloads (tests/fixtures/wecom) read into records, one test each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.kit.callbacks import CallbackRejected
from adapters.kit.config import Known
from adapters.wecom.callback import parse_xml
from adapters.wecom.config import check
from adapters.wecom.inbound import (
    Click,
    Event,
    Message,
    PayloadError,
    Unreadable,
    app_callback,
    event_key,
    robot_event,
    robot_message,
)
from core.workflow import Action

FIXTURES = Path(__file__).parents[3] / "fixtures" / "wecom"


def _xml(name: str) -> Message | Click | Event:
    return app_callback(parse_xml((FIXTURES / name).read_bytes()))


def test_callback_text_is_a_message_deduped_on_its_msgid() -> None:
    message = _xml("callback_text.xml")
    assert message == Message("app:1234567890123456", "fromUser", "this is a test")


def test_a_click_on_a_card_that_is_not_ours_is_a_known_event_not_an_error() -> None:
    event = _xml("callback_template_card_event.xml")
    assert isinstance(event, Event) and event.kind == "template_card_event"


def test_callback_enter_agent_is_an_event_left_alone() -> None:
    assert _xml("callback_enter_agent.xml") == Event("enter_agent", "FromUser")


def test_a_click_on_our_card_names_the_action_ticket_version_and_response_code() -> None:
    xml = (FIXTURES / "callback_template_card_event.xml").read_text()
    xml = xml.replace("key111", event_key(Action.ACCEPT, "IT-1001", 3))
    click = app_callback(parse_xml(xml))
    assert isinstance(click, Click)
    assert (click.action, click.ticket_key, click.version) == (Action.ACCEPT, "IT-1001", 3)
    assert (click.task_id, click.response_code) == ("taskid111", "ResponseCode")
    assert click.dedupe == "app:FromUser:123456789:template_card_event:taskid111"


def test_aibot_event_body_of_an_unknown_kind_is_an_event() -> None:
    body = json.loads((FIXTURES / "aibot_event_body.json").read_text())
    assert robot_event(body) == Event("eventtype_name", "USERID", None, body["event"])


def test_a_group_message_loses_its_mention_and_keeps_its_images() -> None:
    body = {
        "msgid": "m1",
        "chatid": "wr1",
        "chattype": "group",
        "from": {"userid": "u1"},
        "msgtype": "mixed",
        "mixed": {
            "msg_item": [
                {"msgtype": "text", "text": {"content": "@工单助手 投影仪不亮"}},
                {"msgtype": "image", "image": {"url": "https://x/1", "aeskey": "k"}},
            ]
        },
    }
    message = robot_message(body)
    assert isinstance(message, Message)
    assert (message.text, message.chatid, len(message.files)) == ("投影仪不亮", "wr1", 1)


def test_a_robot_message_without_a_sender_is_unreadable() -> None:
    with pytest.raises(PayloadError):
        robot_message({"msgid": "m1", "msgtype": "text"})


def test_a_voice_message_is_the_text_wecom_heard_in_it() -> None:
    body = {
        "msgid": "m2",
        "chattype": "single",
        "from": {"userid": "u1"},
        "msgtype": "voice",
        "voice": {"content": "三楼打印机卡纸了"},
    }
    assert robot_message(body) == Message("m2", "u1", "三楼打印机卡纸了", voice=True)


def test_a_video_or_a_voice_message_with_no_words_is_unreadable_not_an_error() -> None:
    base = {"msgid": "m3", "chatid": "wr1", "chattype": "group", "from": {"userid": "u1"}}
    video = robot_message({**base, "msgtype": "video", "video": {"url": "https://x/v"}})
    silent = robot_message({**base, "msgtype": "voice", "voice": {"content": " "}})
    assert video == Unreadable("m3", "u1", "video", "wr1")
    assert silent == Unreadable("m3", "u1", "voice", "wr1")


def test_a_doctype_is_refused_before_anything_is_expanded() -> None:
    with pytest.raises(CallbackRejected):
        parse_xml('<!DOCTYPE x [<!ENTITY a "b">]><xml>&a;</xml>')


def test_a_wecom_section_needs_the_robot_the_app_or_a_webhook() -> None:
    assert check({"enabled": True}, Known(types={"it": "it"})) == [
        "channels.wecom: give robot (smart robot), app (company app) or group_webhooks"
    ]
    assert check({"robot": {"bot_id": "b", "secret": "s"}}, Known(types={"it": "it"})) == []


def test_an_assign_click_carries_the_person_chosen_in_the_cards_dropdown() -> None:
    def click(selected: object) -> Click | Event:
        event = {
            "eventtype": "template_card_event",
            "template_card_event": {
                "card_type": "button_interaction",
                "event_key": event_key(Action.ASSIGN, "IT-1001", 2),
                "task_id": "t1",
                "selected_items": {"selected_item": selected},
            },
        }
        return robot_event({"msgid": "e1", "from": {"userid": "u1"}, "event": event})

    listed = click([{"question_key": "assignee", "option_ids": {"option_id": ["bob.smith"]}}])
    single = click({"question_key": "assignee", "option_ids": {"option_id": "li.lei"}})
    other = click([{"question_key": "colour", "option_ids": {"option_id": ["red"]}}])
    assert isinstance(listed, Click) and listed.value == "bob.smith"
    assert isinstance(single, Click) and single.value == "li.lei"
    assert isinstance(other, Click) and other.value == ""
