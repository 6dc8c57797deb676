"""Telling chat messages apart: commands, chatter, follow-ups, key mentions, new tickets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.conversation import (
    ChatCommand,
    ChatMessage,
    CommandName,
    ConversationRules,
    ConversationView,
    Kind,
    RecentTicket,
    classify,
    parse_command,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULES = ConversationRules()
PREFIXES = frozenset({"IT", "FAC"})


def said(text: str, **kwargs: object) -> ChatMessage:
    return ChatMessage(text, "zhangwei", "helpdesk", NOW, **kwargs)  # type: ignore[arg-type]


def view(
    opened_ago: timedelta | None = None, *, told: bool = False, **kw: object
) -> ConversationView:
    last = RecentTicket("IT-1001", NOW - opened_ago, told) if opened_ago is not None else None
    return ConversationView(last, PREFIXES, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    ["谢谢", "谢谢！", "好的", "收到", "收到。", "好的呀", "ok", "OK!", "ＯＫ", "thanks", "Thank you.",
     "got it", "👍", "🙏🏻", "👍👍", "😀 😀", "...", "？"],
)  # fmt: skip
def test_chatter_opens_nothing_in_either_language(text: str) -> None:
    assert classify(said(text), view(), RULES).kind is Kind.CHATTER


def test_chatter_right_after_opening_is_not_added_to_the_ticket() -> None:
    assert classify(said("谢谢"), view(timedelta(minutes=1)), RULES).kind is Kind.CHATTER


def test_the_chatter_list_is_configurable_per_language() -> None:
    rules = ConversationRules.of({"en": ["cheers"], "zh-CN": ["多谢啦"]})
    assert classify(said("Cheers!"), view(), rules).kind is Kind.CHATTER
    assert classify(said("多谢啦"), view(), rules).kind is Kind.CHATTER
    # the defaults are replaced, not extended
    assert classify(said("谢谢"), view(), rules).kind is Kind.NEW_TICKET


def test_a_sentence_that_starts_with_thanks_is_not_chatter() -> None:
    result = classify(said("thanks, but the VPN is still down"), view(), RULES)
    assert result.kind is Kind.NEW_TICKET


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("/help", ChatCommand(CommandName.HELP)),
        ("/帮助", ChatCommand(CommandName.HELP)),
        ("/new", ChatCommand(CommandName.NEW)),
        ("/new purchase", ChatCommand(CommandName.NEW, type_id="purchase")),
        ("/mine", ChatCommand(CommandName.MINE)),
        ("/我的", ChatCommand(CommandName.MINE)),
        ("/queue", ChatCommand(CommandName.QUEUE)),
        ("/status IT-1001", ChatCommand(CommandName.STATUS, key="IT-1001")),
        ("/状态 it-1001", ChatCommand(CommandName.STATUS, key="IT-1001")),
        ("/close IT-1001", ChatCommand(CommandName.CLOSE, key="IT-1001")),
        ("/note IT-1001 用户说是第二次", ChatCommand(CommandName.NOTE, key="IT-1001", text="用户说是第二次")),
        ("／备注 IT-1001 second time", ChatCommand(CommandName.NOTE, key="IT-1001", text="second time")),
    ],
)  # fmt: skip
def test_commands_in_both_languages(text: str, command: ChatCommand) -> None:
    result = classify(said(text), view(timedelta(minutes=1)), RULES)
    assert result.kind is Kind.COMMAND
    assert result.command == command


def test_an_unknown_command_gets_help_not_a_ticket() -> None:
    result = classify(said("/list"), view(), RULES)
    assert result.kind is Kind.COMMAND
    assert result.command == ChatCommand(CommandName.HELP, unknown="/list")


@pytest.mark.parametrize(
    ("text", "usage"),
    [("/status", CommandName.STATUS), ("/close 打印机", CommandName.CLOSE),
     ("/note IT-1001", CommandName.NOTE)],
)  # fmt: skip
def test_a_command_missing_its_arguments_shows_its_usage(text: str, usage: CommandName) -> None:
    assert parse_command(text) == ChatCommand(CommandName.HELP, usage_of=usage)


def test_a_lone_slash_or_a_path_is_not_a_command() -> None:
    assert parse_command("/") is None
    assert classify(said("/ 打印机坏了"), view(), RULES).kind is Kind.NEW_TICKET


@pytest.mark.parametrize(
    "text", ["IT-1001 还是没修好", "it-1001 still broken", "还是没修好IT-1001"]
)
def test_a_message_naming_a_ticket_key_comments_on_it(text: str) -> None:
    result = classify(said(text), view(), RULES)
    assert (result.kind, result.ticket_key, result.body) == (Kind.KEY_MENTION, "IT-1001", text)


def test_a_key_with_an_unknown_prefix_or_inside_a_word_is_not_a_mention() -> None:
    assert classify(said("HR-12 离职手续"), view(), RULES).kind is Kind.NEW_TICKET
    assert classify(said("WIFI-1001 的路由器坏了"), view(), RULES).kind is Kind.NEW_TICKET


def test_a_bare_key_shows_the_ticket() -> None:
    result = classify(said("IT-1001？"), view(), RULES)
    assert result.command == ChatCommand(CommandName.STATUS, key="IT-1001")


def test_a_follow_up_within_the_window_is_added_and_told_once() -> None:
    first = classify(said("是 3 楼那台"), view(timedelta(minutes=2)), RULES)
    assert (first.kind, first.ticket_key, first.tell) == (Kind.FOLLOW_UP, "IT-1001", True)
    second = classify(said("型号 HP M404"), view(timedelta(minutes=3), told=True), RULES)
    assert (second.kind, second.tell) == (Kind.FOLLOW_UP, False)


def test_a_message_after_the_window_opens_a_new_ticket() -> None:
    assert classify(said("显示器也坏了"), view(timedelta(minutes=6)), RULES).kind is Kind.NEW_TICKET
    longer = ConversationRules(follow_up_window=timedelta(minutes=10))
    assert classify(said("显示器也坏了"), view(timedelta(minutes=6)), longer).kind is Kind.FOLLOW_UP


def test_a_reply_in_a_cards_thread_comments_on_that_card_even_when_it_is_thanks() -> None:
    result = classify(said("谢谢", card_key="IT-1042"), view(timedelta(minutes=1)), RULES)
    assert (result.kind, result.ticket_key) == (Kind.CARD_REPLY, "IT-1042")


def test_outside_a_help_desk_room_only_mentions_count() -> None:
    group = view(help_desk=False)
    assert classify(said("打印机坏了"), group, RULES).kind is Kind.IGNORE
    assert classify(said("打印机坏了", mentions_bot=True), group, RULES).kind is Kind.NEW_TICKET
    assert classify(said("/mine"), group, RULES).kind is Kind.COMMAND


def test_anything_else_is_a_new_ticket_with_the_text_as_its_body() -> None:
    result = classify(said("  VPN 连不上  "), view(), RULES)
    assert (result.kind, result.body) == (Kind.NEW_TICKET, "VPN 连不上")
