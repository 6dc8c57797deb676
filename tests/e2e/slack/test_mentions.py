"""Tickets from Slack messages over HTTP: mentions, help-desk channels, DMs, replies, retries."""

from __future__ import annotations

import time

import pytest

from tests.e2e.slack.driver import (
    GENERAL,
    HAN_EMAIL,
    HELP_DESK,
    SECRET,
    STRANGER,
    USERS,
    card_text,
    slack_service,
)
from tests.fakes.slack import FakeSlack, events_request, message_event


async def test_mention_opens_a_ticket_whose_card_accept_updates_in_place(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake) as slack:
        ts = await slack.mention(USERS["zhao.li"], "3楼打印机坏了\n一直卡纸")
        [card] = await slack.cards(1)

        assert card.channel == GENERAL and card.thread_ts is None
        assert "IT-1001 3楼打印机坏了" in card_text(card)
        assert "已分派" in card_text(card)  # zh-CN, the channel's default language
        ticket = await slack.ticket("IT-1001")
        assert ticket["requester"] == "zhao.li" and ticket["assignee"] == "li.lei"

        reply = await slack.click(USERS["li.lei"], card, "tkt.accept")
        await fake.wait_answered("chat.update")

    assert reply.status == 200
    assert fake.message(card.channel, card.ts).edits == 1
    assert "已受理" in card_text(fake.message(card.channel, card.ts))
    assert ts  # the mention itself was never edited or answered in its thread
    assert fake.ephemerals == []


async def test_forged_signature_is_refused_and_nothing_is_written(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake) as slack:
        event = message_event(STRANGER, HELP_DESK, "please fix my laptop", slack.next_ts())
        reply = await slack.event(event, secret="not-the-signing-secret")
        tickets = await slack.tickets()

    assert reply.status == 401
    assert tickets == []
    assert fake.calls_to("chat.postMessage") == []


async def test_stale_timestamp_is_refused_and_nothing_is_written(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake) as slack:
        event = message_event(STRANGER, HELP_DESK, "please fix my laptop", slack.next_ts())
        reply = await slack.event(event, signed_at=int(time.time()) - 6 * 60)
        tickets = await slack.tickets()

    assert reply.status == 401
    assert tickets == []


async def test_same_event_delivered_four_times_makes_one_ticket_and_one_card(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake) as slack:
        event = message_event(STRANGER, HELP_DESK, "VPN 连不上", slack.next_ts())
        replies = [
            await slack.event(event, event_id="Ev0RETRIED01", retry_num=n) for n in (None, 1, 2, 3)
        ]
        await slack.cards(1)
        await slack.settle()
        tickets = await slack.tickets()

    assert [r.status for r in replies] == [200] * 4
    assert len(tickets) == 1
    assert len(fake.calls_to("chat.postMessage")) == 1


async def test_same_message_with_eleven_event_ids_makes_one_ticket(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake) as slack:
        event = message_event(STRANGER, HELP_DESK, "会议室投影仪没信号", slack.next_ts())
        replies = [await slack.event(event, event_id=f"Ev0COPY{n:05d}") for n in range(11)]
        await slack.cards(1)
        await slack.settle()
        tickets = await slack.tickets()

    assert {r.status for r in replies} == {200}
    assert len(tickets) == 1
    assert len(fake.calls_to("chat.postMessage")) == 1


async def test_help_desk_messages_and_dms_open_tickets_but_chatter_elsewhere_does_not(
    db_url: str, fake: FakeSlack
) -> None:
    fake.add_user(STRANGER, "Wang Wu", email="wang.wu@example.com")
    async with slack_service(db_url, fake) as slack:
        await slack.event(message_event(STRANGER, GENERAL, "lunch anyone?", slack.next_ts()))
        await slack.event(message_event(STRANGER, HELP_DESK, "键盘坏了", slack.next_ts()))
        await slack.event(
            message_event(STRANGER, "D0STRANGER", "need a new mouse", slack.next_ts())
        )
        cards = await slack.cards(2)
        tickets = await slack.tickets()

    assert sorted(c.channel for c in cards) == [HELP_DESK, "D0STRANGER"]
    assert len(tickets) == 2
    assert {t["requester"] for t in tickets} == {f"slack:{STRANGER}"}
    assert "Wang Wu" in card_text(cards[0])  # named from users.info


