"""Tickets made on Slack link back to the message they came from: on the card and in the API."""

from __future__ import annotations

from typing import Any

from tests.e2e.slack.driver import GENERAL, HELP_DESK, USERS, card_text, slack_service
from tests.fakes.slack import FakeSlack, message_event

WORKSPACE = "https://gongdan-test.slack.com/"  # what the fake's auth.test answers


def _shortcut(fake: FakeSlack, message: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "message_action",
        "callback_id": "tkt.create_from_message",
        "trigger_id": fake.issue_trigger(),
        "team": {"id": fake.team_id, "domain": "gongdan-test"},
        "user": {"id": USERS["li.lei"], "name": "lilei", "team_id": fake.team_id},
        "channel": {"id": GENERAL, "name": "general"},
        "message_ts": message["ts"],
        "message": {"type": "message", "user": USERS["zhao.li"]} | message,
        "response_url": "https://hooks.slack.com/app/T0/1/scrubbed",
    }


async def test_create_ticket_shortcut_card_links_to_the_message_it_was_made_from(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake) as slack:
        message = {"text": "wifi 又断了", "ts": "1767600000.000777"}
        reply = await slack.interact(_shortcut(fake, message))
        [card] = await slack.cards(1)
        ticket = await slack.ticket("IT-1001")

    link = f"{WORKSPACE}archives/{GENERAL}/p1767600000000777"
    assert reply.status == 200
    assert card.thread_ts == "1767600000.000777"
    assert f"<{link}|原消息>" in card_text(card)
    assert ticket["origin"]["link"] == link


async def test_shortcut_on_a_reply_links_to_the_reply_inside_its_thread(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake) as slack:
        message = {
            "text": "still broken after the restart",
            "ts": "1767600000.000900",
            "thread_ts": "1767600000.000100",
        }
        await slack.interact(_shortcut(fake, message))
        [card] = await slack.cards(1)
        ticket = await slack.ticket("IT-1001")

    link = (
        f"{WORKSPACE}archives/{GENERAL}/p1767600000000900?thread_ts=1767600000.000100&cid={GENERAL}"
    )
    assert card.thread_ts == "1767600000.000100"  # the card joins the thread
    assert ticket["origin"]["link"] == link  # and points at the reply, not the thread
    assert f"<{link.replace('&', '&amp;')}|原消息>" in card_text(card)


async def test_mentions_help_desk_messages_and_dms_all_link_back(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake) as slack:
        mention = await slack.mention(USERS["zhao.li"], "打印机卡纸")
        desk = slack.next_ts()
        await slack.event(message_event(USERS["zhao.li"], HELP_DESK, "键盘坏了", desk))
        dm = slack.next_ts()
        await slack.event(message_event(USERS["zhao.li"], "D0ZHAOLI", "need a mouse", dm))
        await slack.cards(3)
        tickets = {t["title"]: t for t in await slack.tickets()}

    def link(channel: str, ts: str) -> str:
        return f"{WORKSPACE}archives/{channel}/p{ts.replace('.', '')}"

    assert tickets["打印机卡纸"]["origin"]["link"] == link(GENERAL, mention)
    assert tickets["键盘坏了"]["origin"]["link"] == link(HELP_DESK, desk)
    assert tickets["need a mouse"]["origin"]["link"] == link("D0ZHAOLI", dm)


async def test_a_ticket_from_slash_command_text_has_no_message_to_link_to(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake) as slack:
        reply = await slack.slash(USERS["zhao.li"], "it 显示器不亮")
        [card] = await slack.cards(1)
        [ticket] = await slack.tickets()

    assert reply.status == 200
    assert "link" not in ticket["origin"]
    assert "原消息" not in card_text(card)
