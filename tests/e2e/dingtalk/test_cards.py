"""Group @bot → ticket → interactive card; clicks act as the DingTalk user, in place."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.dingtalk.driver import GROUP, STAFF, TEMPLATE, DingTalkDriver, dingtalk_service
from tests.fakes.dingtalk import Card, FakeDingTalk


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
        card = await _opened(dt, fake, "网络断了")
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


async def _opened(dt: DingTalkDriver, fake: FakeDingTalk, text: str) -> Card:
    """zhao.li's @mention in the help-desk group; its card, once the service knows where it is."""
    await fake.send_bot_message(text=text, sender_staff_id=STAFF["zhao.li"])
    [card] = await dt.cards(1)
    await dt.card_known(GROUP, card.out_track_id)
    return card


def _buttons(params: dict[str, str], key: str) -> list[dict[str, Any]]:
    buttons: list[dict[str, Any]] = json.loads(params.get(key, "[]"))
    return buttons


async def test_reassign_opens_a_menu_only_the_presser_sees_and_a_choice_reassigns(
    db_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(db_url, fake) as dt:
        card = await _opened(dt, fake, "打印机卡纸")
        public = dict(card.params)
        offered = {b["id"]: b for b in _buttons(public, "actions")}

        lead = STAFF["li.lei"]
        await fake.click_card(card.out_track_id, lead, offered["assign"]["params"])
        menu = _buttons(card.private[lead], "menu")
        shown_to_others = dict(card.params)
        choice = next(b for b in menu if b["label"] == "韩梅梅")
        await fake.click_card(card.out_track_id, lead, choice["params"])
        await dt.until(lambda: "韩梅梅" in card.params["fields"])
        ticket = await dt.ticket("IT-1001")

    # the card offers every action, the ones that need a choice as menu buttons
    assert {"accept", "assign", "set_priority", "comment"} <= set(offered)
    assert offered["assign"]["label"] == "转派"
    # the lead sees whom the ticket may go to (not themselves: they hold it), then Cancel
    assert [b["label"] for b in menu] == ["韩梅梅", "鲍勃", "取消"]
    assert shown_to_others == public and set(card.private) == {lead}
    assert ticket["assignee"] == "han.meimei"
    assert card.private[lead]["menu"] == "[]"  # the choice closed the menu
    assert fake.stream.protocol_errors == []


async def test_priority_is_chosen_from_a_menu_and_cancel_closes_it(
    db_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(db_url, fake) as dt:
        card = await _opened(dt, fake, "VPN 连不上")
        offered = {b["id"]: b for b in _buttons(card.params, "actions")}
        lead = STAFF["li.lei"]

        await fake.click_card(card.out_track_id, lead, offered["set_priority"]["params"])
        levels = _buttons(card.private[lead], "menu")
        cancel = levels[-1]
        await fake.click_card(card.out_track_id, lead, cancel["params"])
        closed = card.private[lead]["menu"]
        await fake.click_card(card.out_track_id, lead, offered["set_priority"]["params"])
        high = next(b for b in _buttons(card.private[lead], "menu") if b["id"] == "high")
        await fake.click_card(card.out_track_id, lead, high["params"])
        await dt.until(lambda: card.private[lead]["menu"] == "[]")
        ticket = await dt.ticket("IT-1001")

    assert [b["id"] for b in levels] == ["urgent", "high", "normal", "low", "close"]
    assert closed == "[]"
    assert ticket["priority"] == "high"


async def test_comment_tells_the_presser_privately_how_to_comment_in_their_language(
    db_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(db_url, fake) as dt:
        card = await _opened(dt, fake, "网络断了")
        comment = next(b for b in _buttons(card.params, "actions") if b["id"] == "comment")

        await fake.click_card(card.out_track_id, STAFF["bob.smith"], comment["params"])
        await dt.until(lambda: any(s.target == STAFF["bob.smith"] for s in fake.sent))

    [hint] = [s for s in fake.sent if s.target == STAFF["bob.smith"]]
    assert hint.via == "oto"
    assert "reply to its card quoting it" in str(hint.param) and "IT-1001" in str(hint.param)