async def test_slack_user_with_a_configured_email_acts_as_that_person(
    db_url: str, fake: FakeSlack
) -> None:
    fake.add_user("U0HAN", "Meimei", email=HAN_EMAIL.upper())
    gate = fake.hold("users.lookupByEmail")  # she writes before the start-up lookup answers
    try:
        async with slack_service(db_url, fake) as slack:
            await slack.mention("U0HAN", "my screen flickers")
            # elsewhere: in the same channel it would be a follow-up on the first
            await slack.mention("U0HAN", "and the mouse too", channel=HELP_DESK)
            await slack.cards(2)
            tickets = await slack.tickets()
    finally:
        gate.set()

    assert [t["requester"] for t in tickets] == ["han.meimei", "han.meimei"]
    assert len(fake.calls_to("users.info")) == 1  # remembered after the first lookup


async def test_reply_in_a_card_thread_becomes_a_comment(db_url: str, fake: FakeSlack) -> None:
    async with slack_service(db_url, fake) as slack:
        await slack.mention(USERS["zhao.li"], "电脑开不了机")
        [card] = await slack.cards(1)
        assert await slack.card_known(card) == "IT-1001"
        reply = message_event(
            USERS["li.lei"], card.channel, "马上到 <!channel>", slack.next_ts(), thread_ts=card.ts
        )
        await slack.event(reply)
        async with slack.svc.http.get(
            slack.svc.url + "/api/v1/tickets/IT-1001/comments", headers=slack.svc.auth("admin")
        ) as r:
            comments = (await r.json())["items"]
        tickets = await slack.tickets()

    assert [(c["author"], c["body"]) for c in comments] == [("li.lei", "马上到 @channel")]
    assert len(tickets) == 1


async def test_comment_made_over_rest_appears_in_the_card_thread(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake) as slack:
        await slack.mention(USERS["zhao.li"], "邮箱满了")
        [card] = await slack.cards(1)
        async with slack.svc.http.post(
            slack.svc.url + "/api/v1/tickets/IT-1001/comments",
            json={"body": "已扩容 <!channel> <http://evil.example|点这里>"},
            headers=slack.svc.auth("li.lei"),
        ) as r:
            assert r.status == 201
        messages = await slack.posted(2)

    [relayed] = [m for m in messages if m.thread_ts == card.ts]
    assert "已扩容" in relayed.text and "李雷" in relayed.text
    assert "<!channel>" not in relayed.text and "&lt;!channel&gt;" in relayed.text
    assert "<http://evil.example|" not in relayed.text


async def test_markup_typed_by_a_user_shows_as_inert_text_on_the_card(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake) as slack:
        await slack.mention(
            USERS["zhao.li"], "ping &lt;!channel&gt; and &lt;@U123&gt; &lt;http://x|y&gt;"
        )
        [card] = await slack.cards(1)

    shown = card_text(card)
    assert "&lt;!channel&gt;" in shown and "&lt;@U123&gt;" in shown
    assert "<!channel>" not in shown and "<@U123>" not in shown and "<http://x|y>" not in shown


async def test_slack_rate_limiting_our_events_is_acknowledged_and_reported_once_a_minute(
    db_url: str, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    notice = {
        "token": "deprecated",
        "type": "app_rate_limited",
        "team_id": fake.team_id,
        "minute_rate_limited": 1518467820,
        "api_app_id": fake.app_id,
    }
    async with slack_service(db_url, fake) as slack:
        first = await slack.deliver(events_request(SECRET, notice, int(time.time())))
        again = await slack.deliver(events_request(SECRET, notice, int(time.time())))
        forged = await slack.deliver(events_request("forged", notice, int(time.time())))
        tickets = await slack.tickets()

    assert (first.status, again.status, forged.status) == (200, 200, 401)
    reports = [r for r in caplog.records if "rate limiting event deliveries" in r.getMessage()]
    assert len(reports) == 1 and reports[0].levelname == "ERROR"
    assert tickets == []
