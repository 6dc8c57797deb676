"""The smart robot in a group: @mention -> ticket -> card; a click replaces the card in place."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest

from tests.e2e.wecom.driver import (
    GROUP,
    USERS,
    WeComDriver,
    button,
    shows,
    until,
    wecom_service,
)
from tests.fakes.wecom import FakeWeCom


async def test_a_group_mention_opens_a_ticket_and_a_click_replaces_its_card(
    db_url: str, fake: FakeWeCom
) -> None:
    async with wecom_service(db_url, fake, app=False) as wecom:
        await fake.bot.send_group_message(GROUP, USERS["zhao.li"], "会议室投影仪不亮")
        cards = await until(lambda: fake.bot.cards_in(GROUP))
        [(task_id, card)] = cards.items()
        tickets = await wecom.tickets()

        click = await fake.bot.click(task_id, USERS["li.lei"], button(card.template_card, "accept"))
        await until(lambda: len(card.versions) == 2)
        await asyncio.sleep(0.3)  # the outbox's card update, if any, would have gone out by now
        said = fake.bot.chat(GROUP)

    assert [(t["key"], t["title"]) for t in tickets] == [("IT-1001", "会议室投影仪不亮")]
    assert "IT-1001" in shows(card.versions[0])
    assert "已受理" in shows(card.template_card)
    assert fake.bot.answers(click["headers"]["req_id"])[0]["errcode"] == 0
    # the card itself changed, so no second message says so
    assert [s.cmd for s in said] == ["aibot_send_msg"]


async def test_a_redelivered_robot_message_opens_one_ticket(db_url: str, fake: FakeWeCom) -> None:
    async with wecom_service(db_url, fake, app=False) as wecom:
        frame = await fake.bot.send_group_message(GROUP, USERS["zhao.li"], "打印机卡纸")
        await until(lambda: fake.bot.cards_in(GROUP))
        await fake.bot.push_message(GROUP, USERS["zhao.li"], "text", {})  # no content: ignored
        live = fake.bot._live()
        await fake.bot._send(live, frame)  # WeCom sends the same msgid again
        await asyncio.sleep(0.3)
        tickets = await wecom.tickets()

    assert len(tickets) == 1
    assert len(fake.bot.cards) == 1


async def test_a_change_made_elsewhere_is_said_in_one_line_in_the_group(
    db_url: str, fake: FakeWeCom
) -> None:
    async with wecom_service(db_url, fake, app=False) as wecom:
        await fake.bot.send_group_message(GROUP, USERS["zhao.li"], "空调漏水")
        await until(lambda: fake.bot.cards_in(GROUP))
        assert await wecom.act("li.lei", "IT-1001", "accept") == 200
        notices = await until(
            lambda: [s for s in fake.bot.chat(GROUP) if s.body.get("msgtype") == "markdown"]
        )

    assert "IT-1001" in notices[0].body["markdown"]["content"]
    assert "已受理" in notices[0].body["markdown"]["content"]
    assert len(fake.bot.cards) == 1  # no second full card


async def test_entering_the_chat_gets_a_welcome_that_says_how_to_raise_a_ticket(
    db_url: str, fake: FakeWeCom
) -> None:
    async with wecom_service(db_url, fake, app=False):
        await fake.bot.enter_chat(USERS["zhao.li"])
        [welcome] = await until(lambda: fake.bot.chat(USERS["zhao.li"]))

    assert welcome.cmd == "aibot_respond_welcome_msg"
    assert "@" in welcome.body["text"]["content"]


async def test_a_kicked_robot_connection_stops_reconnecting_and_says_why(
    db_url: str, fake: FakeWeCom, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="gongdan.wecom")
    async with wecom_service(db_url, fake, app=False) as wecom:
        robot = wecom.channel.robot
        assert robot is not None
        async with aiohttp.ClientSession() as session, session.ws_connect(fake.ws_url) as other:
            subscribe = {"bot_id": fake.bot.bot_id, "secret": fake.bot.secret}
            await other.send_json(
                {"cmd": "aibot_subscribe", "headers": {"req_id": "r1"}, "body": subscribe}
            )
            await asyncio.wait_for(robot.done(), 5.0)
            await asyncio.sleep(0.2)
            connects = robot.connects

    assert connects == 1
    assert robot.stopped_because is not None and "another connection" in robot.stopped_because
    assert any("will not reconnect" in r.getMessage() for r in caplog.records)


async def test_a_dropped_robot_connection_is_reopened(db_url: str, fake: FakeWeCom) -> None:
    async with wecom_service(db_url, fake, app=False) as wecom:
        robot = wecom.channel.robot
        assert robot is not None
        robot._backoff = (0.01,)
        await fake.bot.drop()
        await fake.bot.wait_subscribed(2)

    assert robot.connects == 2
    assert robot.stopped_because is None


async def test_images_and_files_sent_to_the_robot_are_kept_as_attachments(
    db_url: str, fake: FakeWeCom
) -> None:
    picture = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    async with wecom_service(db_url, fake, app=False) as wecom:
        await fake.bot.send_mixed(GROUP, USERS["zhao.li"], ["@工单机器人 打印机报错", picture])
        await until(lambda: fake.bot.cards_in(GROUP))
        await fake.bot.send_file(None, USERS["zhao.li"], b"log line\n" * 100, "错误日志.txt")
        await until(lambda: len(fake.bot.cards) == 2)
        first = await _attachments(wecom, "IT-1001")
        second = await _attachments(wecom, "IT-1002")

    assert [a["size"] for a in first] == [len(picture)]
    assert [(a["filename"], a["size"]) for a in second] == [("错误日志.txt", 900)]


async def _attachments(wecom: WeComDriver, key: str) -> list[dict[str, object]]:
    async def listed() -> list[dict[str, object]]:
        async with wecom.svc.http.get(
            wecom.svc.url + f"/api/v1/tickets/{key}/attachments", headers=wecom.svc.auth("admin")
        ) as r:
            return list((await r.json())["items"])

    async with asyncio.timeout(5):
        while True:
            items = await listed()
            if items:
                return items
            await asyncio.sleep(0.05)


async def test_a_refused_click_shows_the_current_card_and_tells_the_clicker_why(
    db_url: str, fake: FakeWeCom
) -> None:
    async with wecom_service(db_url, fake, app=False) as wecom:
        await fake.bot.send_group_message(GROUP, USERS["zhao.li"], "门禁卡失效")
        [(task_id, card)] = (await until(lambda: fake.bot.cards_in(GROUP))).items()
        assert await wecom.act("li.lei", "IT-1001", "accept") == 200
        # a stale card: the requester presses Accept on the version they still see
        await fake.bot.click(task_id, USERS["zhao.li"], button(card.versions[0], "accept"))
        await until(lambda: len(card.versions) == 2)
        told = await until(lambda: fake.bot.chat(USERS["zhao.li"]))

    assert "已受理" in shows(card.template_card)
    assert told[0].cmd == "aibot_send_msg" and told[0].body["msgtype"] == "markdown"


async def test_assign_on_a_group_card_takes_the_person_chosen_in_its_dropdown(
    db_url: str, fake: FakeWeCom
) -> None:
    async with wecom_service(db_url, fake, app=False) as wecom:
        await fake.bot.send_group_message(GROUP, USERS["zhao.li"], "投影仪遥控器丢了")
        [(task_id, card)] = (await until(lambda: fake.bot.cards_in(GROUP))).items()
        dropdown = card.template_card["button_selection"]
        await fake.bot.click(
            task_id,
            USERS["li.lei"],
            button(card.template_card, "assign"),
            selected={dropdown["question_key"]: ["bob.smith"]},
        )
        await until(lambda: len(card.versions) == 2)
        [ticket] = await wecom.tickets()
        await wecom.settle()

    # the team, less li.lei who holds it
    assert [o["text"] for o in dropdown["option_list"]] == ["韩梅梅", "鲍勃"]
    assert ticket["assignee"] == "bob.smith"
    assert "鲍勃" in shows(card.template_card)
    # the next choice is someone else: the dropdown no longer offers the assignee
    assert [o["text"] for o in card.template_card["button_selection"]["option_list"]] == [
        "李雷",
        "韩梅梅",
    ]
    # the card shows it: no status line repeats it in the group
    assert not [s for s in fake.bot.chat(GROUP) if "当前状态" in shows(s.body)]
