"""What a ticket's card shows each audience: fields, colour, buttons, in either language."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.card import (
    STATUS_COLOUR,
    ActionKind,
    Card,
    CardAction,
    CardField,
    CardKind,
    Colour,
    Style,
    build_card,
)
from core.escalation import NoticeKind
from core.i18n import Locale
from core.notice_card import build_notice_card
from core.quiet_hours import DeliveryRoute
from core.ticket import Priority, Status, Ticket
from core.timekeeping import Notice
from core.workflow import Action

from .fakes import make_context

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)
CTX = make_context()


def ticket(**kwargs: Any) -> Ticket:
    base: dict[str, Any] = {
        "key": "IT-1001",
        "type_id": "it",
        "number": 1001,
        "title": "VPN 连不上",
        "requester_id": "zhangwei",
        "created_at": NOW,
        "updated_at": NOW,
        "team_id": "it",
        "assignee_id": "lilei",
        "status": Status.ASSIGNED,
    }
    return Ticket(**(base | kwargs))


def card(locale: Locale = "zh-CN", **kwargs: Any) -> Card:
    return build_card(ticket(**kwargs), CTX, locale)


def fields(c: Card) -> dict[str, str]:
    return {f.label: f.value for f in c.fields}


def button(c: Card, action: Action) -> CardAction:
    (found,) = [a for a in c.actions if a.id == action]
    return found


def test_card_shows_type_status_priority_and_people_in_chinese() -> None:
    c = card()

    assert c.heading == "IT-1001 VPN 连不上"
    assert c.fields[:5] == (
        CardField("类型", "IT 请求"),
        CardField("状态", "已分派"),
        CardField("优先级", "普通"),
        CardField("提单人", "张伟"),
        CardField("处理人", "李雷"),
    )
    assert c.status_label == "已分派"
    assert c.locale == "zh-CN"


def test_card_speaks_english_to_english_readers() -> None:
    c = card("en", priority=Priority.URGENT)

    assert fields(c) == {
        "Type": "IT request",
        "Status": "Assigned",
        "Priority": "Urgent",
        "Requester": "Zhang Wei",
        "Assignee": "Li Lei",
    }
    assert [a.label for a in c.actions] == [
        "Accept",
        "Resolve",
        "Reassign",
        "Priority",
        "Cancel",
        "Comment",
    ]


@pytest.mark.parametrize(
    ("status", "colour"),
    [
        (Status.NEW, Colour.GREY),
        (Status.ASSIGNED, Colour.BLUE),
        (Status.ACCEPTED, Colour.INDIGO),
        (Status.IN_PROGRESS, Colour.ORANGE),
        (Status.WAITING, Colour.YELLOW),
        (Status.RESOLVED, Colour.GREEN),
        (Status.CLOSED, Colour.GREY),
        (Status.CANCELLED, Colour.RED),
    ],
)
def test_card_colour_follows_the_status(status: Status, colour: Colour) -> None:
    assert card(status=status).colour == colour
    assert set(STATUS_COLOUR) == set(Status)


def test_unassigned_queued_ticket_offers_claim_and_shows_the_team_queue() -> None:
    c = card("en", status=Status.NEW, assignee_id=None)

    assert c.actions[0].id == Action.CLAIM
    assert c.actions[0].style == Style.PRIMARY
    assert fields(c)["Assignee"] == "Team queue"


def test_ticket_without_team_shows_unassigned_and_offers_nobody_to_reassign_to() -> None:
    c = card(status=Status.NEW, assignee_id=None, team_id=None)

    assert fields(c)["处理人"] == "未分派"
    assert button(c, Action.ASSIGN).options == ()


@pytest.mark.parametrize(
    ("status", "buttons"),
    [
        (Status.ACCEPTED, ["start", "resolve", "wait", "assign", "set_priority", "comment"]),
        (Status.IN_PROGRESS, ["resolve", "wait", "assign", "set_priority", "comment"]),
        (Status.WAITING, ["resume", "resolve", "assign", "comment"]),
        (Status.RESOLVED, ["close", "reopen", "comment"]),
        (Status.CLOSED, ["reopen", "comment"]),
    ],
)
def test_buttons_follow_the_status_and_comment_is_always_last(
    status: Status, buttons: list[str]
) -> None:
    assert [a.id.value for a in card(status=status).actions] == buttons


def test_accept_and_resolve_stand_out_and_cancel_asks_for_confirmation() -> None:
    c = card("en")

    assert button(c, Action.ACCEPT).style == Style.PRIMARY
    assert button(c, Action.RESOLVE).style == Style.PRIMARY
    cancel = button(c, Action.CANCEL)
    assert cancel.style == Style.DANGER
    assert cancel.confirm == "Cancel this ticket?"
    assert button(c, Action.ACCEPT).confirm is None
    assert button(card(), Action.CANCEL).confirm == "确定撤销这张工单吗？"


def test_reassign_offers_the_team_once_each_with_the_lead_last() -> None:
    reassign = button(card(assignee_id=None, status=Status.NEW), Action.ASSIGN)

    assert reassign.kind == ActionKind.PERSON_SELECT
    # the manager (陈静, role manager only) works no tickets: escalations end with her
    assert reassign.options == (
        ("lilei", "李雷"),
        ("hanmeimei", "韩梅梅"),
        ("alice", "爱丽丝"),
        ("wangfang", "王芳"),
    )


def test_reassign_does_not_offer_the_person_who_holds_the_ticket() -> None:
    reassign = button(card(assignee_id="lilei"), Action.ASSIGN)

    assert reassign.options == (
        ("hanmeimei", "韩梅梅"),
        ("alice", "爱丽丝"),
        ("wangfang", "王芳"),
    )


def test_reassign_offers_a_manager_who_works_tickets_too() -> None:
    from core.people import Role, StaticDirectory, Team
    from tests.unit.core.fakes import CHEN_JING, EVERYONE, HAN_MEIMEI, LI_LEI

    working = replace(CHEN_JING, roles=frozenset({Role.MANAGER, Role.AGENT}))
    people = [working if p.id == working.id else p for p in EVERYONE]
    team = Team("it", CHEN_JING.name, members=("lilei", "hanmeimei"), manager="chenjing")
    member = Team("it", CHEN_JING.name, members=("lilei", "chenjing"), manager="chenjing")
    directory = StaticDirectory(people, (team,))
    as_member = StaticDirectory(EVERYONE, (member,))

    offered = build_card(ticket(assignee_id=None), replace(CTX, directory=directory), "en")
    listed = build_card(ticket(assignee_id=None), replace(CTX, directory=as_member), "en")

    assert button(offered, Action.ASSIGN).options == (
        (LI_LEI.id, "Li Lei"),
        (HAN_MEIMEI.id, "Han Meimei"),
        ("chenjing", "Chen Jing"),
    )
    # a manager the team lists as a member is offered as one, once
    assert button(listed, Action.ASSIGN).options == (("lilei", "Li Lei"), ("chenjing", "Chen Jing"))


def test_the_escalation_card_offers_the_same_people_as_the_ticket_card() -> None:
    late = notice(NoticeKind.ESCALATION, NOW - timedelta(hours=1))
    escalated = build_notice_card(ticket(status=Status.ASSIGNED), CTX, "zh-CN", late)

    assert button(escalated, Action.ASSIGN).options == button(card(), Action.ASSIGN).options
    assert "chenjing" not in dict(button(escalated, Action.ASSIGN).options)


def test_priority_select_lists_every_priority_in_the_readers_language() -> None:
    priority = button(card("en"), Action.SET_PRIORITY)

    assert priority.kind == ActionKind.SELECT
    assert priority.options == (
        ("urgent", "Urgent"),
        ("high", "High"),
        ("normal", "Normal"),
        ("low", "Low"),
    )


def test_comment_is_a_text_input() -> None:
    assert button(card(), Action.COMMENT).kind == ActionKind.INPUT


def test_form_fields_show_with_their_labels_and_readable_values() -> None:
    values = {
        "device": "laptop",
        "topics": ["vpn", "laptop"],
        "amount": 0,
        "backup": "hanmeimei",
        "needed_by": "2026-03-01",
        "screenshots": ["a", "b"],
        "notes": "",
    }

    zh = fields(card(fields=values))
    en = fields(card("en", fields=values))

    assert zh["设备"] == "笔记本电脑"
    assert zh["主题"] == "VPN, 笔记本电脑"
    assert zh["金额"] == "0"
    assert zh["备份联系人"] == "韩梅梅"
    assert zh["需要日期"] == "2026-03-01"
    assert zh["截图"] == "2 📎"
    assert "备注" not in zh
    assert en["Device"] == "Laptop"
    assert en["Backup"] == "Han Meimei"


def test_values_whose_option_was_removed_from_the_form_still_show() -> None:
    shown = fields(card(fields={"device": "fax", "topics": ["fax", "vpn"]}))

    assert shown["设备"] == "fax"
    assert shown["主题"] == "fax, VPN"


def test_ticket_of_a_removed_type_still_renders_without_type_and_fields() -> None:
    c = card(type_id="gone", fields={"device": "laptop"})

    assert [f.label for f in c.fields] == ["状态", "优先级", "提单人", "处理人"]


def test_description_is_the_body_unless_it_repeats_the_title() -> None:
    assert card(description="VPN 连不上").body == ""
    assert card(description="公司 Wi-Fi 下连不上").body == "公司 Wi-Fi 下连不上"


def test_long_description_is_cut_to_500_characters() -> None:
    body = card(description="长" * 600).body

    assert len(body) == 500
    assert body.endswith("…")


def test_card_carries_the_ticket_version_for_stale_clicks() -> None:
    assert card(version=7).version == 7


# --- reminders and escalations ----------------------------------------------------------------


def notice(kind: NoticeKind, due: datetime | None, earlier: int = 0) -> Notice:
    key = f"IT-1001/std:0#{earlier}/lilei"
    return Notice(
        kind, "IT-1001", "lilei", NOW, DeliveryRoute.NORMAL, key, "first_response", due, earlier
    )


def test_a_late_reminder_says_since_when_in_days_and_offers_only_snooze_once_work_started() -> None:
    due = NOW - timedelta(days=2, hours=3)
    late = notice(NoticeKind.REMINDER, due, earlier=4)
    c = build_notice_card(ticket(status=Status.IN_PROGRESS), CTX, "en", late)
    assert c.kind is CardKind.REMINDER
    assert c.body == (
        "IT-1001 VPN 连不上: first response was due 2026-01-03 06:00 (UTC), 2 d 3 h ago."
    )
    assert [a.id for a in c.actions] == [Action.SNOOZE]


def test_an_escalation_before_the_due_time_asks_for_a_hand_and_tells_the_story_so_far() -> None:
    early = notice(NoticeKind.ESCALATION, NOW + timedelta(hours=1), earlier=2)
    c = build_notice_card(ticket(status=Status.IN_PROGRESS), CTX, "en", early)
    assert c.kind is CardKind.ESCALATION
    assert c.body == "IT-1001 VPN 连不上 needs a hand."
    assert "Late by" not in fields(c)
    assert fields(c)["So far"] == "opened 0 min ago; now In progress; 2 earlier notices"
    assert [a.id for a in c.actions] == [Action.ASSIGN]  # nothing left to take over
    zh = build_notice_card(ticket(status=Status.IN_PROGRESS), CTX, "zh-CN", early)
    assert fields(zh)["处理经过"].count("；") == 2 and ";" not in fields(zh)["处理经过"]


def test_a_notice_about_a_closed_ticket_offers_no_buttons() -> None:
    for kind in NoticeKind:
        c = build_notice_card(ticket(status=Status.CLOSED), CTX, "zh-CN", notice(kind, None))
        assert c.actions == ()


def test_a_requester_is_offered_only_what_they_may_do_and_the_team_everything_else() -> None:
    from core.card import for_viewer
    from tests.unit.core.fakes import LI_LEI, ZHANG_WEI

    shown = card("en")
    mine = for_viewer(shown, ZHANG_WEI, CTX.directory)
    theirs = for_viewer(shown, LI_LEI, CTX.directory)

    assert [a.id for a in mine.actions] == [Action.CANCEL, Action.COMMENT]
    assert Action.ACCEPT in [a.id for a in theirs.actions]
    assert mine.editable and theirs.editable
    assert not for_viewer(card("en", status=Status.CLOSED), ZHANG_WEI, CTX.directory).editable


def test_an_escalation_after_one_notice_counts_it_in_the_singular() -> None:
    once = notice(NoticeKind.ESCALATION, NOW + timedelta(hours=1), earlier=1)
    c = build_notice_card(ticket(status=Status.IN_PROGRESS), CTX, "en", once)
    assert fields(c)["So far"] == "opened 0 min ago; now In progress; 1 earlier notice"
    zh = build_notice_card(ticket(status=Status.IN_PROGRESS), CTX, "zh-CN", once)
    assert fields(zh)["处理经过"].endswith("此前已通知 1 次")
