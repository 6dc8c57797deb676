"""What the smart robot does with each kind of message, and with one it could not keep: WeCom
never sends a robot message again, so the sender is always told."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.wecom.driver import GROUP, USERS, until, wecom_service
from tests.fakes.wecom import FakeWeCom


async def test_a_message_whose_commit_fails_is_answered_in_the_chat_in_the_senders_language(
    db_url: str, fake: FakeWeCom, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with wecom_service(db_url, fake, app=False) as wecom:

        async def failing(*args: Any, **kwargs: Any) -> Any:
            raise OSError("disk I/O error")

        monkeypatch.setattr(wecom.svc.services.service, "submit", failing)
        await fake.bot.send_group_message(GROUP, USERS["zhao.li"], "服务器宕机")
        await fake.bot.send_group_message(GROUP, USERS["bob.smith"], "the VPN is down")
        told = await until(lambda: len(fake.bot.replies(GROUP)) == 2 and fake.bot.replies(GROUP))
        monkeypatch.undo()
        tickets = await wecom.tickets()

    [english] = [t for t in told if "not recorded" in t]  # the two are answered in any order
    [chinese] = [t for t in told if "没有记录" in t]
    assert "send it again" in english and "再发一次" in chinese
    assert tickets == [] and fake.bot.cards == {}


async def test_a_voice_message_opens_a_ticket_that_says_it_came_by_voice(
    db_url: str, fake: FakeWeCom
) -> None:
    async with wecom_service(db_url, fake, app=False) as wecom:
        await fake.bot.send_voice(None, USERS["zhao.li"], "三楼的打印机又卡纸了")
        await until(lambda: fake.bot.cards_in(USERS["zhao.li"]))
        [ticket] = await wecom.tickets()
        async with wecom.svc.http.get(
            wecom.svc.url + f"/api/v1/tickets/{ticket['key']}", headers=wecom.svc.auth("admin")
        ) as r:
            description = (await r.json())["description"]

    assert ticket["title"] == "三楼的打印机又卡纸了"
    assert description.startswith("三楼的打印机又卡纸了\n\n")
    assert "语音消息" in description and "voice message" in description


async def test_a_video_or_a_voice_message_with_no_words_gets_an_answer_not_silence(
    db_url: str, fake: FakeWeCom
) -> None:
    async with wecom_service(db_url, fake, app=False) as wecom:
        video = {"video": {"url": "https://example.invalid/v", "aeskey": "k"}}
        await fake.bot.push_message(GROUP, USERS["zhao.li"], "video", video)
        await fake.bot.send_voice(None, USERS["bob.smith"], "")
        group = await until(lambda: fake.bot.replies(GROUP))
        direct = await until(lambda: fake.bot.replies(USERS["bob.smith"]))
        tickets = await wecom.tickets()

    assert "无法读取" in group[0] and "文字" in group[0]
    assert "can't read" in direct[0] and "in words" in direct[0]
    assert tickets == []


async def test_a_frame_that_is_not_json_is_ignored_and_the_robot_keeps_listening(
    db_url: str, fake: FakeWeCom
) -> None:
    async with wecom_service(db_url, fake, app=False) as wecom:
        await fake.bot.send_raw("{not json")
        await fake.bot.send_raw('{"cmd": "aibot_msg_callback", "body": NaN}')  # not JSON either
        await fake.bot.send_raw("[]")
        await fake.bot.send_group_message(GROUP, USERS["zhao.li"], "三楼打印机卡纸")
        await until(lambda: fake.bot.cards_in(GROUP))
        tickets = await wecom.tickets()

    assert [t["title"] for t in tickets] == ["三楼打印机卡纸"]
    assert fake.bot.subscriptions == 1  # the same connection, never dropped
