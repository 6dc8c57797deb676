"""What a WeCom chat was last told of a ticket decides whether a change is worth a line."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from adapters.wecom import told
from adapters.wecom.render import status_line
from core.card import Card, build_card
from core.ticket import Status, Ticket
from tests.unit.core.fakes import make_context

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)
CTX = make_context()
TICKET = Ticket(
    key="IT-1001",
    type_id="it",
    number=1001,
    title="打印机 *卡纸* [急]",
    requester_id="zhangwei",
    created_at=NOW,
    updated_at=NOW,
    team_id="it",
    status=Status.NEW,
)


def card(**changes: object) -> Card:
    return build_card(replace(TICKET, **changes), CTX, "zh-CN")  # type: ignore[arg-type]


def test_a_new_version_with_the_same_status_and_assignee_is_not_news() -> None:
    shown = told.seen(card(version=1))
    assert not told.out_of_date(shown, card(version=2))


def test_a_new_status_or_a_new_assignee_is_news() -> None:
    shown = told.seen(card(version=1, status=Status.ASSIGNED, assignee_id="li.lei"))
    assert told.out_of_date(shown, card(version=2, status=Status.RESOLVED, assignee_id="li.lei"))
    assert told.out_of_date(shown, card(version=2, status=Status.ASSIGNED, assignee_id="bob"))


def test_a_version_the_chat_has_seen_or_passed_is_never_news() -> None:
    shown = told.seen(card(version=3, status=Status.RESOLVED))
    assert not told.out_of_date(shown, card(version=2, status=Status.ACCEPTED))


def test_a_card_kept_with_the_status_alone_compares_the_status_and_one_with_none_is_said() -> None:
    assert not told.out_of_date({"status": "new"}, card(version=2, assignee_id="bob"))
    assert told.out_of_date({}, card(version=2))


def test_the_newer_of_the_stored_word_and_a_clicks_replacement_counts() -> None:
    stored = {"status": "accepted", "version": 4}
    clicked = {"status": "in_progress", "version": 5}
    assert told.newest(stored, clicked) is clicked
    assert told.newest({**stored, "version": 6}, clicked)["status"] == "accepted"
    assert told.newest(None, None) == {}


def test_the_status_line_escapes_the_title_and_names_who_handles_it() -> None:
    line = status_line(card(status=Status.ASSIGNED, assignee_id="li.lei"), "李雷")
    assert line.startswith("IT-1001 当前状态：") and "处理人：李雷" in line
    assert r"\*卡纸\*" in line and r"\[急\]" in line
