"""What a WeCom template card shows: the ticket's priority and SLA due time in its six rows."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from adapters.wecom.render import markdown_card, template_card
from core.card import build_card
from core.i18n import Locale
from core.ticket import Priority, Status, Ticket
from tests.unit.core.fakes import make_context

NOW = datetime(2026, 1, 5, 1, tzinfo=UTC)  # 09:00 in Shanghai
SHANGHAI = dataclasses.replace(
    make_context(), schedule=dataclasses.replace(make_context().schedule, timezone="Asia/Shanghai")
)


def rows(locale: Locale, **kwargs: Any) -> dict[str, str]:
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
        "priority": Priority.HIGH,
        "sla": {"due": {"first_response": "2026-01-05T05:00:00+00:00"}},
    }
    ticket = Ticket(**(base | kwargs))
    card = template_card(build_card(ticket, SHANGHAI, locale), "task-1")
    return {row["keyname"]: row["value"] for row in card["horizontal_content_list"]}


def test_the_card_shows_priority_and_the_sla_due_time_in_local_time() -> None:
    shown = rows("zh-CN")

    # WeCom shows at most 10 characters of a row's name and 30 of its value: the asides in
    # brackets (which target, which time zone) give way rather than the words being cut
    assert shown["优先级"] == "高" and shown["SLA 截止"] == "2026-01-05 13:00"


def test_the_status_is_said_once_under_the_title_not_again_as_a_row() -> None:
    ticket = Ticket(
        key="IT-1001",
        type_id="it",
        number=1001,
        title="VPN",
        requester_id="zhangwei",
        created_at=NOW,
        updated_at=NOW,
        status=Status.ASSIGNED,
    )
    card = build_card(ticket, SHANGHAI, "en")

    shown = template_card(card, "task-1")

    assert shown["main_title"]["desc"] == card.status_label
    assert "Status" not in {r["keyname"] for r in shown["horizontal_content_list"]}
    assert markdown_card(card, "").count(card.status_label) == 1
    assert "Priority" in rows("en")
