"""Block Kit cards: user text stays inert, buttons follow the status, limits hold."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from adapters.slack.render import render_card
from core.card import ActionKind, Card, CardAction, CardField, Colour, build_card
from core.clock import FrozenClock
from core.forms import TicketType
from core.i18n import Text
from core.people import Person, Role, StaticDirectory, Team
from core.ports import Context
from core.ticket import Status, Ticket
from core.workflow import Action

CLOCK = FrozenClock()
TYPES = {"it": TicketType("it", "IT", Text("IT support", "IT 支持"), default_team="ops")}
DIRECTORY = StaticDirectory(
    [
        Person("ada", Text("Ada", "阿达"), roles=frozenset({Role.AGENT})),
        Person("bob", Text("Bob", "鲍勃")),
    ],
    [Team("ops", Text("Ops", "运维"), members=("ada",), lead="ada")],
)
CTX = Context(TYPES, DIRECTORY, CLOCK)


def ticket(status: Status = Status.NEW, title: str = "Printer jammed", **kw: Any) -> Ticket:
    return Ticket(
        key="IT-1042",
        type_id="it",
        number=1042,
        title=title,
        requester_id="bob",
        created_at=CLOCK.now(),
        updated_at=CLOCK.now(),
        status=status,
        team_id="ops",
        version=3,
        **kw,
    )


def text_of(message: Any) -> str:
    """Every mrkdwn string a user could see, joined."""
    return json.dumps(message, ensure_ascii=False)


def actions_block(message: Any) -> dict[str, Any]:
    blocks = [b for b in message["blocks"] if b["type"] == "actions"]
    assert len(blocks) == 1
    return blocks[0]  # type: ignore[no-any-return]


def action_ids(message: Any) -> list[str]:
    return [e["action_id"] for e in actions_block(message)["elements"]]


@pytest.mark.parametrize(
    "typed",
    ["<!channel> help", "<@U123> look", "<http://evil.example|click me>", "fish & chips"],
)
def test_user_text_in_title_and_body_shows_literally(typed: str) -> None:
    card = build_card(ticket(title=typed, description=f"{typed} again"), CTX, "en")

    message = render_card(card)

    escaped = typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert escaped in message["blocks"][0]["text"]["text"]
    assert any(escaped in b.get("text", {}).get("text", "") for b in message["blocks"][1:])
    assert typed not in text_of(message)
    assert "<!channel>" not in message["text"]


def test_heading_is_bold_key_and_title_with_a_status_dot() -> None:
    message = render_card(build_card(ticket(), CTX, "en"))

    assert message["blocks"][0]["text"]["text"] == "*IT-1042 Printer jammed*"
    assert message["blocks"][1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": ":white_circle: New"}],
    }
    assert message["text"].startswith("IT-1042 Printer jammed")


def test_new_unassigned_ticket_offers_claim_resolve_reassign_priority_cancel_comment() -> None:
    message = render_card(build_card(ticket(), CTX, "en"))

    assert action_ids(message) == [
        "tkt.claim",
        "tkt.resolve",
        "tkt.assign",
        "tkt.set_priority",
        "tkt.cancel",
        "tkt.comment",
    ]
    block = actions_block(message)
    assert block["block_id"] == "tkt:IT-1042:3"
    claim, _, assign, priority, cancel, comment = block["elements"]
    assert claim["value"] == "IT-1042|3"
    assert claim["style"] == "primary"
    assert assign["type"] == "static_select"
    assert [o["value"] for o in assign["options"]] == ["ada"]
    assert [o["value"] for o in priority["options"]] == ["urgent", "high", "normal", "low"]
    assert cancel["style"] == "danger"
    assert cancel["confirm"]["style"] == "danger"
    assert cancel["confirm"]["text"]["text"] == "Cancel this ticket?"
    assert comment["type"] == "button"
    assert "style" not in comment


def test_assigned_ticket_offers_accept_instead_of_claim() -> None:
    message = render_card(build_card(ticket(Status.ASSIGNED, assignee_id="ada"), CTX, "zh-CN"))

    assert action_ids(message)[0] == "tkt.accept"
    assert actions_block(message)["elements"][0]["text"]["text"] == "受理"


def test_resolved_ticket_offers_only_close_reopen_and_comment_and_a_green_dot() -> None:
    message = render_card(build_card(ticket(Status.RESOLVED), CTX, "en"))

    assert action_ids(message) == ["tkt.close", "tkt.reopen", "tkt.comment"]
    assert message["blocks"][1]["elements"][0]["text"].startswith(":large_green_circle:")


def test_person_select_without_people_is_left_out() -> None:
    card = build_card(ticket(), CTX, "en")
    lonely = replace(
        card,
        actions=tuple(
            replace(a, options=()) if a.kind == ActionKind.PERSON_SELECT else a
            for a in card.actions
        ),
    )

    assert "tkt.assign" not in action_ids(render_card(lonely))


def _card(**kw: Any) -> Card:
    base = Card(
        ticket_key="IT-1",
        version=1,
        title="t",
        status=Status.NEW,
        status_label="New",
        colour=Colour.GREY,
        fields=(),
        actions=(),
        locale="en",
    )
    return replace(base, **kw)


def test_long_labels_bodies_and_many_fields_are_clipped_to_slack_limits() -> None:
    card = _card(
        title="x" * 5000,
        body="<" * 4000,
        fields=tuple(CardField(f"f{i}", "v" * 3000) for i in range(120)),
        actions=(CardAction(Action.RESOLVE, "R" * 200, confirm="c" * 999),),
    )

    message = render_card(card)

    assert len(message["blocks"]) <= 50
    for block in message["blocks"]:
        if "text" in block:
            assert len(block["text"]["text"]) <= 3000
        for f in block.get("fields", []):
            assert len(f["text"]) <= 2000
        assert len(block.get("fields", [])) <= 10
    body = next(
        b for b in message["blocks"] if b.get("text", {}).get("text", "").startswith("&lt;")
    )
    assert body["text"]["text"].endswith("&lt;…")  # never a half entity like "&l…"
    button = actions_block(message)["elements"][0]
    assert len(button["text"]["text"]) == 75
    assert len(button["confirm"]["text"]["text"]) <= 300
    assert len(message["text"]) <= 3000


def test_more_than_25_actions_spill_into_a_second_actions_block_with_its_own_id() -> None:
    many = tuple(CardAction(Action.COMMENT, f"b{i}") for i in range(30))

    blocks = [b for b in render_card(_card(actions=many))["blocks"] if b["type"] == "actions"]

    assert [len(b["elements"]) for b in blocks] == [25, 5]
    assert [b["block_id"] for b in blocks] == ["tkt:IT-1:1", "tkt:IT-1:1:1"]


def test_the_sla_line_names_its_target() -> None:
    due = {"first_response": "2026-01-05T05:00:00+00:00", "resolution": "2026-01-06T01:00:00+00:00"}
    shown = render_card(build_card(ticket(sla={"due": due}), CTX, "en"))
    zh = render_card(build_card(ticket(sla={"due": due}), CTX, "zh-CN"))

    assert "SLA due (first response)" in text_of(shown)
    assert "SLA 截止（首次响应）" in text_of(zh)
