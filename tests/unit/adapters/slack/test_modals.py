"""The small Slack-only modals: type picker, comment box, and where a submission goes."""

from __future__ import annotations

import json

from adapters.kit.intake import title_from as first_line
from adapters.slack.modals import (
    COMMENT_CALLBACK_ID,
    PICK_CALLBACK_ID,
    comment_modal,
    metadata,
    read_metadata,
    say,
    type_picker,
)
from core.forms import TicketType
from core.i18n import Text

TYPES = [
    TicketType("it", "IT", Text("IT request", "IT 服务")),
    TicketType("purchase", "PR", Text("Purchase request", "采购申请")),
]


def test_type_picker_offers_every_type_in_the_channel_language() -> None:
    view = type_picker(TYPES, "zh-CN", metadata(channel="C1"))

    [block] = view["blocks"]
    labels = [o["text"]["text"] for o in block["element"]["options"]]
    assert view["callback_id"] == PICK_CALLBACK_ID
    assert labels == ["IT 服务", "采购申请"]
    assert json.loads(view["private_metadata"]) == {"channel": "C1"}


def test_comment_modal_names_the_ticket_and_remembers_the_card() -> None:
    info = metadata(key="IT-1", channel="C1", thread=None, message="1.000001")
    view = comment_modal("IT-1", "en", info)

    assert view["callback_id"] == COMMENT_CALLBACK_ID
    assert view["blocks"][0]["label"]["text"] == "Comment on IT-1"
    assert read_metadata(view["private_metadata"]) == {
        "key": "IT-1",
        "channel": "C1",
        "message": "1.000001",
    }


def test_unreadable_metadata_means_no_destination() -> None:
    assert read_metadata("not json") == {}
    assert read_metadata("[1, 2]") == {}


def test_title_is_the_first_non_empty_line_clipped_to_200() -> None:
    assert first_line("\n  printer jammed  \nsince monday") == "printer jammed"
    assert len(first_line("x" * 500)) == 200


def test_notices_come_in_both_languages() -> None:
    assert say("opened", key="IT-1", title="VPN") == {
        "zh-CN": "已创建工单 IT-1：VPN",
        "en": "Ticket IT-1 opened: VPN",
    }
