"""A person's notice row as the dispatcher renders it: every line in the reader's language."""

from __future__ import annotations

from typing import Any

from bot.delivery.flight import line_text, notice_line, text_of
from core.i18n import Locale
from storage.outbox import OutboxItem
from tests.unit.core.fakes import make_context

ACCEPTED: dict[Locale, str] = {
    "zh-CN": "IT-1 打印机：李雷 已受理。",
    "en": "IT-1 打印机: accepted by Li Lei.",
}
RESOLVED: dict[Locale, str] = {
    "zh-CN": "IT-1 打印机：李雷 已解决。",
    "en": "IT-1 打印机: resolved by Li Lei.",
}


def row(payload: dict[str, Any]) -> OutboxItem:
    target = {"channel": "webchat", "conversation": "dm:zhao.li"}
    return OutboxItem(1, "webchat", "notice", 1, "IT-1", target, payload, 0, None)


def test_a_coalesced_row_is_rendered_line_by_line_in_each_language() -> None:
    # storage joins the lines into one `text` without knowing what they hold: it is not read
    lines = [notice_line(ACCEPTED), notice_line(RESOLVED)]
    item = row({"text": {"zh-CN": "\n".join(lines), "en": "\n".join(lines)}, "lines": lines})
    ctx = make_context()

    assert (
        text_of(item, None, ctx, "zh-CN")
        == "IT-1 打印机：李雷 已受理。\nIT-1 打印机：李雷 已解决。"
    )
    assert text_of(item, None, ctx, "en") == (
        "IT-1 打印机: accepted by Li Lei.\nIT-1 打印机: resolved by Li Lei."
    )


def test_a_line_queued_before_lines_carried_both_languages_is_shown_as_written() -> None:
    old = "IT-1 打印机：李雷 已受理。"
    item = row({"text": {"zh-CN": old, "en": old}, "lines": [old, notice_line(RESOLVED)]})

    assert text_of(item, None, make_context(), "en") == f"{old}\nIT-1 打印机: resolved by Li Lei."
    assert line_text("{not json", "en") == "{not json"
    assert line_text('["a list"]', "en") == '["a list"]'
    assert line_text('{"fr": "bonjour"}', "en") == '{"fr": "bonjour"}'


def test_a_team_line_without_lines_is_its_text() -> None:
    item = row({"text": {"zh-CN": "⏰ 超时", "en": "⏰ late"}, "key": "IT-1/x"})
    assert text_of(item, None, make_context(), "en") == "⏰ late"
