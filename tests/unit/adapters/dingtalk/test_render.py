"""The generic card template's cardParamMap: all strings, buttons naming action and ticket."""

from __future__ import annotations

import json
from dataclasses import replace

from adapters.dingtalk.render import card_params, escape, notice_of, out_track_id
from core.card import Card, CardAction, CardField, CardKind, Colour
from core.ticket import Status
from core.workflow import Action

CARD = Card(
    ticket_key="IT-1001",
    version=3,
    title="3楼打印机坏了",
    status=Status.ASSIGNED,
    status_label="已指派",
    colour=Colour.BLUE,
    fields=(CardField("优先级", "普通"),),
    actions=(CardAction(Action.ACCEPT, "受理"), CardAction(Action.RESOLVE, "解决")),
    locale="zh-CN",
)


def test_every_card_param_is_a_string() -> None:
    params = card_params(CARD, "https://gongdan.example/?ticket=IT-1001")

    assert all(isinstance(v, str) for v in params.values())
    assert params["key"] == "IT-1001" and params["status_colour"] == "blue"


def test_each_button_calls_back_with_its_action_and_ticket() -> None:
    actions = json.loads(card_params(CARD)["actions"])

    assert [a["params"] for a in actions] == [
        {"action": "accept", "ticket": "IT-1001"},
        {"action": "resolve", "ticket": "IT-1001"},
    ]


def test_out_track_id_is_stable_per_ticket_and_audience() -> None:
    group = out_track_id("IT-1001", "cidGroup==")

    assert group == out_track_id("IT-1001", "cidGroup==")
    assert group != out_track_id("IT-1001", "manager4220")
    assert group != out_track_id("IT-1002", "cidGroup==")


def test_a_notice_card_is_an_instance_of_its_own_the_same_on_every_retry() -> None:
    first = replace(
        CARD, kind=CardKind.ESCALATION, notice_key="IT-1001/lead#0/li.lei", body="需要协助"
    )
    # a retry renders it again later: its text moved on ("opened 5 min ago"), its notice did not
    retried = replace(first, fields=(CardField("处理经过", "5 分钟前提交"),))
    repeat = replace(first, notice_key="IT-1001/lead#1/li.lei")

    def track(card: Card) -> str:
        return out_track_id(card.ticket_key, "manager4220", notice_of(card))

    assert track(first) == track(retried)
    assert len({track(first), track(repeat), track(CARD)}) == 3


def test_markdown_from_users_stays_inert() -> None:
    assert escape("[点我](http://evil) **x** <b>") == r"\[点我\]\(http://evil\) \*\*x\*\* &lt;b\>"


def test_a_reminders_text_shows_a_title_with_markdown_as_typed() -> None:
    # the template shows `body` with a markdown component; a title inside it must not become
    # a link or bold text on the assignee's reminder
    reminder = replace(CARD, body="请尽快处理 IT-1001“**急** [点我](http://evil.example)”")

    body = card_params(reminder)["body"]

    assert body == r"请尽快处理 IT-1001“\*\*急\*\* \[点我\]\(http://evil.example\)”"


def test_without_buttons_the_card_keeps_everything_else() -> None:
    page = "https://gongdan.example/?ticket=IT-1001"
    plain = card_params(CARD, page, buttons=False)

    assert json.loads(plain["actions"]) == [] and plain["page_url"] == page
    assert plain | {"actions": ""} == card_params(CARD, page) | {"actions": ""}
