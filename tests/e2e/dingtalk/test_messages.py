"""Robot messages: 1:1 opens tickets, a named key becomes a comment, files become attachments."""

from __future__ import annotations

import json
import logging

import pytest

from tests.e2e.dingtalk.driver import STAFF, dingtalk_service
from tests.fakes.dingtalk import FakeDingTalk
from tests.fakes.dingtalk.payloads import TOPIC_BOT_MESSAGE


async def test_one_to_one_message_opens_a_ticket_carded_in_that_chat(
    sqlite_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(sqlite_url, fake) as dt:
        await fake.send_bot_message(
            text="VPN 连不上",
            sender_staff_id=STAFF["zhao.li"],
            conversation_type="1",
            conversation_id="cidSingle0002==",
        )
        [card] = await dt.cards(1)
        [ticket] = await dt.tickets()

    assert card.spaces == [("IM_ROBOT", STAFF["zhao.li"])]
    assert ticket["requester"] == "zhao.li" and ticket["title"] == "VPN 连不上"


async def test_group_message_not_at_the_robot_outside_help_desk_is_ignored(
    sqlite_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(sqlite_url, fake) as dt:
        payload, first = await fake.send_bot_message(
            text="午饭吃什么", sender_staff_id=STAFF["zhao.li"], conversation_id="cidOther=="
        )
        await fake.stream.wait_ack(first.message_id)
        payload = payload | {"isInAtList": False, "msgId": "msgNotAtRobot0001=="}
        push = await fake.stream.push("CALLBACK", TOPIC_BOT_MESSAGE, payload, {})
        ack = await fake.stream.wait_ack(push.message_id)
        tickets = await dt.tickets()

    assert ack.code == 200
    assert [t["title"] for t in tickets] == ["午饭吃什么"]  # only the one that was @robot


async def test_a_group_outside_help_desk_groups_is_named_in_the_log_once_with_its_id(
    sqlite_url: str, fake: FakeDingTalk, caplog: pytest.LogCaptureFixture
) -> None:
    # DingTalk shows nobody a group's openConversationId: the log is where an admin finds it
    caplog.set_level(logging.INFO, logger="gongdan.dingtalk")
    async with dingtalk_service(sqlite_url, fake) as dt:
        for text in ("打印机坏了", "投影仪也坏了"):
            _, push = await fake.send_bot_message(
                text=text,
                sender_staff_id=STAFF["han.meimei"],
                conversation_id="cidFinance==",
                conversation_title="财务部",
            )
            await fake.stream.wait_ack(push.message_id)
        await dt.tickets()

    named = [r for r in caplog.records if "help_desk_groups" in r.getMessage()]
    assert len(named) == 1
    assert (named[0].__dict__["group_id"], named[0].__dict__["group"]) == (
        "cidFinance==",
        "财务部",
    )


async def test_message_naming_a_key_becomes_a_comment(sqlite_url: str, fake: FakeDingTalk) -> None:
    async with dingtalk_service(sqlite_url, fake) as dt:
        await fake.send_bot_message(text="打印机坏了", sender_staff_id=STAFF["zhao.li"])
        await dt.cards(1)
        _, push = await fake.send_bot_message(
            text="IT-1001 补充：是3楼那台", sender_staff_id=STAFF["zhao.li"]
        )
        await fake.stream.wait_ack(push.message_id)
        async with dt.svc.http.get(
            f"{dt.svc.url}/api/v1/tickets/IT-1001/comments", headers=dt.svc.auth("admin")
        ) as r:
            comments = (await r.json())["items"]
        tickets = await dt.tickets()

    assert len(tickets) == 1
    assert [c["body"] for c in comments] == ["IT-1001 补充：是3楼那台"]


async def test_a_file_sent_with_the_message_is_kept_as_an_attachment(
    sqlite_url: str, fake: FakeDingTalk
) -> None:
    code = fake.add_file(b"%PDF-1.4 repair form")
    async with dingtalk_service(sqlite_url, fake) as dt:
        _, push = await fake.send_bot_message(
            msgtype="file",
            content={"downloadCode": code, "fileName": "报修单.pdf"},
            sender_staff_id=STAFF["zhao.li"],
        )
        await fake.stream.wait_ack(push.message_id)
        async with dt.svc.http.get(
            f"{dt.svc.url}/api/v1/tickets/IT-1001/attachments", headers=dt.svc.auth("admin")
        ) as r:
            assert r.status == 200, await r.text()
            files = (await r.json())["items"]

    assert [(f["filename"], f["size"]) for f in files] == [("报修单.pdf", 20)]


async def test_a_picture_alone_opens_a_ticket_titled_as_a_picture_with_the_picture_kept(
    sqlite_url: str, fake: FakeDingTalk
) -> None:
    code = fake.add_file(b"\xff\xd8\xff jpeg bytes")
    async with dingtalk_service(sqlite_url, fake) as dt:
        _, push = await fake.send_bot_message(
            msgtype="picture",
            content={"downloadCode": code},
            sender_staff_id=STAFF["zhao.li"],
        )
        await fake.stream.wait_ack(push.message_id)
        ticket = await dt.ticket("IT-1001")
        async with dt.svc.http.get(
            f"{dt.svc.url}/api/v1/tickets/IT-1001/attachments", headers=dt.svc.auth("admin")
        ) as r:
            files = (await r.json())["items"]

    assert ticket["title"] == "图片 / Picture"  # not the made-up file name
    assert [f["size"] for f in files] == [len(b"\xff\xd8\xff jpeg bytes")]


async def test_a_sender_the_directory_does_not_hold_is_named_by_their_nick(
    sqlite_url: str, fake: FakeDingTalk
) -> None:
    # a guest from another organisation in a shared group: 找不到该用户, but the message names them
    fake.add_user(STAFF["li.lei"], "李雷")
    async with dingtalk_service(sqlite_url, fake) as dt:
        await fake.send_bot_message(
            text=" 会议室投影仪不亮", sender_staff_id="guest0042", sender_nick="周杰"
        )
        [card] = await dt.cards(1)
        [ticket] = await dt.tickets()

    fields = {f["label"]: f["value"] for f in json.loads(card.params["fields"])}
    assert fields["提单人"] == "周杰"
    assert ticket["requester"] == "dingtalk:guest0042"
