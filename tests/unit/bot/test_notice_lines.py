"""A person's notice lines joined into one message keep every language (storage.coalesce), and
the dispatcher sends each reader theirs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.delivery.flight import text_of
from core.i18n import Locale
from core.ticket import ChannelRef
from storage.coalesce import coalesce_notices
from storage.outbox import OutboxItem
from storage.unit_of_work import Send
from tests.unit.core.fakes import make_context

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
ROOM = ChannelRef("webchat", "dm:zhao.li")
ACCEPTED: dict[Locale, str] = {
    "zh-CN": "IT-1 打印机：李雷 已受理。",
    "en": "IT-1 打印机: accepted by Li Lei.",
}
RESOLVED: dict[Locale, str] = {
    "zh-CN": "IT-1 打印机：李雷 已解决。",
    "en": "IT-1 打印机: resolved by Li Lei.",
}


def line(texts: dict[Locale, str]) -> Send:
    """A line as bot.delivery.notices.NoticeRouter queues it."""
    payload = {"text": texts, "lines": [texts], "person": "zhao.li"}
    return Send("IT-1", ROOM, "notice", payload, NOW, coalesce=True)


def row(payload: dict[str, Any]) -> OutboxItem:
    return OutboxItem(1, "webchat", "notice", 1, "IT-1", ROOM.to_json(), payload, 0, None)


async def joined(*sends: Send) -> list[Send]:
    # a ticket opened in the same batch has no stored rows to join: no statement is run
    no_database = cast(AsyncConnection, None)
    return await coalesce_notices(no_database, list(sends), {"IT-1": 1}, NOW, new_tickets={"IT-1"})


async def test_lines_joined_into_one_message_are_sent_in_each_readers_language() -> None:
    (message,) = await joined(line(ACCEPTED), line(RESOLVED), line(ACCEPTED))
    item, ctx = row(message.payload), make_context()

    assert text_of(item, None, ctx, "zh-CN") == (
        "IT-1 打印机：李雷 已受理。\nIT-1 打印机：李雷 已解决。"
    )
    assert text_of(item, None, ctx, "en") == (
        "IT-1 打印机: accepted by Li Lei.\nIT-1 打印机: resolved by Li Lei."
    )


async def test_a_line_queued_before_lines_carried_both_languages_is_joined_as_written() -> None:
    old = "IT-1 打印机：李雷 已受理。"
    queued_earlier = Send(
        "IT-1", ROOM, "notice", {"text": {"zh-CN": old, "en": old}, "lines": [old]}, NOW, True
    )
    (message,) = await joined(queued_earlier, line(RESOLVED))

    assert message.payload["text"]["en"] == f"{old}\nIT-1 打印机: resolved by Li Lei."
    assert message.payload["text"]["zh-CN"] == f"{old}\nIT-1 打印机：李雷 已解决。"


def test_a_team_line_without_lines_is_its_text() -> None:
    item = row({"text": {"zh-CN": "⏰ 超时", "en": "⏰ late"}, "key": "IT-1/x"})
    assert text_of(item, None, make_context(), "en") == "⏰ late"
