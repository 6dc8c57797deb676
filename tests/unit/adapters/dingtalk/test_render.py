"""The generic card template's cardParamMap: all strings, buttons naming action and ticket."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from adapters.dingtalk.render import card_params, escape, menu_params, notice_of, out_track_id
from core.card import ActionKind, Card, CardAction, CardField, CardKind, Colour
from core.ticket import Status
from core.workflow import Action

TEMPLATE = Path(__file__).resolve().parents[4] / "deploy" / "dingtalk" / "gongdan-card.json"

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


def test_every_param_the_service_fills_is_a_variable_of_the_shipped_template() -> None:
    declared = {v["name"] for v in json.loads(TEMPLATE.read_text(encoding="utf-8"))["variables"]}
    reassign = CardAction(Action.ASSIGN, "转派", ActionKind.PERSON_SELECT, options=(("a", "A"),))
    menu = menu_params(replace(CARD, actions=(reassign,)), Action.ASSIGN)

    assert menu is not None
    assert set(card_params(CARD)) | set(menu) <= declared


def test_a_choice_is_a_button_opening_a_menu_of_its_options_then_cancel() -> None:
    reassign = CardAction(
        Action.ASSIGN,
        "转派",
        ActionKind.PERSON_SELECT,
        options=(("han", "韩梅梅"), ("bob", "鲍勃")),
    )
    card = replace(CARD, actions=(reassign, CardAction(Action.COMMENT, "评论", ActionKind.INPUT)))
    [opens, comment] = json.loads(card_params(card)["actions"])
    menu = menu_params(card, Action.ASSIGN)

    assert opens["params"] == {"action": "assign", "ticket": "IT-1001", "menu": "open"}
    assert comment["params"] == {"action": "comment", "ticket": "IT-1001"}
    assert card_params(card)["menu"] == "[]"  # nobody's menu is open on the shared card
    assert menu is not None
    assert [(b["label"], b["params"]) for b in json.loads(menu["menu"])] == [
        ("韩梅梅", {"action": "assign", "ticket": "IT-1001", "value": "han"}),
        ("鲍勃", {"action": "assign", "ticket": "IT-1001", "value": "bob"}),
        ("取消", {"action": "assign", "ticket": "IT-1001", "menu": "close"}),
    ]
    assert menu_params(card, Action.SET_PRIORITY) is None  # not on this card (any more)


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
