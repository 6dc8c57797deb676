"""Ticket types as Slack modals, and what comes back from them."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.slack.render import form_errors, form_values, render_form
from core.errors import FieldError, FormInvalid
from core.forms import FieldKind, FieldSpec, Option, TicketType, validate_fields
from core.i18n import Text
from core.people import Person, StaticDirectory

PEOPLE = [Person("ada", Text("Ada", "阿达")), Person("bob", Text("Bob", "鲍勃"))]
SITE = FieldSpec(
    "site",
    FieldKind.SELECT,
    Text("Site", "地点"),
    required=True,
    options=(Option("bj", Text("Beijing", "北京")), Option("sh", Text("Shanghai", "上海"))),
)
TYPE = TicketType(
    "it",
    "IT",
    Text("IT support desk for everyone", "IT 支持"),
    fields=(
        SITE,
        FieldSpec("summary", FieldKind.TEXT, Text("Summary"), max=80, min=3),
        FieldSpec("details", FieldKind.LONG_TEXT, Text("Details"), help=Text("Steps", "步骤")),
        FieldSpec("amount", FieldKind.NUMBER, Text("Amount"), min=0, max=500),
        FieldSpec(
            "tags",
            FieldKind.MULTI_SELECT,
            Text("Tags"),
            max=2,
            options=(Option("hw", Text("Hardware")), Option("net", Text("Network"))),
        ),
        FieldSpec("due", FieldKind.DATE, Text("Due")),
        FieldSpec("approver", FieldKind.PERSON, Text("Approver", "审批人")),
        FieldSpec("photos", FieldKind.ATTACHMENT, Text("Photos", "照片")),
    ),
)


def blocks_by_id(view: Any) -> dict[str, Any]:
    return {b["block_id"]: b for b in view["blocks"]}


def test_form_is_a_modal_with_one_block_per_field_after_title_and_description() -> None:
    view = render_form(TYPE, "en", PEOPLE, {}, private_metadata='{"type":"it"}')

    assert view["type"] == "modal"
    assert view["callback_id"] == "tkt.form"
    assert view["private_metadata"] == '{"type":"it"}'
    assert len(view["title"]["text"]) <= 24
    assert [b["block_id"] for b in view["blocks"]] == [
        "title",
        "description",
        "site",
        "summary",
        "details",
        "amount",
        "tags",
        "due",
        "approver",
        "photos",
    ]


def test_each_field_kind_gets_its_native_element() -> None:
    blocks = blocks_by_id(render_form(TYPE, "en", PEOPLE, {}, ""))
    kinds = {bid: b["element"]["type"] for bid, b in blocks.items() if b["type"] == "input"}

    assert kinds == {
        "title": "plain_text_input",
        "description": "plain_text_input",
        "site": "static_select",
        "summary": "plain_text_input",
        "details": "plain_text_input",
        "amount": "number_input",
        "tags": "multi_static_select",
        "due": "datepicker",
        "approver": "static_select",
    }
    assert blocks["details"]["element"]["multiline"] is True
    assert blocks["details"]["hint"]["text"] == "Steps"
    assert blocks["summary"]["element"]["max_length"] == 80
    assert blocks["summary"]["element"]["min_length"] == 3
    assert blocks["amount"]["element"]["max_value"] == "500"
    assert blocks["tags"]["element"]["max_selected_items"] == 2
    assert blocks["site"]["optional"] is False
    assert blocks["due"]["optional"] is True
    assert all(
        b["element"]["action_id"] == "value" for b in blocks.values() if b["type"] == "input"
    )


def test_people_are_offered_by_our_ids_not_slack_users() -> None:
    blocks = blocks_by_id(render_form(TYPE, "zh-CN", PEOPLE, {}, ""))

    options = blocks["approver"]["element"]["options"]
    assert [(o["value"], o["text"]["text"]) for o in options] == [("ada", "阿达"), ("bob", "鲍勃")]


def test_attachments_are_a_note_not_an_input() -> None:
    photos = blocks_by_id(render_form(TYPE, "zh-CN", PEOPLE, {}, ""))["photos"]

    assert photos["type"] == "context"
    assert "照片" in photos["elements"][0]["text"]


def test_prefill_sets_initial_values() -> None:
    prefill = {
        "title": "Printer jammed",
        "site": "sh",
        "tags": ["net"],
        "due": "2026-03-01",
        "amount": 12,
        "approver": "bob",
    }

    blocks = blocks_by_id(render_form(TYPE, "en", PEOPLE, prefill, ""))

    assert blocks["title"]["element"]["initial_value"] == "Printer jammed"
    assert blocks["site"]["element"]["initial_option"]["value"] == "sh"
    assert [o["value"] for o in blocks["tags"]["element"]["initial_options"]] == ["net"]
    assert blocks["due"]["element"]["initial_date"] == "2026-03-01"
    assert blocks["amount"]["element"]["initial_value"] == "12"
    assert blocks["approver"]["element"]["initial_option"]["value"] == "bob"


def test_oversized_private_metadata_is_refused() -> None:
    with pytest.raises(ValueError, match="3000"):
        render_form(TYPE, "en", PEOPLE, {}, "x" * 3001)


def test_submitted_state_reads_back_into_values_core_accepts() -> None:
    state: dict[str, dict[str, dict[str, Any]]] = {
        "site": {"value": {"type": "static_select", "selected_option": {"value": "bj"}}},
        "summary": {"value": {"type": "plain_text_input", "value": "No paper"}},
        "details": {"value": {"type": "plain_text_input", "value": None}},
        "amount": {"value": {"type": "number_input", "value": "42.5"}},
        "tags": {"value": {"type": "multi_static_select", "selected_options": [{"value": "hw"}]}},
        "due": {"value": {"type": "datepicker", "selected_date": "2026-03-01"}},
        "approver": {"value": {"type": "static_select", "selected_option": None}},
    }

    values = form_values(state)

    assert values == {
        "site": "bj",
        "summary": "No paper",
        "details": None,
        "amount": "42.5",
        "tags": ["hw"],
        "due": "2026-03-01",
        "approver": None,
    }
    assert validate_fields(TYPE, values, StaticDirectory(PEOPLE))["amount"] == 42.5


def test_core_validation_errors_become_inline_modal_errors() -> None:
    with pytest.raises(FormInvalid) as caught:
        validate_fields(TYPE, {"amount": "900"}, StaticDirectory(PEOPLE))

    response = form_errors(caught.value, "en")

    assert response["response_action"] == "errors"
    assert response["errors"] == {
        "site": "this field is required",
        "amount": "must be at most 500",
    }
    # beside the fields of the reader's own modal, in the reader's language
    assert form_errors(caught.value, "zh-CN")["errors"] == {
        "site": "此项必填",
        "amount": "不能大于 500",
    }


def test_errors_for_fields_without_a_block_land_under_the_title() -> None:
    exc = FormInvalid(
        [FieldError("type", "unknown", "unknown ticket type"), FieldError("site", "required", "x")]
    )

    response = form_errors(exc, "en", block_ids={"title", "site"})

    assert response["errors"] == {"title": "unknown ticket type", "site": "x"}
