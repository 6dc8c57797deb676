"""A conversation, not a ticket per message, on Slack: chatter, follow-ups, key mentions, chat
commands in the reader's language, and comments that cross to the web chat and back."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.e2e.slack.driver import GENERAL, HELP_DESK, USERS, SlackDriver, slack_service
from tests.e2e.webchat_clients import join
from tests.fakes.slack import FakeSlack, message_event


async def _say(
    slack: SlackDriver, user: str, text: str, channel: str = HELP_DESK, **extra: Any
) -> str:
    ts = slack.next_ts()
    reply = await slack.event(message_event(user, channel, text, ts, **extra))
    assert reply.status == 200, reply
    return ts


async def _comments(slack: SlackDriver, key: str) -> list[dict[str, Any]]:
    svc = slack.svc
    url = f"{svc.url}/api/v1/tickets/{key}/comments"
    async with svc.http.get(url, headers=svc.auth("admin")) as r:
        assert r.status == 200
        return list((await r.json())["items"])


async def _ephemerals(fake: FakeSlack, count: int) -> list[dict[str, Any]]:
    await fake.wait_answered("chat.postEphemeral", count)
    return list(fake.ephemerals)


async def test_chatter_in_a_help_desk_channel_opens_no_ticket(db_url: str, fake: FakeSlack) -> None:
    async with slack_service(db_url, fake) as slack:
        for text in ("谢谢！", "好的", "ok", "Thanks!", ":+1:", "🙏"):
            await _say(slack, USERS["zhao.li"], text)
        tickets = await slack.tickets()

    assert tickets == []
    assert fake.calls_to("chat.postMessage") == [] and fake.ephemerals == []


async def test_three_quick_messages_make_one_ticket_with_two_comments_and_one_quiet_line(
    db_url: str, fake: FakeSlack
) -> None:
    user = USERS["zhao.li"]
    async with slack_service(db_url, fake) as slack:
        await asyncio.gather(
            *(
                _say(slack, user, text)
                for text in ("邮箱收不到邮件", "从昨天下午开始", "网页版也一样")
            )
        )
        [told] = await _ephemerals(fake, 1)
        tickets = await slack.tickets()
        comments = await _comments(slack, "IT-1001")

    assert len(tickets) == 1 and tickets[0]["requester"] == "zhao.li"
    assert len(comments) == 2 and all(c["author"] == "zhao.li" for c in comments)
    assert told["user"] == user and told["channel"] == HELP_DESK
    assert told["text"].startswith("已补充到 IT-1001")  # zhao.li reads Chinese
    assert len(fake.ephemerals) == 1


async def test_a_message_naming_a_key_comments_on_it_and_says_so_in_the_readers_language(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake) as slack:
        await _say(slack, USERS["zhao.li"], "会议室电视没信号")
        [card] = await slack.cards(1)
        await slack.card_known(card)
        await _say(slack, USERS["bob.smith"], "IT-1001 还是没修好", channel=GENERAL)  # not here
        await slack.mention(USERS["bob.smith"], "IT-1001 still broken?")
        [told] = await _ephemerals(fake, 1)
        await fake.wait_answered("chat.postMessage", 2)  # the card, then the comment's relay
        comments = await _comments(slack, "IT-1001")
        tickets = await slack.tickets()

    assert len(tickets) == 1
    assert [(c["author"], c["body"]) for c in comments] == [("bob.smith", "IT-1001 still broken?")]
    assert told["user"] == USERS["bob.smith"]
    assert told["text"] == "Added to IT-1001 as a comment."  # Bob reads English
    # said in #general, shown in the card's thread in the help desk channel
    [relayed] = [m for m in fake.messages.values() if m.thread_ts == card.ts]
    assert relayed.channel == HELP_DESK and "still broken?" in relayed.text


async def test_each_command_answers_in_the_senders_language(db_url: str, fake: FakeSlack) -> None:
    zhao, bob = USERS["zhao.li"], USERS["bob.smith"]
    async with slack_service(db_url, fake) as slack:
        await _say(slack, zhao, "/help")
        await _say(slack, bob, "/help")
        await _say(slack, zhao, "/mine")
        await _say(slack, bob, "/queue")
        await _say(slack, bob, "/status IT-9999")
        await slack.mention(zhao, "/nonsense")
        answers = await _ephemerals(fake, 6)
        tickets = await slack.tickets()

    assert tickets == []
    by = [(a["user"], a["text"]) for a in answers]
    assert by[0][0] == zhao and "/note 工单号 内容" in by[0][1]
    assert by[1][0] == bob and "/note KEY text" in by[1][1]
    assert by[2] == (zhao, "你没有未完成的工单。")
    assert by[3] == (bob, "Your queue is empty.")
    assert by[4][0] == bob and "IT-9999" in by[4][1]
    assert by[5][0] == zhao and by[5][1].startswith("没有 /nonsense 这个命令。")


async def test_a_comment_on_slack_appears_in_the_web_chat_and_back_but_never_a_note(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake) as slack:
        await slack.mention(USERS["zhao.li"], "打印机卡纸")
        [card] = await slack.cards(1)
        assert await slack.card_known(card) == "IT-1001"
        agent = await join(slack.svc, "li.lei")
        await agent.send(type="say", room="helpdesk", text="/status IT-1001", client_id="s1")
        await agent.expect("card", ticket="IT-1001")  # a web chat copy of the card

        await _say(slack, USERS["zhao.li"], "还是卡", channel=card.channel, thread_ts=card.ts)
        relayed = await agent.expect("comment", ticket="IT-1001", within=10)  # its thread
        await agent.send(
            type="say", room="helpdesk", text="/note IT-1001 toner secret", client_id="n1"
        )
        await agent.expect("notice", client_id="n1")
        await agent.send(
            type="say", room="helpdesk", text="IT-1001 on my way / 马上到", client_id="p1"
        )
        await agent.expect("ack", client_id="p1")
        await fake.wait_answered("chat.postMessage", 2, within=10)

    assert relayed["comment"]["body"] == "还是卡" and not relayed["comment"]["internal"]
    in_thread = [m for m in fake.messages.values() if m.thread_ts == card.ts]
    assert [m.text for m in in_thread if "on my way" in m.text]
    # the note was written before the public reply, in the same thread's queue: never sent
    assert not [m for m in fake.messages.values() if "toner secret" in m.text]
    assert not [e for e in fake.ephemerals if "toner secret" in e["text"]]


async def test_ticket_slash_command_runs_the_chat_commands(db_url: str, fake: FakeSlack) -> None:
    async with slack_service(db_url, fake) as slack:
        await _say(slack, USERS["zhao.li"], "键盘失灵")
        [card] = await slack.cards(1)
        mine = await slack.slash(USERS["zhao.li"], "mine")
        queue = await slack.slash(USERS["li.lei"], "queue")
        empty = await slack.slash(USERS["bob.smith"], "queue")
        await slack.slash(USERS["zhao.li"], "status IT-1001", channel=GENERAL)
        cards = await slack.cards(2)
        tickets = await slack.tickets()

    assert len(tickets) == 1
    assert mine.status == 200 and mine.text.startswith("你的未完成工单（1 张）")
    assert queue.text.startswith("你的队列：分派给你 1 张") and "IT-1001" in queue.text
    assert empty.text == "Your queue is empty."  # Bob reads English
    assert sorted(c.channel for c in cards) == [GENERAL, HELP_DESK] and card in cards


async def test_ticket_new_opens_the_form_like_new_does_everywhere_else(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake) as slack:
        alone = await slack.slash(USERS["zhao.li"], "new")
        by_id = await slack.slash(USERS["zhao.li"], "new purchase")
        by_name = await slack.slash(USERS["bob.smith"], "新建 采购申请")
        tickets = await slack.tickets()

    assert (alone.status, by_id.status, by_name.status) == (200, 200, 200)
    assert tickets == []  # none titled "new"
    picker, purchase, purchase_again = fake.views
    assert picker["callback_id"] != "tkt.form"  # `/ticket new` is `/ticket`: pick a type
    for form in (purchase, purchase_again):
        assert form["callback_id"] == "tkt.form"
        assert json.loads(form["private_metadata"]) == {"type": "purchase", "channel": GENERAL}


async def test_ticket_new_with_a_type_that_does_not_exist_lists_the_types_privately(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake) as slack:
        zhao = await slack.slash(USERS["zhao.li"], "new nosuch")
        bob = await slack.slash(USERS["bob.smith"], "new nosuch")
        tickets = await slack.tickets()

    assert tickets == [] and fake.views == []
    assert zhao.text.startswith("没有“nosuch”这个工单类型。")
    assert "it（IT 服务）、purchase（采购申请）" in zhao.text
    assert bob.text.startswith("There is no ticket type “nosuch”.")
    assert "it (IT request), purchase (Purchase request)" in bob.text
    assert bob.text.endswith("For example: /ticket new it")  # as a command is typed on Slack


async def test_ticket_with_a_chat_command_means_that_command(db_url: str, fake: FakeSlack) -> None:
    zhao, bob = USERS["zhao.li"], USERS["bob.smith"]
    async with slack_service(db_url, fake) as slack:
        await _say(slack, zhao, "键盘失灵")
        await slack.cards(1)
        helped = await slack.slash(bob, "help")
        close_usage = await slack.slash(bob, "close")
        note_usage = await slack.slash(bob, "note IT-1001")
        noted = await slack.slash(USERS["li.lei"], "note IT-1001 换过键盘了")
        refused = await slack.slash(bob, "close IT-1001")
        closed = await slack.slash(zhao, "close IT-1001")
        described = await slack.slash(zhao, "the printer on 3F is out of toner")
        tickets = await slack.tickets()

    assert "/note KEY text" in helped.text and "/mine" in helped.text
    assert close_usage.text.startswith("Usage:\n/close KEY")
    assert note_usage.text.startswith("Usage:\n/note KEY text")
    assert noted.text == "已为 IT-1001 添加内部备注。"
    assert refused.text.startswith("Only the requester or the team's lead may close IT-1001")
    assert closed.text == "已取消 IT-1001“键盘失灵”：工单尚未解决，关闭即撤回了这个请求。"
    assert described.text.startswith("已创建工单 IT-1002")  # free text still opens a ticket
    assert sorted((t["key"], t["status"], t["title"]) for t in tickets) == [
        ("IT-1001", "cancelled", "键盘失灵"),
        ("IT-1002", "assigned", "the printer on 3F is out of toner"),
    ]


async def test_ticket_with_a_bare_key_shows_that_ticket_like_status(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake) as slack:
        await _say(slack, USERS["zhao.li"], "键盘失灵")
        await slack.cards(1)
        await slack.slash(USERS["bob.smith"], "it-1001")
        cards = await slack.cards(2)  # the card again, not a ticket titled "it-1001"
        tickets = await slack.tickets()

    assert [t["key"] for t in tickets] == ["IT-1001"]
    assert len(cards) == 2


async def test_ticket_with_free_text_answers_the_reader_in_their_own_language(
    db_url: str, fake: FakeSlack
) -> None:
    async with slack_service(db_url, fake) as slack:
        bob = await slack.slash(USERS["bob.smith"], "the printer on 3F is out of toner")
        zhao = await slack.slash(USERS["zhao.li"], "三楼打印机没墨了")

    assert bob.text == "Ticket IT-1001 opened: the printer on 3F is out of toner"
    assert zhao.text == "已创建工单 IT-1002：三楼打印机没墨了"
