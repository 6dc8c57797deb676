"""Group @bot → ticket → interactive card; clicks act as the DingTalk user, in place."""

from __future__ import annotations

from tests.e2e.dingtalk.driver import GROUP, STAFF, TEMPLATE, dingtalk_service
from tests.fakes.dingtalk import FakeDingTalk


async def test_group_mention_opens_ticket_and_accept_updates_every_copy(
    db_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(db_url, fake) as dt:
        # "@工单助手 3楼打印机坏了" as DingTalk delivers it: the robot's mention taken out
        await fake.send_bot_message(text=" 3楼打印机坏了", sender_staff_id=STAFF["zhao.li"])
        [card] = await dt.cards(1)
        assert card.template_id == TEMPLATE and card.spaces == [("IM_GROUP", GROUP)]
        assert card.params["key"] == "IT-1001" and card.params["title"] == "3楼打印机坏了"
        await dt.card_known(GROUP, card.out_track_id)

        ack = await fake.click_card(
            card.out_track_id, STAFF["li.lei"], {"action": "accept", "ticket": "IT-1001"}
        )
        await dt.until(lambda: card.params["status"] == "已受理")
        ticket = await dt.ticket("IT-1001")

    assert ack.code == 200
    assert ticket["status"] == "accepted" and ticket["assignee"] == "li.lei"
    assert fake.stream.protocol_errors == []


async def test_click_by_someone_without_the_right_changes_nothing_and_is_told_privately(
    db_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(db_url, fake) as dt:
        await fake.send_bot_message(text="网络断了", sender_staff_id=STAFF["zhao.li"])
        [card] = await dt.cards(1)
        await dt.card_known(GROUP, card.out_track_id)
        shown = dict(card.params)

        await fake.click_card(
            card.out_track_id, STAFF["zhao.li"], {"action": "resolve", "ticket": "IT-1001"}
        )
        await dt.until(lambda: any(s.target == STAFF["zhao.li"] for s in fake.sent))
        ticket = await dt.ticket("IT-1001")

    [notice] = [s for s in fake.sent if s.target == STAFF["zhao.li"]]
    assert notice.via == "oto" and "IT-1001" in str(notice.param)
    assert ticket["status"] == "assigned"
    assert card.params == shown and fake.calls_to("/v1.0/card/instances", "PUT") == []


async def test_without_a_template_cards_are_messages_whose_button_opens_the_page(
    db_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(db_url, fake, card_template_id=None) as dt:
        await fake.send_bot_message(text="投影仪不亮", sender_staff_id=STAFF["zhao.li"])
        await dt.until(lambda: any(s.via == "group" for s in fake.sent))

    [sent] = [s for s in fake.sent if s.via == "group"]
    assert sent.target == GROUP and sent.msg_key == "sampleActionCard"
    assert "IT-1001" in str(sent.param) and "?ticket=IT-1001" in str(sent.param)
    assert fake.cards == {}
