"""The company app 1:1: encrypted callbacks -> ticket -> card; the card updates in place with
single-use response codes, and a fresh card says so when none is left."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from adapters.wecom.callback import parse_xml, signature
from core.clock import FrozenClock
from tests.e2e.harness import running
from tests.e2e.slack.test_recipient_locale import OPENED, bob_is_reminded
from tests.e2e.wecom.driver import (
    TOKEN,
    USERS,
    WeComDriver,
    button,
    shows,
    until,
    wecom_config,
    wecom_service,
)
from tests.fakes.wecom import FakeWeCom, SentCard


async def _card_for(wecom: WeComDriver, user: str, count: int = 1) -> list[SentCard]:
    fake = wecom.fake
    await until(lambda: len([c for c in fake.api.cards.values() if user in c.touser]) >= count)
    return [c for c in fake.api.cards.values() if user in c.touser]


async def test_a_message_to_the_app_opens_a_ticket_and_a_click_updates_the_card_in_place(
    db_url: str, fake: FakeWeCom
) -> None:
    async with wecom_service(db_url, fake, robot=False) as wecom:
        text = wecom.sender.text_message(USERS["li.lei"], "显示器闪屏")
        delivery = await wecom.sender.deliver(wecom.callback_url, text)
        tickets = await wecom.tickets()  # the 200 came after the commit
        [card] = await _card_for(wecom, USERS["li.lei"])

        code = fake.api.issue_response_code(card.task_id)
        click = wecom.sender.card_click(
            USERS["li.lei"], card.task_id, button(card.template_card, "accept"), code
        )
        clicked = await wecom.sender.deliver(wecom.callback_url, click)
        await until(lambda: card.updates)

    assert delivery.delivered and len(delivery.attempts) == 1
    assert clicked.delivered
    assert [t["title"] for t in tickets] == ["显示器闪屏"]
    assert card.updates[0]["response_code"] == code  # the click's own code, used once
    assert "已受理" in shows(card.template_card)
    assert len(fake.api.cards) == 1


async def test_with_no_response_code_left_a_fresh_card_is_sent_and_says_so(
    db_url: str, fake: FakeWeCom
) -> None:
    async with wecom_service(db_url, fake, robot=False) as wecom:
        text = wecom.sender.text_message(USERS["li.lei"], "键盘失灵")
        await wecom.sender.deliver(wecom.callback_url, text)
        [first] = await _card_for(wecom, USERS["li.lei"])
        assert await wecom.act("li.lei", "IT-1001", "accept") == 200
        await until(lambda: first.updates)  # the code message/send returned, now spent
        assert await wecom.act("li.lei", "IT-1001", "start") == 200
        cards = await _card_for(wecom, USERS["li.lei"], 2)

    fresh = next(c for c in cards if c is not first)
    assert len(first.updates) == 1
    assert "原卡片已无法更新" in shows(fresh.template_card)
    assert "处理中" in shows(fresh.template_card)


async def test_a_refused_response_code_also_gets_a_fresh_card(db_url: str, fake: FakeWeCom) -> None:
    async with wecom_service(db_url, fake, robot=False) as wecom:
        await wecom.sender.deliver(
            wecom.callback_url, wecom.sender.text_message("lilei", "鼠标坏了")
        )
        await _card_for(wecom, USERS["li.lei"])
        fake.api.fail_next("message/update_template_card", 40058)
        assert await wecom.act("li.lei", "IT-1001", "accept") == 200
        cards = await _card_for(wecom, USERS["li.lei"], 2)

    assert "已受理" in shows(cards[-1].template_card)


async def test_a_replayed_callback_has_one_effect(db_url: str, fake: FakeWeCom) -> None:
    async with wecom_service(db_url, fake, robot=False) as wecom:
        message = wecom.sender.encrypt(wecom.sender.text_message(USERS["zhao.li"], "网络断了"))
        statuses = []
        for _ in range(3):
            async with wecom.svc.http.post(
                wecom.callback_url, params=message.query, data=message.body
            ) as r:
                statuses.append(r.status)
        await _card_for(wecom, USERS["zhao.li"])
        await asyncio.sleep(0.2)
        tickets = await wecom.tickets()

    assert statuses == [200, 200, 200]
    assert len(tickets) == 1
    assert len(fake.api.cards) == 1


@pytest.mark.parametrize("forgery", ["signature", "nonce_reused", "stale"])
async def test_a_forged_callback_is_refused_with_401_and_changes_nothing(
    db_url: str, fake: FakeWeCom, forgery: str
) -> None:
    async with wecom_service(db_url, fake, robot=False) as wecom:
        genuine = wecom.sender.encrypt(wecom.sender.text_message(USERS["zhao.li"], "第一条"))
        other = wecom.sender.encrypt(wecom.sender.text_message(USERS["zhao.li"], "伪造"))
        query = dict(other.query)
        if forgery == "signature":
            query["msg_signature"] = "0" * 40
        elif forgery == "nonce_reused":
            async with wecom.svc.http.post(
                wecom.callback_url, params=genuine.query, data=genuine.body
            ) as r:
                assert r.status == 200
            query["nonce"] = genuine.query["nonce"]
            query["msg_signature"] = _resign(other.body, query)
        else:
            query["timestamp"] = str(int(time.time()) - 3600)
            query["msg_signature"] = _resign(other.body, query)
        async with wecom.svc.http.post(wecom.callback_url, params=query, data=other.body) as r:
            status, reason = r.status, await r.text()
        tickets = await wecom.tickets()

    assert status == 401, reason
    assert [t["title"] for t in tickets] == (["第一条"] if forgery == "nonce_reused" else [])


async def test_the_callback_url_check_answers_the_decrypted_echostr(
    db_url: str, fake: FakeWeCom
) -> None:
    async with wecom_service(db_url, fake, robot=False) as wecom:
        check = await wecom.sender.verify_url(wecom.callback_url)

    assert (check.status, check.body) == (200, check.echostr_plaintext)


@pytest.mark.parametrize("body", ["bomb", "xxe", "garbage"])
async def test_hostile_xml_is_refused_fast_with_400(
    db_url: str, fake: FakeWeCom, body: str
) -> None:
    payloads = {
        "bomb": '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        + "".join(
            f'<!ENTITY a{i} "{"&a;" * 10 if i == 0 else f"&a{i - 1};" * 10}">' for i in range(9)
        )
        + "]><xml><Encrypt>&a8;</Encrypt></xml>",
        "xxe": '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>',
        "garbage": "<xml><Encrypt>",
    }
    async with wecom_service(db_url, fake, robot=False) as wecom:
        query = wecom.sender.encrypt("<xml/>").query
        started = time.monotonic()
        async with wecom.svc.http.post(wecom.callback_url, params=query, data=payloads[body]) as r:
            status = r.status
        took = time.monotonic() - started

    assert status == 400
    assert took < 0.1


def _resign(body: str, query: dict[str, str]) -> str:
    encrypted = parse_xml(body).findtext("Encrypt") or ""
    return signature(TOKEN, query["timestamp"], query["nonce"], encrypted)


async def test_a_video_sent_to_the_app_is_answered_in_the_senders_language_not_ignored(
    db_url: str, fake: FakeWeCom
) -> None:
    async with wecom_service(db_url, fake, robot=False) as wecom:
        video = wecom.sender.video_message(USERS["bob.smith"])
        delivery = await wecom.sender.deliver(wecom.callback_url, video)
        [answer] = await until(lambda: [m for m in fake.api.messages if m.get("msgtype") == "text"])
        tickets = await wecom.tickets()

    assert delivery.delivered and tickets == []
    assert answer["touser"] == USERS["bob.smith"]
    assert "can't read" in answer["text"]["content"]


async def test_a_reminder_from_the_app_is_updated_in_place_when_the_ticket_changes(
    db_url: str, fake: FakeWeCom
) -> None:
    clock = FrozenClock(OPENED)  # bob.smith (English) is assigned everything, reminded at -10 min
    config = wecom_config(db_url, fake, robot=False, edit=bob_is_reminded)
    async with running(config, clock) as svc:
        async with svc.http.post(
            svc.url + "/api/v1/tickets",
            json={"type": "it", "title": "VPN 连不上"},
            headers=svc.auth("zhao.li"),
        ) as r:
            assert r.status == 201
        scheduler = svc.services.scheduler
        assert scheduler is not None
        clock.advance(timedelta(hours=3, minutes=50))
        await scheduler.tick()
        await until(lambda: any(USERS["bob.smith"] in c.touser for c in fake.api.cards.values()))
        [reminder] = [c for c in fake.api.cards.values() if USERS["bob.smith"] in c.touser]
        sent = shows(reminder.template_card)
        async with svc.http.post(
            svc.url + "/api/v1/tickets/IT-1001/actions/accept", headers=svc.auth("bob.smith")
        ) as r:
            assert r.status == 200
        await until(lambda: reminder.updates)

    assert "Snooze" in sent and "Accept" in sent
    # the app's own card, changed with its response code (valid 72 h), still the reminder
    assert reminder.updates[0]["response_code"]
    now = shows(reminder.template_card)
    assert "Accepted" in now and "Snooze" in now
    assert not any(b["key"].startswith("accept|") for b in reminder.template_card["button_list"])
