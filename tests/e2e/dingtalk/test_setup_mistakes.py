"""What an administrator sees after a setup mistake the configuration check cannot catch:
DingTalk's refusal, named by the key to fix, and the tickets still reaching people."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.e2e.dingtalk.driver import (
    GROUP,
    STAFF,
    DingTalkDriver,
    dingtalk_config,
    dingtalk_service,
)
from tests.e2e.harness import running
from tests.fakes.dingtalk import FakeDingTalk, Fault

CREATE_AND_DELIVER = "/v1.0/card/instances/createAndDeliver"
GROUP_SEND = "/v1.0/robot/groupMessages/send"


async def test_a_wrong_client_secret_is_an_error_naming_the_keys(
    sqlite_url: str, fake: FakeDingTalk, caplog: pytest.LogCaptureFixture
) -> None:
    config = dingtalk_config(sqlite_url, fake, client_secret="copied-the-wrong-one")
    async with running(config) as svc:
        dt = DingTalkDriver(svc, fake)
        await dt.until(lambda: any(r.levelno >= logging.ERROR for r in caplog.records))

    [error, *_] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    said = error.getMessage() + " " + str(error.__dict__.get("error"))
    assert "channels.dingtalk.client_secret" in said and "channels.dingtalk.client_id" in said


async def test_a_card_template_dingtalk_does_not_know_still_shows_the_ticket(
    sqlite_url: str, fake: FakeDingTalk, caplog: pytest.LogCaptureFixture
) -> None:
    fake.templates = {"the-one-we-published.schema"}  # card_template_id names another
    async with dingtalk_service(sqlite_url, fake) as dt:
        await fake.send_bot_message(text=" 3楼打印机坏了", sender_staff_id=STAFF["zhao.li"])
        await dt.until(lambda: any(s.via == "group" for s in fake.sent))
        await dt.svc.http.post(
            f"{dt.svc.url}/api/v1/tickets/IT-1001/actions/accept", headers=dt.svc.auth("li.lei")
        )
        await dt.until(lambda: len([s for s in fake.sent if s.via == "group"]) == 2)

    first, second = [s for s in fake.sent if s.via == "group"]
    assert first.target == GROUP and first.msg_key == "sampleActionCard"
    assert "IT-1001" in first.param["title"] and "已分派" in first.param["text"]
    assert "已受理" in second.param["text"]  # a change is a new message, as without a template
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and all("outbox item failed" not in r.getMessage() for r in errors)
    assert any("channels.dingtalk.card_template_id" in str(r.__dict__.get("error")) for r in errors)
    assert fake.cards == {}


async def test_a_missing_permission_is_logged_with_its_name(
    sqlite_url: str, fake: FakeDingTalk, caplog: pytest.LogCaptureFixture
) -> None:
    # the app was published without 互动卡片实例写权限, and robot messages lack theirs too
    fake.fail_next(CREATE_AND_DELIVER, Fault.permission_denied("Card.Instance.Write"))
    fake.fail_next(GROUP_SEND, Fault.permission_denied("qyapi_robot_sendmsg"))
    async with dingtalk_service(sqlite_url, fake) as dt:
        await fake.send_bot_message(text=" 3楼打印机坏了", sender_staff_id=STAFF["zhao.li"])
        await dt.until(lambda: len(fake.calls_to(GROUP_SEND)) == 1)
        await dt.settle()

    said = " ".join(
        r.getMessage() + " " + str(r.__dict__.get("error"))
        for r in caplog.records
        if r.levelno >= logging.ERROR
    )
    assert "Card.Instance.Write" in said and "qyapi_robot_sendmsg" in said


async def test_a_wrong_robot_code_is_named_when_a_message_is_refused(
    sqlite_url: str, fake: FakeDingTalk, caplog: pytest.LogCaptureFixture
) -> None:
    async with dingtalk_service(
        sqlite_url, fake, robot_code="dingrobot-of-another-app", card_template_id=None
    ) as dt:
        await fake.send_bot_message(text=" 3楼打印机坏了", sender_staff_id=STAFF["zhao.li"])
        await dt.until(lambda: len(fake.calls_to(GROUP_SEND)) == 1)  # the ticket's card
        await dt.settle()

    assert fake.sent == []
    failed = [r for r in caplog.records if r.getMessage() == "outbox item failed for good"]
    assert failed and "channels.dingtalk.robot_code" in str(failed[0].__dict__.get("error"))


async def test_a_base_url_on_this_machine_is_warned_about(
    sqlite_url: str, fake: FakeDingTalk, caplog: pytest.LogCaptureFixture
) -> None:
    # the example config's http://127.0.0.1:8080 would put links in cards nobody else can open
    async with dingtalk_service(sqlite_url, fake):
        pass

    def public(data: dict[str, Any]) -> None:
        data["service"]["base_url"] = "https://gongdan.acme.example"

    warned = [r for r in caplog.records if "service.base_url" in r.getMessage()]
    caplog.clear()
    async with running(dingtalk_config(sqlite_url, fake, edit=public)):
        await fake.wait_connected(2)

    assert len(warned) == 1 and warned[0].levelno == logging.WARNING
    assert not [r for r in caplog.records if "service.base_url" in r.getMessage()]
