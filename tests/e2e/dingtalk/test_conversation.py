"""DingTalk robot messages go through the chat kit like web chat and Slack: small talk makes
nothing, quick follow-ups and named keys comment, a quote of the card comments, and commands
answer in the sender's language."""

from __future__ import annotations

from typing import Any

from tests.e2e.dingtalk.driver import GROUP, STAFF, DingTalkDriver, dingtalk_service
from tests.fakes.dingtalk import FakeDingTalk


async def _comments(dt: DingTalkDriver, key: str) -> list[dict[str, Any]]:
    async with dt.svc.http.get(
        f"{dt.svc.url}/api/v1/tickets/{key}/comments", headers=dt.svc.auth("admin")
    ) as r:
        assert r.status == 200, await r.text()
        return list((await r.json())["items"])


def _texts(fake: FakeDingTalk, via: str, target: str) -> list[str]:
    """What the robot said 1:1 (`oto`) or through a session webhook (`webhook`)."""
    out = []
    for s in fake.sent:
        if s.via == via and s.target == target:
            out.append(str(s.param["text"]["content"] if via == "webhook" else s.param["content"]))
    return out


async def test_chatter_in_a_help_desk_group_makes_no_ticket(
    sqlite_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(sqlite_url, fake) as dt:
        acks = []
        for text in ("谢谢", "好的呀", "OK!", "thanks", "👍"):
            _, push = await fake.send_bot_message(text=text, sender_staff_id=STAFF["zhao.li"])
            acks.append((await fake.stream.wait_ack(push.message_id)).code)
        await dt.settle()
        tickets = await dt.tickets()

    assert acks == [200] * 5
    assert tickets == [] and fake.cards == {} and fake.sent == []


async def test_three_quick_messages_make_one_ticket_and_two_comments_told_once_privately(
    db_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(db_url, fake) as dt:
        for text in ("打印机坏了", "是3楼那台", "型号 HP M402"):
            _, push = await fake.send_bot_message(text=text, sender_staff_id=STAFF["zhao.li"])
            await fake.stream.wait_ack(push.message_id)
        await dt.until(lambda: bool(_texts(fake, "oto", STAFF["zhao.li"])))
        await dt.settle()
        tickets = await dt.tickets()
        comments = await _comments(dt, "IT-1001")

    assert [t["title"] for t in tickets] == ["打印机坏了"]
    assert [c["body"] for c in comments] == ["是3楼那台", "型号 HP M402"]
    [told] = _texts(fake, "oto", STAFF["zhao.li"])  # once, 1:1, in Chinese
    assert told.startswith("已补充到 IT-1001")
    assert _texts(fake, "webhook", GROUP) == []  # nothing said in the group


async def test_a_message_naming_a_key_comments_and_says_so_in_the_senders_language(
    sqlite_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(sqlite_url, fake) as dt:
        await fake.send_bot_message(text="打印机坏了", sender_staff_id=STAFF["zhao.li"])
        await dt.cards(1)
        _, zh = await fake.send_bot_message(
            text="IT-1001 补充：是3楼那台", sender_staff_id=STAFF["li.lei"]
        )
        _, en = await fake.send_bot_message(
            text="IT-1001 also the one on the 2nd floor", sender_staff_id=STAFF["bob.smith"]
        )
        await fake.stream.wait_ack(zh.message_id)
        await fake.stream.wait_ack(en.message_id)
        await dt.until(
            lambda: (
                bool(_texts(fake, "oto", STAFF["li.lei"]))
                and bool(_texts(fake, "oto", STAFF["bob.smith"]))
            )
        )
        comments = await _comments(dt, "IT-1001")
        tickets = await dt.tickets()

    assert len(tickets) == 1
    assert [(c["author"], c["body"]) for c in comments] == [
        ("li.lei", "IT-1001 补充：是3楼那台"),
        ("bob.smith", "IT-1001 also the one on the 2nd floor"),
    ]
    assert _texts(fake, "oto", STAFF["li.lei"]) == ["已作为评论添加到 IT-1001。"]
    assert _texts(fake, "oto", STAFF["bob.smith"]) == ["Added to IT-1001 as a comment."]


async def test_help_answers_in_the_group_and_one_to_one_in_the_senders_language(
    sqlite_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(sqlite_url, fake) as dt:
        _, push = await fake.send_bot_message(text="/help", sender_staff_id=STAFF["zhao.li"])
        await fake.stream.wait_ack(push.message_id)
        await fake.send_bot_message(
            text="/帮助",
            sender_staff_id=STAFF["bob.smith"],
            conversation_type="1",
            conversation_id="cidSingleBob==",
        )
        await dt.until(lambda: bool(_texts(fake, "oto", STAFF["bob.smith"])))
        tickets = await dt.tickets()

    [group] = [s for s in fake.sent if s.via == "webhook"]
    assert group.target == GROUP and group.param["at"] == {"atUserIds": [STAFF["zhao.li"]]}
    assert group.param["text"]["content"].startswith("可用命令：")
    assert "/mine" in group.param["text"]["content"]
    [direct] = _texts(fake, "oto", STAFF["bob.smith"])
    assert direct.startswith("Commands:")
    assert tickets == []


async def test_mine_lists_the_senders_open_requests(sqlite_url: str, fake: FakeDingTalk) -> None:
    async with dingtalk_service(sqlite_url, fake) as dt:
        await fake.send_bot_message(text="打印机坏了", sender_staff_id=STAFF["zhao.li"])
        await dt.cards(1)
        await fake.send_bot_message(
            text="/mine",
            sender_staff_id=STAFF["zhao.li"],
            conversation_type="1",
            conversation_id="cidSingle0002==",
        )
        await dt.until(lambda: bool(_texts(fake, "oto", STAFF["zhao.li"])))

    [answer] = _texts(fake, "oto", STAFF["zhao.li"])
    assert answer.splitlines()[0] == "你的未完成工单（1 张）："
    assert "IT-1001" in answer and "打印机坏了" in answer


async def test_a_reply_quoting_the_card_comments_on_its_ticket(
    sqlite_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(sqlite_url, fake) as dt:
        await fake.send_bot_message(text="打印机坏了", sender_staff_id=STAFF["zhao.li"])
        [card] = await dt.cards(1)
        await dt.card_known(GROUP, card.out_track_id)
        # someone else (no follow-up of theirs): without the quote it would be a new ticket
        _, push = await fake.send_bot_message(
            text="已经重启过了，还是不行", sender_staff_id=STAFF["han.meimei"], quoting=card
        )
        ack = await fake.stream.wait_ack(push.message_id)
        comments = await _comments(dt, "IT-1001")
        tickets = await dt.tickets()

    assert ack.code == 200
    assert len(tickets) == 1
    assert [(c["author"], c["body"]) for c in comments] == [
        ("han.meimei", "已经重启过了，还是不行")
    ]


async def test_a_reply_quoting_the_card_message_sent_without_a_template_comments_too(
    sqlite_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(sqlite_url, fake, card_template_id=None) as dt:
        await fake.send_bot_message(text="投影仪不亮", sender_staff_id=STAFF["zhao.li"])
        await dt.until(lambda: any(s.via == "group" for s in fake.sent))
        [card_message] = [s for s in fake.sent if s.via == "group"]
        _, push = await fake.send_bot_message(
            text="换了线也不行", sender_staff_id=STAFF["han.meimei"], quoting_message=card_message
        )
        ack = await fake.stream.wait_ack(push.message_id)
        comments = await _comments(dt, "IT-1001")
        tickets = await dt.tickets()

    assert ack.code == 200 and len(tickets) == 1
    assert [(c["author"], c["body"]) for c in comments] == [("han.meimei", "换了线也不行")]


async def test_status_posts_the_tickets_card_in_the_one_to_one_chat(
    sqlite_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(sqlite_url, fake) as dt:
        await fake.send_bot_message(text="打印机坏了", sender_staff_id=STAFF["zhao.li"])
        await dt.cards(1)
        await fake.send_bot_message(
            text="/status IT-1001",
            sender_staff_id=STAFF["bob.smith"],
            conversation_type="1",
            conversation_id="cidSingleBob==",
        )
        cards = await dt.cards(2)
        tickets = await dt.tickets()

    assert len(tickets) == 1
    [copy] = [c for c in cards if ("IM_ROBOT", STAFF["bob.smith"]) in c.spaces]
    assert copy.params["key"] == "IT-1001"


async def test_status_in_the_group_that_has_the_card_shows_it_again_and_both_copies_update(
    sqlite_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(sqlite_url, fake) as dt:
        await fake.send_bot_message(text="打印机坏了", sender_staff_id=STAFF["zhao.li"])
        [first] = await dt.cards(1)
        await fake.send_bot_message(text="/status IT-1001", sender_staff_id=STAFF["bob.smith"])
        cards = await dt.cards(2)  # the card again, at the bottom of the chat
        for card in cards:
            await dt.card_known(GROUP, card.out_track_id)
        await fake.click_card(
            first.out_track_id, STAFF["li.lei"], {"action": "accept", "ticket": "IT-1001"}
        )
        await dt.until(lambda: all(c.params["status"] == "已受理" for c in cards))

    assert [c.spaces for c in cards] == [[("IM_GROUP", GROUP)]] * 2
    assert len({c.out_track_id for c in cards}) == 2


async def test_note_in_the_group_is_internal_and_answered_at_the_sender_in_english(
    sqlite_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(sqlite_url, fake) as dt:
        await fake.send_bot_message(text="打印机坏了", sender_staff_id=STAFF["zhao.li"])
        await dt.cards(1)
        await fake.send_bot_message(
            text="/note IT-1001 toner ordered", sender_staff_id=STAFF["bob.smith"]
        )
        await dt.until(lambda: bool(_texts(fake, "webhook", GROUP)))
        comments = await _comments(dt, "IT-1001")

    assert [(c["author"], c["body"], c["internal"]) for c in comments] == [
        ("bob.smith", "toner ordered", True)
    ]
    [said] = [s for s in fake.sent if s.via == "webhook"]
    assert said.param["text"]["content"] == "Internal note added to IT-1001."
    assert said.param["at"] == {"atUserIds": [STAFF["bob.smith"]]}
