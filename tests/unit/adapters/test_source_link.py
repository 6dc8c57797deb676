"""A ticket made from a chat message links back to it on its card, in every channel's markup."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest

from adapters.email.render import card_html, card_text
from adapters.slack.render import render_card as slack_card
from adapters.webchat.render import render_card as web_card
from core.card import Card, build_card
from core.escalation import NoticeKind
from core.i18n import Locale
from core.notice_card import build_notice_card
from core.quiet_hours import DeliveryRoute
from core.ticket import ChannelRef, Status, Ticket
from core.timekeeping import Notice
from tests.unit.core.fakes import make_context

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)
CTX = make_context()
LINK = "https://acme.slack.com/archives/C024BE91L/p1767600000000777"
REPLY_LINK = LINK + "?thread_ts=1767600000.000001&cid=C024BE91L"


def card(link: str | None, locale: Locale = "en") -> Card:
    origin = ChannelRef("slack", "C024BE91L", "1767600000.000777", "1767600000.000777", link)
    ticket = Ticket(
        key="IT-1001",
        type_id="it",
        number=1001,
        title="wifi 又断了 <!channel>",
        requester_id="zhangwei",
        created_at=NOW,
        updated_at=NOW,
        team_id="it",
        status=Status.NEW,
        origin=origin,
    )
    return build_card(ticket, CTX, locale)


def context_lines(message: Any) -> list[str]:
    return [e["text"] for b in message["blocks"] if b["type"] == "context" for e in b["elements"]]


@pytest.mark.parametrize(
    ("locale", "line"),
    [
        ("en", f"Source: <{LINK}|original message>"),
        ("zh-CN", f"来源：<{LINK}|原消息>"),
    ],
)
def test_slack_card_has_a_quiet_context_line_linking_to_the_source(
    locale: Locale, line: str
) -> None:
    message = slack_card(card(LINK, locale))

    assert line in context_lines(message)
    # below the body, above the buttons
    kinds = [b["type"] for b in message["blocks"]]
    assert kinds.index("actions") == len(kinds) - 1
    assert message["blocks"][-2] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": line}],
    }


def test_a_reply_link_keeps_its_thread_with_the_ampersand_escaped_for_mrkdwn() -> None:
    message = slack_card(card(REPLY_LINK))

    expected = REPLY_LINK.replace("&", "&amp;")
    assert f"Source: <{expected}|original message>" in context_lines(message)


def test_a_ticket_without_a_source_message_has_no_source_line() -> None:
    built = card(None)

    assert built.source is None
    assert "Source" not in str(slack_card(built)) and "card__source" not in web_card(built)


@pytest.mark.parametrize(
    "bad",
    [
        "javascript:alert(1)",
        "https://acme.slack.com/x|<!channel>",
        "https://acme.slack.com/a> <@U1",
        'https://acme.slack.com/" onmouseover="x',
        "data:text/html,hi",
        "https:///nohost",
        "https://someone@evil.example/phish",
        "https://acme.slack.com/it's",
        "https://acme .slack.com/",
        "https://例子.公司/archives",
        "https://acme.slack.com/" + "p" * 2000,
    ],
)
def test_only_a_safe_http_link_is_shown(bad: str) -> None:
    built = card(bad)

    assert built.source is None
    assert bad not in str(slack_card(built)) and bad not in web_card(built)


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[dict[str, str | None]] = []
        self.texts: list[str] = []
        self._in_a = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))
            self._in_a = True

    def handle_endtag(self, tag: str) -> None:
        self._in_a = self._in_a and tag != "a"

    def handle_data(self, data: str) -> None:
        if self._in_a:
            self.texts.append(data)


def test_web_chat_card_links_to_the_source_in_a_new_tab() -> None:
    html = web_card(card(REPLY_LINK, "zh-CN"))
    parser = _Anchors()
    parser.feed(html)

    assert parser.anchors == [
        {"href": REPLY_LINK, "target": "_blank", "rel": "noopener"},
    ]
    assert parser.texts == ["原消息"]
    assert '<p class="card__source">来源：<a' in html


def test_mail_shows_the_source_as_words_and_the_plain_url() -> None:
    built = card(LINK)

    text = card_text(built)
    html = card_html(built)

    assert f"Source: original message <{LINK}>" in text.splitlines()
    assert f'Source: <a href="{LINK}">original message</a>' in html


@pytest.mark.parametrize(
    "good",
    [
        "https://acme.slack.com/archives/C024BE91L/p1767600000000777",
        "https://acme.slack.com/archives/C1/p1767600000000888?thread_ts=1767600000.000777&cid=C1",
        "http://intranet.acme.example:8080/tickets/IT-1042#comments",
    ],
)
def test_a_permalink_or_intranet_link_is_shown(good: str) -> None:
    assert card(good).source is not None


def test_reminder_and_escalation_cards_link_to_the_source_too() -> None:
    ticket = Ticket(
        key="IT-1001",
        type_id="it",
        number=1001,
        title="wifi 又断了",
        requester_id="zhangwei",
        created_at=NOW,
        updated_at=NOW,
        team_id="it",
        status=Status.NEW,
        origin=ChannelRef("slack", "C024BE91L", None, "1767600000.000777", LINK),
    )
    for kind in (NoticeKind.REMINDER, NoticeKind.ESCALATION):
        notice = Notice(
            kind, "IT-1001", "lilei", NOW, DeliveryRoute.NORMAL, f"IT-1001/{kind}", "created", None
        )
        built = build_notice_card(ticket, CTX, "en", notice)

        assert built.source is not None and built.source.url == LINK
        assert f"Source: <{LINK}|original message>" in context_lines(slack_card(built))
