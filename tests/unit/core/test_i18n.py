"""Every message and label exists in both languages."""

from __future__ import annotations

import pytest

from core.i18n import _MESSAGES, LOCALES, Locale, Text, as_locale, both, has, t
from core.ticket import Priority, Status
from core.workflow import Action

KEYS_CORE_USES = [
    *(f"status.{s.value}" for s in Status),
    *(f"priority.{p.value}" for p in Priority),
    *(f"action.{a.value}" for a in Action),
    "reason.not_assignee",
    "reason.not_team",
    "reason.not_involved",
    "reason.not_requester_or_lead",
    "reason.not_support",
    "reason.not_editor",
    *(f"chat.help.{name}" for name in ("new", "mine", "queue", "status", "close", "note", "help")),
    "notice.accepted",
    "notice.waiting_question",
    "notice.resolved_with",
    "notice.taken_over",
    "err.version_conflict",
    "err.already_accepted",
    "err.already_assigned",
    "err.already_priority",
    "err.already_in_state",
    "err.not_allowed_in_state",
    "err.forbidden",
    "err.not_found",
    "confirm.cancel",
    "nobody",
    "queue",
]


@pytest.mark.parametrize("key", KEYS_CORE_USES)
def test_every_label_core_shows_is_translated(key: str) -> None:
    assert has(key)
    zh, en = t(key, "zh-CN"), t(key, "en")
    assert zh != key
    assert en != key


# English quotes with typographic marks too (“Resolve”), the one non-ASCII it uses
_EN_QUOTES = str.maketrans("", "", "“”")


@pytest.mark.parametrize("key", KEYS_CORE_USES)
def test_chinese_labels_are_written_in_chinese(key: str) -> None:
    assert not t(key, "zh-CN").isascii()
    assert t(key, "en").translate(_EN_QUOTES).isascii()


@pytest.mark.parametrize("key", sorted(_MESSAGES))
def test_messages_quote_with_typographic_marks_never_straight_ones(key: str) -> None:
    for locale in LOCALES:
        assert '"' not in t(key, locale)


def test_a_refusal_quotes_the_button_it_names_as_the_rest_of_the_product_does() -> None:
    params = {"action": "Resolve", "key": "IT-7", "reason": "only the assignee may do that"}
    assert t("err.forbidden", "en", **params) == (
        "You cannot use “Resolve” on IT-7: only the assignee may do that."
    )
    assert t("chat.already", "en", key="IT-7", title="VPN", status="closed") == (
        "IT-7 “VPN” is already closed."
    )


def test_messages_fill_in_their_placeholders() -> None:
    assert t("err.already_accepted", "zh-CN", who="李雷") == "已被 李雷 受理。"
    assert t("err.already_accepted", "en", who="Li Lei") == "Already accepted by Li Lei."
    assert t("msg.opened", "en", key="IT-1", title="VPN") == "Ticket IT-1 opened: VPN"


def test_unknown_key_comes_back_as_itself_so_gaps_show() -> None:
    assert t("action.teleport", "en") == "action.teleport"
    assert not has("action.teleport")


def test_both_gives_every_locale() -> None:
    assert both("err.not_found", key="IT-7") == {
        "zh-CN": "找不到工单 IT-7。",
        "en": "No ticket IT-7.",
    }
    assert tuple(both("queue")) == LOCALES


@pytest.mark.parametrize(
    ("raw", "locale"),
    [
        ("zh", "zh-CN"),
        ("zh_CN", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("en-US", "en"),
        ("EN", "en"),
        ("fr", "zh-CN"),
        ("", "zh-CN"),
        (None, "zh-CN"),
    ],
)
def test_loose_locale_names_map_onto_supported_ones(raw: str | None, locale: Locale) -> None:
    assert as_locale(raw) == locale


def test_unsupported_locale_uses_the_given_default() -> None:
    assert as_locale("de", default="en") == "en"


def test_text_falls_back_to_the_language_it_has() -> None:
    assert Text("Laptop", "笔记本").get("zh-CN") == "笔记本"
    assert Text("Laptop").get("zh-CN") == "Laptop"
    assert Text("", "笔记本").get("en") == "笔记本"


def test_text_shows_both_languages_to_the_web_page_each_falling_back() -> None:
    assert Text("Laptop", "笔记本").to_json() == {"zh-CN": "笔记本", "en": "Laptop"}
    assert Text("Laptop").to_json() == {"zh-CN": "Laptop", "en": "Laptop"}


def test_text_is_built_from_config_values() -> None:
    label = Text("VPN", "VPN 权限")
    assert Text.of(label) is label
    assert Text.of("IT") == Text("IT", "IT")
    assert Text.of({"en": "Desk", "zh-CN": "工位"}) == Text("Desk", "工位")
    assert Text.of({"en": "Desk", "zh": "座位"}) == Text("Desk", "座位")
    assert Text.of({"zh": "座位"}) == Text("", "座位")
