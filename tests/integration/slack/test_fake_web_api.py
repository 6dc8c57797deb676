"""The Slack double answers the real slack_sdk AsyncWebClient the way Slack does."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.render import render_card, render_form
from core.card import Card, CardField, Colour
from core.clock import FrozenClock
from core.forms import TicketType
from core.i18n import Text
from core.ticket import Status
from tests.fakes.slack import FakeSlack


def client(slack: FakeSlack, token: str | None = None) -> AsyncWebClient:
    return AsyncWebClient(token=token or slack.bot_token, base_url=slack.base_url)


def card(version: int, status: Status = Status.NEW) -> Card:
    return Card(
        "IT-7", version, "Printer <!channel>", status, status.value, Colour.GREY, (), (), "en"
    )


async def test_auth_test_names_the_bot_and_workspace(slack: FakeSlack) -> None:
    reply = await client(slack).auth_test()

    assert (reply["team_id"], reply["user_id"], reply["bot_id"]) == ("T0GONGDAN", "U0BOT", "B0BOT")


async def test_posted_card_can_be_updated_in_place(slack: FakeSlack) -> None:
    web = client(slack)

    posted = await web.chat_postMessage(channel="C1", **render_card(card(1)))
    updated = await web.chat_update(
        channel="C1", ts=posted["ts"], **render_card(card(2, Status.ACCEPTED))
    )

    assert updated["ts"] == posted["ts"]
    message = slack.message("C1", posted["ts"])
    assert message.edits == 1
    assert message.text.endswith("accepted")
    assert "&lt;!channel&gt;" in message.blocks[0]["text"]["text"]
    assert [c.method for c in slack.calls] == ["chat.postMessage", "chat.update"]


async def test_timestamps_increase_per_channel_even_within_one_instant(slack: FakeSlack) -> None:
    web = client(slack)

    first = await web.chat_postMessage(channel="C1", text="a")
    second = await web.chat_postMessage(channel="C1", text="b", thread_ts=first["ts"])

    assert float(second["ts"]) > float(first["ts"])
    assert [m.text for m in slack.messages_in("C1")] == ["a", "b"]
    assert slack.messages_in("C1")[1].thread_ts == first["ts"]


async def test_updating_an_unknown_message_is_message_not_found(slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as caught:
        await client(slack).chat_update(channel="C1", ts="1.000001", text="x")

    assert caught.value.response["error"] == "message_not_found"


async def test_rate_limit_surfaces_as_429_with_retry_after_then_recovers(slack: FakeSlack) -> None:
    slack.fail_next("chat.update", status=429, retry_after=30)
    web = client(slack)
    posted = await web.chat_postMessage(channel="C1", text="card")

    with pytest.raises(SlackApiError) as caught:
        await web.chat_update(channel="C1", ts=posted["ts"], text="v2")
    await web.chat_update(channel="C1", ts=posted["ts"], text="v2")

    response = caught.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"
    assert response["error"] == "ratelimited"
    assert slack.message("C1", posted["ts"]).text == "v2"
    assert len(slack.calls_to("chat.update")) == 2


async def test_server_error_is_raised_with_its_status(slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", status=503)

    with pytest.raises(SlackApiError) as caught:
        await client(slack).chat_postMessage(channel="C1", text="x")

    assert caught.value.response.status_code == 503
    assert slack.messages == {}


async def test_wrong_token_is_invalid_auth_and_still_recorded(slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as caught:
        await client(slack, token="xoxb-stolen").chat_postMessage(channel="C1", text="x")

    assert caught.value.response["error"] == "invalid_auth"
    assert slack.calls_to("chat.postMessage")[0].token == "xoxb-stolen"
    assert slack.messages == {}


async def test_users_are_found_by_id_and_by_email(slack: FakeSlack) -> None:
    slack.add_user("U42", "Ada", email="ada@example.com")
    web = client(slack)

    by_id = await web.users_info(user="U42")
    by_email = await web.users_lookupByEmail(email="ADA@example.com")
    with pytest.raises(SlackApiError) as caught:
        await web.users_lookupByEmail(email="nobody@example.com")

    assert by_id["user"]["profile"]["email"] == "ada@example.com"
    assert by_email["user"]["id"] == "U42"
    assert caught.value.response["error"] == "users_not_found"


async def test_ephemeral_notice_is_kept_for_the_user(slack: FakeSlack) -> None:
    await client(slack).chat_postEphemeral(channel="C1", user="U42", text="Already accepted")

    assert slack.ephemerals[0]["user"] == "U42"
    assert slack.ephemerals[0]["text"] == "Already accepted"


async def test_modal_opens_within_three_seconds_of_the_trigger(
    slack: FakeSlack, clock: FrozenClock
) -> None:
    web = client(slack)
    view = {
        "type": "modal",
        "callback_id": "tkt.form",
        "title": {"type": "plain_text", "text": "IT"},
    }
    fresh, stale = slack.issue_trigger(), slack.issue_trigger()

    clock.advance(timedelta(seconds=2))
    opened = await web.views_open(trigger_id=fresh, view=view)
    clock.advance(timedelta(seconds=2))
    with pytest.raises(SlackApiError) as caught:
        await web.views_open(trigger_id=stale, view=view)

    assert opened["view"]["callback_id"] == "tkt.form"
    assert caught.value.response["error"] == "expired_trigger_id"
    assert len(slack.views) == 1


async def test_slow_answer_makes_the_client_time_out(slack: FakeSlack) -> None:
    slack.delay_next("chat.postMessage", 0.5)
    # the SDK annotates timeout as int but hands it to aiohttp, which takes seconds as float
    web = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, timeout=0.05)  # type: ignore[arg-type]

    with pytest.raises(TimeoutError):
        await web.chat_postMessage(channel="C1", text="x")


async def test_oversized_card_is_clipped_so_slack_accepts_it(slack: FakeSlack) -> None:
    fields = tuple(CardField(f"f{i}", "<v>" * 900) for i in range(600))
    huge = replace(card(1), fields=fields, body="&" * 9000)

    posted = await client(slack).chat_postMessage(channel="C1", **render_card(huge))

    assert len(slack.message("C1", posted["ts"]).blocks) == 50


async def test_more_than_fifty_blocks_is_invalid_blocks(slack: FakeSlack) -> None:
    blocks = [{"type": "divider"}] * 51

    with pytest.raises(SlackApiError) as caught:
        await client(slack).chat_postMessage(channel="C1", text="x", blocks=blocks)

    assert caught.value.response["error"] == "invalid_blocks"


async def test_ticket_form_opens_as_a_modal(slack: FakeSlack) -> None:
    ttype = TicketType("it", "IT", Text("IT support", "IT 支持"))
    view = render_form(ttype, "zh-CN", [], {"title": "打印机卡纸"}, private_metadata="{}")

    opened = await client(slack).views_open(trigger_id=slack.issue_trigger(), view=dict(view))

    assert opened["view"]["title"]["text"] == "IT 支持"
    assert opened["view"]["blocks"][0]["element"]["initial_value"] == "打印机卡纸"
