"""The same listeners over Socket Mode: the fake's WebSocket instead of signed HTTP."""

from __future__ import annotations

from tests.e2e.slack.driver import GENERAL, USERS, card_text, slack_service
from tests.fakes.slack import FakeSlack, envelope, event_callback, message_event


async def test_mention_over_socket_mode_opens_a_ticket_and_accept_updates_its_card(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake, mode="socket", app_token=fake.app_token) as slack:
        mention = message_event(
            USERS["zhao.li"], GENERAL, f"<@{fake.bot_user_id}> 投影仪坏了", slack.next_ts()
        )
        env = envelope("events_api", event_callback(mention | {"type": "app_mention"}))
        ack = await fake.push(env)
        tickets = await slack.tickets()  # the ack came after the commit
        [card] = await slack.cards(1)
        await slack.card_known(card)
        retried = await fake.push(
            envelope("events_api", event_callback(mention, event_id="Ev0OTHER"), retry_attempt=1)
        )

        click = await fake.push(envelope("interactive", _accept(fake, card.channel, card.ts)))
        await fake.wait_answered("chat.update")
        routes = [
            r.resource.canonical for r in slack.svc.services.app.router.routes() if r.resource
        ]

    assert ack["envelope_id"] == env["envelope_id"]
    assert [t["key"] for t in tickets] == ["IT-1001"]
    assert "envelope_id" in retried and len(fake.calls_to("chat.postMessage")) == 1
    assert "envelope_id" in click
    assert "已受理" in card_text(fake.message(card.channel, card.ts))
    assert "/slack/events" not in routes  # nothing to expose without a public URL


def _accept(fake: FakeSlack, channel: str, ts: str) -> dict[str, object]:
    message = fake.message(channel, ts)
    button = next(
        e
        for b in message.blocks
        for e in b.get("elements", ())
        if e.get("action_id") == "tkt.accept"
    )
    return {
        "type": "block_actions",
        "user": {"id": USERS["li.lei"], "username": "lilei", "team_id": fake.team_id},
        "team": {"id": fake.team_id, "domain": "gongdan-test"},
        "container": {"type": "message", "message_ts": ts, "channel_id": channel},
        "channel": {"id": channel, "name": "general"},
        "trigger_id": fake.issue_trigger(),
        "message": message.to_json(fake.bot_user_id, fake.bot_id),
        "actions": [
            {
                "action_id": "tkt.accept",
                "block_id": "tkt:IT-1001:1",
                "type": "button",
                "value": button["value"],
                "action_ts": "1767600001.000001",
            }
        ],
    }
