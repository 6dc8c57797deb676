"""Buttons, modals, /ticket and the "Create ticket" shortcut, over signed HTTP deliveries."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from adapters.contract import CountsCalls
from core.clock import FrozenClock
from tests.e2e.slack.driver import GENERAL, USERS, card_text, slack_service
from tests.fakes.slack import FakeSlack


async def test_click_by_someone_without_the_right_is_explained_to_them_alone(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake) as slack:
        await slack.mention(USERS["zhao.li"], "打印机坏了")
        [card] = await slack.cards(1)
        await slack.card_known(card)

        reply = await slack.click(USERS["zhao.li"], card, "tkt.resolve")
        await fake.wait_answered("chat.postEphemeral")
        ticket = await slack.ticket("IT-1001")

    assert reply.status == 200
    [notice] = fake.ephemerals
    assert notice["user"] == USERS["zhao.li"] and notice["channel"] == card.channel
    assert "IT-1001" in notice["text"] and "解决" in notice["text"]
    assert ticket["status"] == "assigned"
    assert fake.calls_to("chat.update") == []


async def test_double_click_on_accept_changes_the_ticket_once(db_url: str, fake: FakeSlack) -> None:
    async with slack_service(db_url, fake) as slack:
        await slack.mention(USERS["zhao.li"], "网络断了")
        [card] = await slack.cards(1)
        await slack.card_known(card)

        first = await slack.click(USERS["li.lei"], card, "tkt.accept")
        second = await slack.click(USERS["li.lei"], card, "tkt.accept")
        await fake.wait_answered("chat.update")
        await slack.settle()
        async with slack.svc.http.get(
            slack.svc.url + "/api/v1/tickets/IT-1001/events", headers=slack.svc.auth("admin")
        ) as r:
            kinds = [e["kind"] for e in (await r.json())["items"]]

    assert (first.status, second.status) == (200, 200)
    assert kinds.count("TicketAccepted") == 1
    assert fake.message(card.channel, card.ts).edits == 1
    assert "已受理" in card_text(fake.message(card.channel, card.ts))


async def test_rate_limited_card_update_waits_for_retry_after_and_ends_correct(
    db_url: str,
) -> None:
    clock = FrozenClock()
    fake = FakeSlack(clock=clock)
    await fake.start()
    try:
        async with slack_service(db_url, fake, clock=clock) as slack:
            await slack.mention(USERS["zhao.li"], "服务器告警")
            [card] = await slack.cards(1)
            await slack.card_known(card)
            fake.fail_next("chat.update", status=429, retry_after=30)
            limited_at = clock.now()

            await slack.click(USERS["li.lei"], card, "tkt.accept")
            await fake.wait_answered("chat.update")  # the 429
            for seconds in (0, 10, 29):
                clock.set(limited_at + timedelta(seconds=seconds))
                await slack.settle()
                assert len(fake.calls_to("chat.update")) == 1, f"called again at +{seconds}s"

            clock.set(limited_at + timedelta(seconds=31))
            await slack.settle()
            await fake.wait_answered("chat.update", 2)
            channel = slack.svc.services.channels["slack"]
            assert isinstance(channel, CountsCalls)
            counted = dict(channel.platform_calls.counts)  # what /metrics shows
    finally:
        await fake.stop()

    assert counted[("chat.update", "throttled")] == 1 and counted[("chat.update", "ok")] == 1
    limited, retried = fake.calls_to("chat.update")
    assert retried.at - limited.at >= timedelta(seconds=30)
    assert "已受理" in card_text(fake.message(card.channel, card.ts))


async def test_comment_button_opens_a_modal_whose_submission_adds_a_comment(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake) as slack:
        await slack.mention(USERS["zhao.li"], "显示器闪屏")
        [card] = await slack.cards(1)
        await slack.card_known(card)

        await slack.click(USERS["li.lei"], card, "tkt.comment")
        [modal] = fake.views
        reply = await slack.submit_view(USERS["li.lei"], modal, {"body": "下午去换线"})
        messages = await slack.posted(2)
        async with slack.svc.http.get(
            slack.svc.url + "/api/v1/tickets/IT-1001/comments", headers=slack.svc.auth("admin")
        ) as r:
            comments = (await r.json())["items"]

    assert reply.status == 200 and reply.text == ""
    assert [c["body"] for c in comments] == ["下午去换线"]
    assert any(m.thread_ts == card.ts and "下午去换线" in m.text for m in messages)


async def test_slash_ticket_with_text_quick_creates_a_ticket(db_url: str, fake: FakeSlack) -> None:
    async with slack_service(db_url, fake) as slack:
        reply = await slack.slash(USERS["zhao.li"], "it printer jammed")
        [card] = await slack.cards(1)
        [ticket] = await slack.tickets()

    assert reply.status == 200 and reply.text == "已创建工单 IT-1001：printer jammed"
    assert ticket["title"] == "printer jammed" and ticket["type"] == "it"
    assert card.channel == GENERAL


async def test_slash_ticket_alone_opens_the_type_picker_then_the_form(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake) as slack:
        reply = await slack.slash(USERS["zhao.li"], "")
        [picker] = fake.views
        state = {"type": {"type": "static_select", "selected_option": {"value": "purchase"}}}
        picked = await slack.interact(_submission(fake, picker, state))

    assert reply.status == 200
    assert len(fake.calls_to("views.open")) == 1
    assert picked.json()["response_action"] == "update"
    form = picked.json()["view"]
    assert form["callback_id"] == "tkt.form"
    assert json.loads(form["private_metadata"]) == {"type": "purchase", "channel": GENERAL}


async def test_form_with_a_bad_field_answers_inline_errors_and_opens_nothing(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake) as slack:
        await slack.slash(USERS["zhao.li"], "purchase")
        [form] = fake.views
        bad = {
            "title": {"type": "plain_text_input", "value": "新显示器"},
            "item": {"type": "plain_text_input", "value": "Dell U2723"},
            "amount": {"type": "number_input", "value": "-5"},
        }
        refused = await slack.interact(_submission(fake, form, bad))
        good = bad | {"amount": {"type": "number_input", "value": "1999"}}
        accepted = await slack.interact(_submission(fake, form, good))
        [card] = await slack.cards(1)
        [ticket] = await slack.tickets()

    assert refused.status == 200
    assert refused.json()["response_action"] == "errors"
    assert set(refused.json()["errors"]) == {"amount"}
    assert accepted.status == 200 and accepted.text == ""
    assert ticket["key"] == "PR-1001" and ticket["fields"]["amount"] == 1999
    assert card.channel == GENERAL


async def test_modals_and_their_errors_are_in_the_readers_language_not_the_workspaces(
    db_url: str, fake: FakeSlack
) -> None:
    # the workspace speaks Chinese; bob.smith reads English, zhao.li Chinese
    async with slack_service(db_url, fake) as slack:
        await slack.slash(USERS["zhao.li"], "")
        await slack.slash(USERS["bob.smith"], "")
        zhao_picker, bob_picker = fake.views
        state = {"type": {"type": "static_select", "selected_option": {"value": "purchase"}}}
        picked = await slack.interact(_submission(fake, bob_picker, state, "bob.smith"))
        await slack.slash(USERS["bob.smith"], "purchase")
        *_, form = fake.views
        bad = {
            "title": {"type": "plain_text_input", "value": "New monitor"},
            "item": {"type": "plain_text_input", "value": "Dell U2723"},
            "amount": {"type": "number_input", "value": "-5"},
        }
        refused = await slack.interact(_submission(fake, form, bad, "bob.smith"))

        await slack.mention(USERS["zhao.li"], "显示器闪屏")
        [card] = await slack.cards(1)
        await slack.card_known(card)
        await slack.click(USERS["bob.smith"], card, "tkt.comment")
        *_, comment = fake.views

    assert zhao_picker["title"]["text"] == "新建工单"
    assert bob_picker["title"]["text"] == "New ticket"
    assert picked.json()["view"]["submit"]["text"] == "Submit"
    assert form["close"]["text"] == "Cancel"
    assert refused.json()["errors"] == {"amount": "must be at least 0"}
    assert comment["title"]["text"] == "Comment"


async def test_create_ticket_shortcut_turns_a_message_into_a_ticket_in_its_thread(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake) as slack:
        payload = {
            "type": "message_action",
            "callback_id": "tkt.create_from_message",
            "trigger_id": fake.issue_trigger(),
            "team": {"id": fake.team_id, "domain": "gongdan-test"},
            "user": {"id": USERS["li.lei"], "name": "lilei", "team_id": fake.team_id},
            "channel": {"id": GENERAL, "name": "general"},
            "message_ts": "1767600000.000777",
            "message": {
                "type": "message",
                "user": USERS["zhao.li"],
                "text": "wifi 又断了",
                "ts": "1767600000.000777",
            },
            "response_url": "https://hooks.slack.com/app/T0/1/scrubbed",
        }
        reply = await slack.interact(payload)
        again = await slack.interact(payload | {"trigger_id": fake.issue_trigger()})
        [card] = await slack.cards(1)
        await fake.wait_answered("chat.postEphemeral", 2)
        [ticket] = await slack.tickets()

    assert (reply.status, again.status) == (200, 200)
    assert card.channel == GENERAL and card.thread_ts == "1767600000.000777"
    assert ticket["requester"] == "zhao.li" and ticket["title"] == "wifi 又断了"
    opened, already = (e["text"] for e in fake.ephemerals)
    assert "IT-1001" in opened and "IT-1001" in already


def _submission(
    fake: FakeSlack, view: dict[str, Any], values: Mapping[str, object], who: str = "zhao.li"
) -> dict[str, object]:
    state = {block: {"value": value} for block, value in values.items()}
    return {
        "type": "view_submission",
        "team": {"id": fake.team_id, "domain": "gongdan-test"},
        "user": {"id": USERS[who], "username": who, "team_id": fake.team_id},
        "api_app_id": fake.app_id,
        "trigger_id": fake.issue_trigger(),
        "view": view | {"state": {"values": state}},
    }
