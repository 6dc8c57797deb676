"""The WeCom double speaks WeCom's protocol: the official aibot SDK and wechatpy agree with it."""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from defusedxml import ElementTree
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from core.clock import FrozenClock
from tests.fakes.wecom import CallbackSender, FakeWeCom, parse_body, tls

FIXTURES = Path(__file__).parents[2] / "fixtures" / "wecom"
JSON = dict[str, Any]
CARD: JSON = {
    "card_type": "button_interaction",
    "main_title": {"title": "IT-1001 打印机坏了", "desc": "新工单 / New ticket"},
    "task_id": "tkt-1001-1",
    "button_list": [{"text": "受理 Accept", "style": 1, "key": "accept:1001"}],
}


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def wecom(clock: FrozenClock) -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom(clock=clock) as fake:
        yield fake


# --- the official aibot SDK against the long connection ---------------------------------------


class _Log:
    """A quiet SDK logger; `matched` is set once a line contains `watch`."""

    def __init__(self, watch: str = "") -> None:
        self.lines: list[str] = []
        self.watch = watch
        self.matched = asyncio.Event()

    def debug(self, message: str, *args: Any) -> None:
        self.lines.append(message)
        if self.watch and self.watch in message:
            self.matched.set()

    info = warn = error = debug


@pytest.fixture
def sdk() -> ModuleType:
    """The unmodified SDK, trusting the double's certificate (it only trusts certifi's CAs)."""
    with warnings.catch_warnings():
        # aibot.ws imports websockets.client.WebSocketClientProtocol, deprecated in websockets 14
        warnings.simplefilter("ignore", DeprecationWarning)
        import aibot
        import aibot.api
        import aibot.ws
    tls.trust(aibot.ws._SSL_CONTEXT)
    tls.trust(aibot.api._SSL_CONTEXT)
    module: ModuleType = aibot
    return module


def _client(sdk: ModuleType, wecom: FakeWeCom, errors: list[Exception], **options: Any) -> Any:
    settings = {"heartbeat_interval": 50, "reconnect_interval": 10, "max_reconnect_attempts": 0}
    settings |= {"logger": _Log()} | options
    client = sdk.WSClient(
        sdk.WSClientOptions(
            bot_id=wecom.bot.bot_id, secret=wecom.bot.secret, ws_url=wecom.wss_url, **settings
        )
    )
    client.on("error", errors.append)
    return client


async def test_official_sdk_replies_with_a_card_and_updates_it_on_a_click(
    sdk: ModuleType, wecom: FakeWeCom
) -> None:
    errors: list[Exception] = []
    client = _client(sdk, wecom, errors)
    acks: list[JSON] = []
    updated = asyncio.Event()

    async def on_text(frame: JSON) -> None:
        acks.append(await client.reply_template_card(frame, CARD))

    async def on_click(frame: JSON) -> None:
        event = frame["body"]["event"]["template_card_event"]
        card = CARD | {"task_id": event["task_id"], "button_list": []}
        card |= {"main_title": {"title": "IT-1001 已受理 / Accepted"}}
        acks.append(await client.update_template_card(frame, card, userids=["hanmeimei"]))
        updated.set()

    client.on("message.text", on_text)
    client.on("event.template_card_event", on_click)
    await client.connect()
    await wecom.bot.wait_subscribed()
    sent = await wecom.bot.send_group_message("wr-helpdesk", "lilei", "打印机坏了")
    [reply] = await wecom.bot.wait_for("aibot_respond_msg")
    assert reply.req_id == sent["headers"]["req_id"]
    assert wecom.bot.cards_in("wr-helpdesk")["tkt-1001-1"].template_card == CARD

    await wecom.bot.click("tkt-1001-1", "hanmeimei", "accept:1001")
    await asyncio.wait_for(updated.wait(), 3)
    shown = wecom.bot.cards_in("wr-helpdesk")["tkt-1001-1"]
    assert shown.template_card["main_title"]["title"] == "IT-1001 已受理 / Accepted"
    assert shown.updated_for == [["hanmeimei"]]
    assert [a["errcode"] for a in acks] == [0, 0]
    await wecom.bot.wait_for("ping")  # the SDK's heartbeat is acked too
    client.disconnect()
    await wecom.bot.wait_disconnected()
    assert errors == []


