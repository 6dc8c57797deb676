"""WeCom messages go through the chat kit like every chat channel: small talk makes nothing,
quick follow-ups and named keys comment, and commands answer in the sender's language."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from tests.e2e.wecom.driver import GROUP, USERS, WeComDriver, until, wecom_service
from tests.fakes.wecom import FakeWeCom


async def _comments(wecom: WeComDriver, key: str) -> list[dict[str, Any]]:
    svc = wecom.svc
    async with svc.http.get(
        f"{svc.url}/api/v1/tickets/{key}/comments", headers=svc.auth("admin")
    ) as r:
        assert r.status == 200, await r.text()
        return list((await r.json())["items"])


def _said(fake: FakeWeCom, chatid: str) -> list[str]:
    """The robot's texts in a chat (a 1:1 chat is the user's userid)."""
    return [
        str(s.body["markdown"]["content"])
        for s in fake.bot.chat(chatid)
        if s.body.get("msgtype") == "markdown"
    ]


async def test_chatter_in_a_help_desk_chat_makes_no_ticket(db_url: str, fake: FakeWeCom) -> None:
    async with wecom_service(db_url, fake, app=False, help_desk_chats={GROUP: "it"}) as wecom:
        for text in ("谢谢", "好的呀", "OK!", "thanks", "👍"):
            await fake.bot.send_group_message(GROUP, USERS["zhao.li"], text)
        await asyncio.sleep(0.5)  # a ticket, if any, would have been opened and shown by now
        tickets = await wecom.tickets()

    assert tickets == []
    assert fake.bot.cards == {} and fake.bot.chat(GROUP) == []


async def test_a_group_outside_help_desk_chats_is_named_in_the_log_once_with_its_chat_id(
    db_url: str, fake: FakeWeCom, caplog: pytest.LogCaptureFixture
) -> None:
    # WeCom shows nobody a chat id: the log is where an admin finds it for help_desk_chats
    caplog.set_level(logging.INFO, logger="gongdan.wecom")
    async with wecom_service(db_url, fake, app=False) as wecom:
        await fake.bot.send_group_message(GROUP, USERS["zhao.li"], "打印机坏了")
        await fake.bot.send_group_message(GROUP, USERS["bob.smith"], "投影仪也坏了")
        await until(lambda: len(fake.bot.cards_in(GROUP)) >= 2)
        await wecom.tickets()

    named = [r for r in caplog.records if "help_desk_chats" in r.getMessage()]
    assert [r.__dict__["group_id"] for r in named] == [GROUP]


async def test_three_quick_messages_make_one_ticket_and_two_comments_told_once_privately(
    db_url: str, fake: FakeWeCom
) -> None:
    async with wecom_service(db_url, fake, app=False) as wecom:
        for text in ("打印机坏了", "是3楼那台", "型号 HP M402"):
            await fake.bot.send_group_message(GROUP, USERS["zhao.li"], text)
        await until(lambda: _said(fake, USERS["zhao.li"]))
        await until(lambda: fake.bot.cards_in(GROUP))
        tickets = await wecom.tickets()
        comments = await until_comments(wecom, "IT-1001", 2)
        await asyncio.sleep(0.3)  # a second private word, if any, would have gone out by now

    assert [t["title"] for t in tickets] == ["打印机坏了"]
    assert [c["body"] for c in comments] == ["是3楼那台", "型号 HP M402"]
    [told] = _said(fake, USERS["zhao.li"])  # once, 1:1, in Chinese
    assert told.startswith("已补充到 IT-1001")
    assert not any("已补充" in s for s in _said(fake, GROUP))  # the group is not told


async def until_comments(wecom: WeComDriver, key: str, count: int) -> list[dict[str, Any]]:
    for _ in range(100):
        found = await _comments(wecom, key)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{key} has {len(found)} comments, not {count}")


async def test_a_message_naming_a_key_comments_and_says_so_to_the_sender(
    db_url: str, fake: FakeWeCom
) -> None:
    async with wecom_service(db_url, fake, app=False) as wecom:
        await fake.bot.send_group_message(GROUP, USERS["zhao.li"], "打印机坏了")
        await until(lambda: fake.bot.cards_in(GROUP))
        await fake.bot.send_group_message(GROUP, USERS["li.lei"], "IT-1001 补充：是3楼那台")
        await fake.bot.send_direct_message(USERS["bob.smith"], "IT-1001 also the 2nd floor one")
        await until(lambda: _said(fake, USERS["li.lei"]) and _said(fake, USERS["bob.smith"]))
        comments = await _comments(wecom, "IT-1001")
        tickets = await wecom.tickets()

    assert len(tickets) == 1
    assert [(c["author"], c["body"]) for c in comments] == [
        ("li.lei", "IT-1001 补充：是3楼那台"),
        ("bob.smith", "IT-1001 also the 2nd floor one"),
    ]
    assert _said(fake, USERS["li.lei"]) == ["已作为评论添加到 IT-1001。"]
    assert _said(fake, USERS["bob.smith"]) == ["Added to IT-1001 as a comment."]


async def test_help_answers_in_the_chat_in_the_senders_language(
    db_url: str, fake: FakeWeCom
) -> None:
    async with wecom_service(db_url, fake, app=False) as wecom:
        await fake.bot.send_group_message(GROUP, USERS["bob.smith"], "/help")
        await fake.bot.send_direct_message(USERS["zhao.li"], "/帮助")
        await until(lambda: _said(fake, GROUP) and _said(fake, USERS["zhao.li"]))
        tickets = await wecom.tickets()

    [group] = _said(fake, GROUP)
    assert group.startswith("Commands:") and "/mine" in group
    [direct] = _said(fake, USERS["zhao.li"])
    assert direct.startswith("可用命令：")
    assert tickets == []


async def test_a_message_to_the_company_app_follows_up_on_the_senders_ticket(
    db_url: str, fake: FakeWeCom
) -> None:
    async with wecom_service(db_url, fake, robot=False) as wecom:
        for text in ("VPN 连不上", "错误码 809"):
            message = wecom.sender.text_message(USERS["zhao.li"], text)
            assert (await wecom.sender.deliver(wecom.callback_url, message)).delivered
        tickets = await wecom.tickets()
        comments = await _comments(wecom, "IT-1001")

    assert [t["title"] for t in tickets] == ["VPN 连不上"]
    assert [c["body"] for c in comments] == ["错误码 809"]
