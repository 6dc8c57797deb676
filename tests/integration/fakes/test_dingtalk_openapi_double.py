"""The DingTalk double's HTTP side answers like api.dingtalk.com and oapi.dingtalk.com: tokens,
cards keyed by outTrackId, robot messages, DING, the directory, files and injected faults."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import aiohttp
import dingtalk_stream
import pytest

from core.clock import FrozenClock
from tests.fakes.dingtalk import FakeDingTalk, Fault
from tests.integration.fakes.conftest import ack, connect, fixture, receive, token

JSON = dict[str, Any]


async def call(
    http: aiohttp.ClientSession, dt: FakeDingTalk, method: str, path: str, body: JSON, tok: str
) -> tuple[int, Any]:
    headers = {"x-acs-dingtalk-access-token": tok}
    async with http.request(method, f"{dt.base_url}{path}", json=body, headers=headers) as resp:
        text = await resp.text()
        return resp.status, (json.loads(text) if resp.content_type == "application/json" else text)


def card_body(out_track_id: str = "tkt-IT-1001", **params: Any) -> JSON:
    body: JSON = fixture("card_create_and_deliver_group.json")
    body["outTrackId"] = out_track_id
    body["imGroupOpenDeliverModel"]["robotCode"] = "dingtestappkey0001"
    body["cardData"]["cardParamMap"] |= params
    return body


async def test_access_token_is_issued_for_the_app_secret_and_refused_for_a_wrong_one(
    http: aiohttp.ClientSession, dt: FakeDingTalk
) -> None:
    good = await token(http, dt)
    bad = {"appKey": dt.app_key, "appSecret": "wrong"}
    async with http.post(f"{dt.base_url}/v1.0/oauth2/accessToken", json=bad) as resp:
        refused = (resp.status, await resp.json())

    assert dt.token_valid(good)
    assert refused[0] == 400
    assert refused[1].keys() == fixture("error_invalid_client_secret.json").keys()
    assert refused[1]["code"] == "invalidClientIdOrSecret"


async def test_legacy_gettoken_reports_a_wrong_secret_inside_http_200(
    http: aiohttp.ClientSession, dt: FakeDingTalk
) -> None:
    url = f"{dt.base_url}/gettoken"
    async with http.get(url, params={"appkey": dt.app_key, "appsecret": dt.app_secret}) as ok:
        issued = await ok.json()
    async with http.get(url, params={"appkey": dt.app_key, "appsecret": "x"}) as resp:
        refused = (resp.status, await resp.json())

    assert issued["errcode"] == 0 and issued["expires_in"] == 7200
    assert refused == (200, {"errcode": 40089, "errmsg": "不合法的corpid或corpsecret"})


async def test_an_expired_token_is_refused_like_dingtalk_does(
    http: aiohttp.ClientSession, dt: FakeDingTalk, clock: FrozenClock
) -> None:
    tok = await token(http, dt)
    clock.advance(timedelta(seconds=7201))

    status, body = await call(
        http, dt, "POST", "/v1.0/card/instances/createAndDeliver", card_body(), tok
    )

    assert status == 400
    assert body.keys() == fixture("error_invalid_access_token.json").keys()
    assert body["code"] == "InvalidAuthentication"


async def test_create_and_deliver_stores_the_card_each_copy_shows(
    http: aiohttp.ClientSession, dt: FakeDingTalk
) -> None:
    tok = await token(http, dt)
    body = card_body(status="new")
    body["openSpaceId"] = "dtv1.card//IM_GROUP.cidHelpDesk==;IM_ROBOT.manager4220"
    body["imRobotOpenDeliverModel"] = {"spaceType": "IM_ROBOT"}

    status, answer = await call(
        http, dt, "POST", "/v1.0/card/instances/createAndDeliver", body, tok
    )

    assert status == 200 and answer["success"] is True
    assert [r["spaceType"] for r in answer["result"]["deliverResults"]] == ["IM_GROUP", "IM_ROBOT"]
    copies = dt.card("tkt-IT-1001").copies()
    assert [(kind, space) for kind, space, _ in copies] == [
        ("IM_GROUP", "cidHelpDesk=="),
        ("IM_ROBOT", "manager4220"),
    ]
    assert all(params["status"] == "new" for _, _, params in copies)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1.0/card/instances/createAndDeliver"),
        ("POST", "/v1.0/card/instances"),
        ("PUT", "/v1.0/card/instances"),
    ],
)
async def test_cards_refuse_parameters_that_are_not_strings(
    http: aiohttp.ClientSession, dt: FakeDingTalk, method: str, path: str
) -> None:
    tok = await token(http, dt)
    if method == "PUT":
        await call(http, dt, "POST", "/v1.0/card/instances/createAndDeliver", card_body(), tok)
    body = card_body(priority=3, urgent=True)

    status, answer = await call(http, dt, method, path, body, tok)

    assert (status, answer["code"]) == (400, "param.invalid")
    assert set(answer) == {"code", "requestid", "message"}


async def test_card_update_merges_by_key_and_unknown_cards_are_refused(
    http: aiohttp.ClientSession, dt: FakeDingTalk
) -> None:
    tok = await token(http, dt)
    await call(http, dt, "POST", "/v1.0/card/instances/createAndDeliver", card_body(), tok)
    update = fixture("card_update.json") | {"outTrackId": "tkt-IT-1001"}

    ok = await call(http, dt, "PUT", "/v1.0/card/instances", update, tok)
    unknown = await call(
        http, dt, "PUT", "/v1.0/card/instances", update | {"outTrackId": "nope"}, tok
    )

    assert ok == (200, {"success": True, "result": True})
    assert dt.card("tkt-IT-1001").params["status"] == "agree"
    assert dt.card("tkt-IT-1001").params["title"] == "朱小志提交的财务报销"
    assert (unknown[0], unknown[1]["code"]) == (400, "param.cardNotExist")


async def test_a_repeated_out_track_id_changes_nothing(
    http: aiohttp.ClientSession, dt: FakeDingTalk
) -> None:
    tok = await token(http, dt)
    path = "/v1.0/card/instances/createAndDeliver"
    await call(http, dt, "POST", path, card_body(status="new"), tok)
    status, _ = await call(http, dt, "POST", path, card_body(status="changed"), tok)

    assert status == 200
    assert dt.card("tkt-IT-1001").params["status"] == "new"
    assert len(dt.card("tkt-IT-1001").spaces) == 1


async def test_a_card_click_carries_user_card_and_params_and_its_answer_updates_the_card(
    http: aiohttp.ClientSession, dt: FakeDingTalk
) -> None:
    tok = await token(http, dt)
    await call(http, dt, "POST", "/v1.0/card/instances/createAndDeliver", card_body(), tok)
    ws = await connect(http, dt)
    clicking = asyncio.create_task(dt.click_card("tkt-IT-1001", "manager4220", {"action": "agree"}))
    frame = await receive(ws)
    answer = json.loads(fixture("ack_card_click_update.json")["data"])
    await ws.send_json(ack(frame, answer))
    await clicking

    vendor = json.loads(fixture("callback_card_click.json")["data"])
    data = json.loads(frame["data"])
    assert data.keys() == vendor.keys()
    click = dingtalk_stream.CardCallbackMessage.from_dict(data)
    assert (click.user_id, click.card_instance_id) == ("manager4220", "tkt-IT-1001")
    assert click.content["cardPrivateData"]["params"] == {"action": "agree"}
    assert dt.card("tkt-IT-1001").params["status"] == "agree"


async def test_session_webhook_takes_markdown_until_it_expires(
    http: aiohttp.ClientSession, dt: FakeDingTalk, clock: FrozenClock
) -> None:
    payload, _ = await dt.send_bot_message(text="hi")
    reply = {"msgtype": "markdown", "markdown": {"title": "IT-1001", "text": "**已受理**"}}
    async with http.post(payload["sessionWebhook"], json=reply) as resp:
        first = await resp.json()
    clock.advance(dt.session_ttl + timedelta(seconds=1))
    async with http.post(payload["sessionWebhook"], json=reply) as resp:
        late = (resp.status, await resp.json())

    assert first == {"errcode": 0, "errmsg": "ok"}
    assert dt.sent[0].via == "webhook" and dt.sent[0].target == payload["conversationId"]
    assert late == (200, {"errcode": 300001, "errmsg": "session 不存在"})


async def test_group_and_one_to_one_messages_check_msg_key_and_param(
    http: aiohttp.ClientSession, dt: FakeDingTalk
) -> None:
    tok = await token(http, dt)
    dt.add_user("manager4220", "李雷")
    markdown = json.dumps({"title": "IT-1001", "text": "**新工单**"})
    group = {
        "robotCode": dt.robot_code,
        "openConversationId": "cid1==",
        "msgKey": "sampleMarkdown",
        "msgParam": markdown,
    }
    oto = {
        "robotCode": dt.robot_code,
        "userIds": ["manager4220", "ghost"],
        "msgKey": "sampleMarkdown",
        "msgParam": markdown,
    }
    bad = group | {"msgParam": json.dumps({"title": "no text"})}

    sent_group = await call(http, dt, "POST", "/v1.0/robot/groupMessages/send", group, tok)
    sent_oto = await call(http, dt, "POST", "/v1.0/robot/oToMessages/batchSend", oto, tok)
    refused = await call(http, dt, "POST", "/v1.0/robot/groupMessages/send", bad, tok)

    assert sent_group[0] == 200 and "processQueryKey" in sent_group[1]
    assert sent_oto[1]["invalidStaffIdList"] == ["ghost"]
    assert refused[0] == 400
    assert [(s.via, s.msg_key) for s in dt.sent] == [
        ("group", "sampleMarkdown"),
        ("oto", "sampleMarkdown"),
    ]


async def test_ding_is_refused_without_quota_or_edition(
    http: aiohttp.ClientSession, dt: FakeDingTalk
) -> None:
    tok = await token(http, dt)
    ding = {
        "robotCode": dt.robot_code,
        "remindType": 1,
        "receiverUserIdList": ["u1"],
        "content": "IT-1001 超时",
    }

    in_app = await call(http, dt, "POST", "/v1.0/robot/ding/send", ding, tok)
    phone = await call(http, dt, "POST", "/v1.0/robot/ding/send", ding | {"remindType": 3}, tok)
    dt.edition = "standard"
    standard = await call(http, dt, "POST", "/v1.0/robot/ding/send", ding, tok)

    assert in_app[0] == 200 and "openDingId" in in_app[1]
    assert (phone[0], phone[1]["code"]) == (400, "ding.serverquota.insufficient")
    assert standard[0] == 403


async def test_user_lookup_answers_errcode_inside_http_200(
    http: aiohttp.ClientSession, dt: FakeDingTalk
) -> None:
    tok = await token(http, dt)
    dt.add_user("manager4220", "李雷", email="lilei@example.com", mobile="13800000000")
    url = f"{dt.base_url}/topapi/v2/user/get"
    async with http.post(url, params={"access_token": tok}, json={"userid": "manager4220"}) as resp:
        found = await resp.json()
    async with http.post(url, params={"access_token": tok}, json={"userid": "ghost"}) as resp:
        missing = (resp.status, await resp.json())

    assert found["result"]["name"] == "李雷" and found["result"]["email"] == "lilei@example.com"
    assert missing[0] == 200 and missing[1]["errcode"] == 60121


async def test_a_message_file_download_code_gives_a_url_serving_the_bytes(
    http: aiohttp.ClientSession, dt: FakeDingTalk
) -> None:
    tok = await token(http, dt)
    code = dt.add_file(b"%PDF-1.4 repair form")
    body = {"downloadCode": code, "robotCode": dt.robot_code}

    _, answer = await call(http, dt, "POST", "/v1.0/robot/messageFiles/download", body, tok)
    async with http.get(answer["downloadUrl"]) as resp:
        content = await resp.read()

    assert content == b"%PDF-1.4 repair form"


@pytest.mark.parametrize(
    ("fault", "status", "expect"),
    [
        (Fault.throttle(), 403, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"),
        (Fault.throttle(status=429), 429, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"),
        (Fault.org_quota(), 403, "Forbidden.AccessDenied.ApiCountLimitForOrg"),
        (Fault.server_error(), 500, "system.busy"),
        (Fault.server_error(502), 502, "<html>"),
        (Fault.ip_ban(), 200, '"punish":"deny"'),
    ],
)
async def test_injected_faults_come_back_as_dingtalk_sends_them_then_the_route_recovers(
    http: aiohttp.ClientSession, dt: FakeDingTalk, fault: Fault, status: int, expect: str
) -> None:
    tok = await token(http, dt)
    path = "/v1.0/card/instances/createAndDeliver"
    dt.fail_next(path, fault)

    failed = await call(http, dt, "POST", path, card_body(), tok)
    recovered = await call(http, dt, "POST", path, card_body(), tok)

    assert failed[0] == status
    assert expect in (failed[1] if isinstance(failed[1], str) else failed[1]["code"])
    assert recovered[0] == 200
    assert len(dt.calls_to(path)) == 2


async def test_legacy_routes_get_faults_as_errcode_inside_http_200(
    http: aiohttp.ClientSession, dt: FakeDingTalk
) -> None:
    tok = await token(http, dt)
    url = f"{dt.base_url}/topapi/v2/user/get"
    dt.fail_next("/topapi/v2/user/get", Fault.throttle())
    dt.fail_next("/topapi/v2/user/get", Fault.legacy(90020, "企业调用接口次数超过每月限额"))
    answers = []
    for _ in range(2):
        async with http.post(url, params={"access_token": tok}, json={"userid": "u"}) as resp:
            answers.append((resp.status, (await resp.json())["errcode"]))

    assert answers == [(200, 90018), (200, 90020)]


async def test_a_hanging_route_never_answers(http: aiohttp.ClientSession, dt: FakeDingTalk) -> None:
    dt.fail_next("/v1.0/oauth2/accessToken", Fault.hang())
    body = {"appKey": dt.app_key, "appSecret": dt.app_secret}
    timeout = aiohttp.ClientTimeout(total=0.1)

    with pytest.raises(asyncio.TimeoutError):
        await http.post(f"{dt.base_url}/v1.0/oauth2/accessToken", json=body, timeout=timeout)

    assert len(dt.calls_to("/v1.0/oauth2/accessToken")) == 1