async def test_official_sdk_downloads_and_decrypts_a_file_from_a_group(
    sdk: ModuleType, wecom: FakeWeCom
) -> None:
    errors: list[Exception] = []
    client = _client(sdk, wecom, errors)
    got: asyncio.Future[tuple[bytes, str]] = asyncio.get_running_loop().create_future()

    async def on_file(frame: JSON) -> None:
        item = frame["body"]["file"]
        got.set_result(await client.download_file(item["url"], item["aeskey"]))

    client.on("message.file", on_file)
    await client.connect()
    await wecom.bot.wait_subscribed()
    content = "报修单 / repair form\n".encode() * 40
    await wecom.bot.send_file("wr-helpdesk", "lilei", content, "报修单.txt")
    assert await asyncio.wait_for(got, 3) == (content, "报修单.txt")
    assert next(iter(wecom.bot.media.values()))[0] != content  # served encrypted
    client.disconnect()
    await wecom.bot.wait_disconnected()
    assert errors == []


async def test_second_subscription_kicks_the_first_with_disconnected_event(
    sdk: ModuleType, wecom: FakeWeCom
) -> None:
    errors: list[Exception] = []
    first, second = _client(sdk, wecom, errors), _client(sdk, wecom, errors)
    kicked = asyncio.Event()
    first.on("event.disconnected_event", lambda frame: kicked.set())
    await first.connect()
    await wecom.bot.wait_subscribed(1)
    await second.connect()
    await wecom.bot.wait_subscribed(2)
    await asyncio.wait_for(kicked.wait(), 3)
    assert wecom.bot.connected == 1 and second.is_connected
    second.disconnect()
    await wecom.bot.wait_disconnected()


async def test_sdk_1_0_2_reconnects_after_a_drop_but_goes_quiet_after_a_kick(
    sdk: ModuleType, wecom: FakeWeCom
) -> None:
    """Recorded for the adapter: a clean close (the kick) ends the SDK's receive loop without
    an exception (websockets >= 14), so 1.0.2 emits no `disconnected` and never reconnects."""
    errors: list[Exception] = []
    first_log = _Log(watch="considered dead")
    first = _client(sdk, wecom, errors, max_reconnect_attempts=1, logger=first_log)
    disconnects: list[str] = []
    first.on("disconnected", disconnects.append)
    await first.connect()
    await wecom.bot.wait_subscribed(1)
    await wecom.bot.drop()
    await wecom.bot.wait_subscribed(2)  # an error close: the SDK came back by itself
    assert len(disconnects) == 1

    second = _client(sdk, wecom, errors)
    await second.connect()
    await wecom.bot.wait_subscribed(3)
    await asyncio.wait_for(first_log.matched.wait(), 3)  # its heartbeat finds the socket gone
    assert wecom.bot.subscriptions == 3 and not first.is_connected and len(disconnects) == 1
    first.disconnect()
    second.disconnect()
    await wecom.bot.wait_disconnected()


# --- the long connection frame by frame ---------------------------------------------------------


@asynccontextmanager
async def _raw(wecom: FakeWeCom) -> AsyncIterator[_RawBot]:
    async with aiohttp.ClientSession() as session, session.ws_connect(wecom.ws_url) as ws:
        bot = _RawBot(ws)
        yield bot


class _RawBot:
    """The frames an aibot client sends, written out by hand."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.count = 0

    async def send(self, cmd: str, body: JSON | None = None, req_id: str | None = None) -> JSON:
        self.count += 1
        frame: JSON = {"cmd": cmd, "headers": {"req_id": req_id or f"{cmd}_{self.count}"}}
        if body is not None:
            frame["body"] = body
        await self.ws.send_json(frame)
        return await self.receive()

    async def receive(self) -> JSON:
        message = await asyncio.wait_for(self.ws.receive(), 3)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        data: JSON = json.loads(message.data)
        return data

    async def subscribe(self, wecom: FakeWeCom, secret: str | None = None) -> JSON:
        body = {"bot_id": wecom.bot.bot_id, "secret": secret or wecom.bot.secret}
        return await self.send("aibot_subscribe", body)


async def test_wrong_secret_is_answered_with_an_errcode_and_nothing_else_is_accepted(
    wecom: FakeWeCom,
) -> None:
    async with _raw(wecom) as bot:
        refused = await bot.subscribe(wecom, secret="wrong")
        assert refused["errcode"] != 0 and refused["headers"]["req_id"] == "aibot_subscribe_1"
        assert (await bot.send("ping"))["errcode"] != 0
        ok = await bot.subscribe(wecom)
        assert ok == {"headers": {"req_id": "aibot_subscribe_3"}, "errcode": 0, "errmsg": "ok"}
        assert (await bot.send("ping"))["errcode"] == 0


async def test_card_update_more_than_five_seconds_after_the_click_is_refused(
    wecom: FakeWeCom, clock: FrozenClock
) -> None:
    async with _raw(wecom) as bot:
        await bot.subscribe(wecom)
        await wecom.bot.send_group_message("wr-helpdesk", "lilei", "网络断了")
        message = await bot.receive()
        reply = {"msgtype": "template_card", "template_card": CARD}
        assert (await bot.send("aibot_respond_msg", reply, message["headers"]["req_id"]))[
            "errcode"
        ] == 0
        update = {"response_type": "update_template_card", "template_card": CARD}

        late = await wecom.bot.click("tkt-1001-1", "hanmeimei", "accept:1001")
        assert (await bot.receive())["body"]["event"]["template_card_event"][
            "task_id"
        ] == "tkt-1001-1"
        clock.advance(timedelta(seconds=6))
        assert (await bot.send("aibot_respond_update_msg", update, late["headers"]["req_id"]))[
            "errcode"
        ] != 0

        prompt = await wecom.bot.click("tkt-1001-1", "hanmeimei", "accept:1001")
        await bot.receive()
        clock.advance(timedelta(seconds=4))
        assert (await bot.send("aibot_respond_update_msg", update, prompt["headers"]["req_id"]))[
            "errcode"
        ] == 0
        assert len(wecom.bot.cards["tkt-1001-1"].versions) == 2


async def test_enter_chat_gets_one_welcome_and_proactive_sends_reach_the_chat(
    wecom: FakeWeCom,
) -> None:
    async with _raw(wecom) as bot:
        await bot.subscribe(wecom)
        entered = await wecom.bot.enter_chat("lilei")
        assert (await bot.receive())["body"]["event"] == {"eventtype": "enter_chat"}
        welcome = {"msgtype": "text", "text": {"content": "你好 / Hello"}}
        req = entered["headers"]["req_id"]
        assert (await bot.send("aibot_respond_welcome_msg", welcome, req))["errcode"] == 0
        assert (await bot.send("aibot_respond_welcome_msg", welcome, req))["errcode"] != 0

        push = {
            "chatid": "wr-helpdesk",
            "msgtype": "markdown",
            "markdown": {"content": "**IT-1002**"},
        }
        assert (await bot.send("aibot_send_msg", push))["errcode"] == 0
        assert (await bot.send("aibot_send_msg", {"msgtype": "markdown"}))["errcode"] != 0
        assert [s.cmd for s in wecom.bot.chat("wr-helpdesk")] == ["aibot_send_msg"]
        assert [s.cmd for s in wecom.bot.chat("lilei")] == ["aibot_respond_welcome_msg"]


async def test_mixed_message_images_decrypt_with_the_sdk_function_and_drop_cuts_the_line(
    sdk: ModuleType, wecom: FakeWeCom
) -> None:
    async with _raw(wecom) as bot, aiohttp.ClientSession() as http:
        await bot.subscribe(wecom)
        png = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
        await wecom.bot.send_mixed("wr-helpdesk", "lilei", ["屏幕坏了", png])
        body = (await bot.receive())["body"]
        text, image = body["mixed"]["msg_item"]
        assert text == {"msgtype": "text", "text": {"content": "屏幕坏了"}}
        async with http.get(image["image"]["url"]) as response:
            assert sdk.decrypt_file(await response.read(), image["image"]["aeskey"]) == png

        await wecom.bot.drop()
        assert (await asyncio.wait_for(bot.ws.receive(), 3)).type in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSED,
        )
        assert wecom.bot.connected == 0


async def test_event_frames_carry_the_fields_of_the_documented_event_body(
    wecom: FakeWeCom,
) -> None:
    documented = json.loads((FIXTURES / "aibot_event_body.json").read_text())
    async with _raw(wecom) as bot:
        await bot.subscribe(wecom)
        await wecom.bot.send_group_message("wr-helpdesk", "lilei", "help")
        await bot.send(
            "aibot_respond_msg",
            {"msgtype": "template_card", "template_card": CARD},
            (await bot.receive())["headers"]["req_id"],
        )
        await wecom.bot.click("tkt-1001-1", "hanmeimei", "accept:1001")
        frame = await bot.receive()
    assert frame["cmd"] == "aibot_event_callback"
    assert set(frame["body"]) == set(documented)
    assert set(frame["body"]["from"]) == {"userid"}  # corpid is absent for a corp's own robot


# --- the company app's HTTP API ------------------------------------------------------------------


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _call(
    http: aiohttp.ClientSession, wecom: FakeWeCom, path: str, body: JSON | None = None, **query: str
) -> JSON:
    url = f"{wecom.base_url}/cgi-bin/{path}"
    method = (
        http.post(url, params=query, json=body) if body is not None else http.get(url, params=query)
    )
    async with method as response:
        assert response.status == 200
        data: JSON = await response.json()
        return data


async def _token(http: aiohttp.ClientSession, wecom: FakeWeCom) -> str:
    answer = await _call(
        http, wecom, "gettoken", corpid=wecom.api.corp_id, corpsecret=wecom.api.corp_secret
    )
    return str(answer["access_token"])


async def test_tokens_expire_and_every_error_comes_inside_http_200(
    wecom: FakeWeCom, clock: FrozenClock, http: aiohttp.ClientSession
) -> None:
    wrong = await _call(http, wecom, "gettoken", corpid=wecom.api.corp_id, corpsecret="nope")
    assert wrong["errcode"] == 40001
    token = await _token(http, wecom)
    wecom.api.add_user("lilei", "李雷", "lilei@example.com")
    assert (await _call(http, wecom, "user/get", access_token=token, userid="lilei"))[
        "name"
    ] == "李雷"
    assert (await _call(http, wecom, "user/get", access_token=token, userid="x"))[
        "errcode"
    ] == 60111
    assert (await _call(http, wecom, "user/get", userid="lilei"))["errcode"] == 41001
    assert (await _call(http, wecom, "user/get", access_token="t", userid="lilei"))[
        "errcode"
    ] == 40014
    wecom.api.fail_next("user/get", 40014)
    assert (await _call(http, wecom, "user/get", access_token=token, userid="lilei"))[
        "errcode"
    ] == 40014
    clock.advance(timedelta(seconds=7200))
    assert (await _call(http, wecom, "user/get", access_token=token, userid="lilei"))[
        "errcode"
    ] == 42001


async def test_response_codes_are_single_use_and_last_72_hours(
    wecom: FakeWeCom, clock: FrozenClock, http: aiohttp.ClientSession
) -> None:
    token = await _token(http, wecom)
    send = {
        "touser": "lilei",
        "agentid": wecom.api.agent_id,
        "msgtype": "template_card",
        "template_card": CARD,
    }
    sent = await _call(http, wecom, "message/send", send, access_token=token)
    assert sent["errcode"] == 0 and sent["response_code"]
    duplicate = await _call(http, wecom, "message/send", send, access_token=token)
    assert duplicate["errcode"] == 40058

    update = {
        "userids": ["lilei"],
        "agentid": wecom.api.agent_id,
        "response_code": sent["response_code"],
    }
    update["button"] = {"replace_name": "已受理 / Accepted"}
    assert (await _call(http, wecom, "message/update_template_card", update, access_token=token))[
        "errcode"
    ] == 0
    assert wecom.api.cards["tkt-1001-1"].replaced_name == "已受理 / Accepted"
    reused = await _call(http, wecom, "message/update_template_card", update, access_token=token)
    assert reused["errcode"] != 0

    update["response_code"] = wecom.api.issue_response_code("tkt-1001-1")
    clock.advance(timedelta(hours=72, seconds=1))
    token = await _token(http, wecom)
    expired = await _call(http, wecom, "message/update_template_card", update, access_token=token)
    assert expired["errcode"] != 0 and "expired" in expired["errmsg"]


async def test_group_robot_webhook_gives_45009_on_the_21st_message_in_a_minute(
    wecom: FakeWeCom, clock: FrozenClock, http: aiohttp.ClientSession
) -> None:
    text = {"msgtype": "text", "text": {"content": "IT-1001 新工单"}}
    key = wecom.api.webhook_key
    answers = [
        (await _call(http, wecom, "webhook/send", text, key=key))["errcode"] for _ in range(21)
    ]
    assert answers == [0] * 20 + [45009]
    clock.advance(timedelta(seconds=60))
    assert (await _call(http, wecom, "webhook/send", text, key=key))["errcode"] == 0
    assert (await _call(http, wecom, "webhook/send", text, key="other"))["errcode"] == 93000
    assert len(wecom.api.webhook) == 21


async def test_appchat_refuses_template_cards_and_faults_are_injectable(
    wecom: FakeWeCom, http: aiohttp.ClientSession
) -> None:
    token = await _token(http, wecom)
    card = {"chatid": "wr-helpdesk", "msgtype": "template_card", "template_card": CARD}
    assert (await _call(http, wecom, "appchat/send", card, access_token=token))["errcode"] == 40008
    note = {"chatid": "wr-helpdesk", "msgtype": "markdown", "markdown": {"content": "**IT-1001**"}}
    assert (await _call(http, wecom, "appchat/send", note, access_token=token))["errcode"] == 0

    wecom.api.fail_next("appchat/send", status=502)
    url = f"{wecom.base_url}/cgi-bin/appchat/send"
    async with http.post(url, params={"access_token": token}, json=note) as response:
        assert response.status == 502
    gate = wecom.api.hang_next("appchat/send")
    with pytest.raises(TimeoutError):
        await http.post(
            url, params={"access_token": token}, json=note, timeout=aiohttp.ClientTimeout(total=0.1)
        )
    gate.set()
    media_id = wecom.api.add_media(b"log line\n", "error.log")
    async with http.get(
        f"{wecom.base_url}/cgi-bin/media/get", params={"access_token": token, "media_id": media_id}
    ) as response:
        assert await response.read() == b"log line\n"
    assert len(wecom.api.calls_to("appchat/send")) == 4


# --- encrypted callbacks ------------------------------------------------------------------------


def test_official_vector_verifies_the_url_and_decrypts_the_message_with_wechatpy() -> None:
    vector = json.loads((FIXTURES / "crypto_vector_90968.json").read_text())
    crypto = WeChatCrypto(vector["token"], vector["encoding_aes_key"], vector["corp_id"])
    url = vector["verify_url"]
    echo = crypto.check_signature(
        url["msg_signature"], url["timestamp"], url["nonce"], url["echostr"]
    )
    assert echo == url["plaintext"]
    msg = vector["message"]
    plain = crypto.decrypt_message(
        msg["body"], msg["msg_signature"], msg["timestamp"], msg["nonce"]
    )
    fields = parse_body(plain)
    assert (fields["FromUserName"], fields["Content"], fields["AgentID"]) == (
        msg["plaintext_from"],
        msg["plaintext_content"],
        msg["plaintext_agent_id"],
    )


def _sender(clock: FrozenClock, **options: Any) -> CallbackSender:
    vector = json.loads((FIXTURES / "crypto_vector_90968.json").read_text())
    return CallbackSender(
        vector["token"], vector["encoding_aes_key"], vector["corp_id"], 218, clock, **options
    )


def test_sender_ciphertext_decrypts_with_wechatcrypto_and_a_wrong_token_or_corp_fails(
    clock: FrozenClock,
) -> None:
    sender = _sender(clock)
    plaintext = sender.card_click("lilei", "tkt-1001-1", "accept:1001", "rc-1")
    message = sender.encrypt(plaintext)
    q = message.query
    crypto = WeChatCrypto(sender.token, sender.encoding_aes_key, sender.corp_id)
    assert (
        crypto.decrypt_message(message.body, q["msg_signature"], q["timestamp"], q["nonce"])
        == plaintext
    )
    assert q["timestamp"] == str(int(clock.now().timestamp()))
    with pytest.raises(InvalidSignatureException):
        WeChatCrypto("wrong", sender.encoding_aes_key, sender.corp_id).decrypt_message(
            message.body, q["msg_signature"], q["timestamp"], q["nonce"]
        )
    with pytest.raises(InvalidCorpIdException):
        WeChatCrypto(sender.token, sender.encoding_aes_key, "ww-other").decrypt_message(
            message.body, q["msg_signature"], q["timestamp"], q["nonce"]
        )


def _tags(xml: str) -> set[str]:
    return {element.tag for element in ElementTree.fromstring(xml).iter()}


@pytest.mark.parametrize(
    ("fixture", "build"),
    [
        ("callback_text.xml", lambda s: s.text_message("lilei", "打印机坏了")),
        (
            "callback_template_card_event.xml",
            lambda s: s.card_click("lilei", "t", "k", "rc", selected={"q1": ["o1", "o2"]}),
        ),
        ("callback_enter_agent.xml", lambda s: s.enter_agent("lilei")),
    ],
)
def test_sender_xml_has_the_elements_of_the_official_sample(
    clock: FrozenClock, fixture: str, build: Callable[[CallbackSender], str]
) -> None:
    assert _tags(build(_sender(clock))) == _tags((FIXTURES / fixture).read_text())


@asynccontextmanager
async def _endpoint(handler: Callable[[web.Request], Any]) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/wecom/callback", handler)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/wecom/callback"
    finally:
        await runner.cleanup()


async def test_sender_retries_a_slow_endpoint_like_wecom_with_the_same_request(
    clock: FrozenClock,
) -> None:
    sender = _sender(clock, timeout=0.05)
    crypto = WeChatCrypto(sender.token, sender.encoding_aes_key, sender.corp_id)
    seen: list[tuple[str, str]] = []

    async def slow_twice(request: web.Request) -> web.Response:
        q = request.query
        seen.append(
            (
                q["nonce"],
                crypto.decrypt_message(
                    await request.text(), q["msg_signature"], q["timestamp"], q["nonce"]
                ),
            )
        )
        if len(seen) <= 2:
            await asyncio.sleep(0.2)
        return web.Response(text="")

    async with _endpoint(slow_twice) as url:
        delivery = await sender.deliver(url, sender.text_message("lilei", "打印机坏了"))
    assert [a.status for a in delivery.attempts] == [None, None, 200]
    assert len(set(seen)) == 1  # a retry is the same request again

    async def never(request: web.Request) -> web.Response:
        return web.Response(status=503)

    async with _endpoint(never) as url:
        failed = await sender.deliver(url, sender.enter_agent("lilei"))
    assert [a.status for a in failed.attempts] == [503] * 4 and not failed.delivered


async def test_url_verification_get_carries_an_echostr_the_app_decrypts(clock: FrozenClock) -> None:
    sender = _sender(clock)
    crypto = WeChatCrypto(sender.token, sender.encoding_aes_key, sender.corp_id)

    async def verify(request: web.Request) -> web.Response:
        q = request.query
        return web.Response(
            text=crypto.check_signature(
                q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"]
            )
        )

    async with _endpoint(verify) as url:
        result = await sender.verify_url(url)
    assert result.status == 200 and result.body == result.echostr_plaintext
