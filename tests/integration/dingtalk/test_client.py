"""adapters/dingtalk/client.py against the DingTalk double: tokens, throttles, bans."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.contract import DeliveryError
from adapters.dingtalk.client import DingTalkClient
from tests.fakes.dingtalk import FakeDingTalk, Fault

SEND = "/v1.0/robot/groupMessages/send"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDingTalk]:
    async with FakeDingTalk() as dingtalk:
        yield dingtalk


@pytest.fixture
async def client(fake: FakeDingTalk) -> AsyncIterator[DingTalkClient]:
    c = DingTalkClient(fake.app_key, fake.app_secret, fake.base_url, fake.base_url)
    yield c
    await c.close()


def message(fake: FakeDingTalk) -> dict[str, str]:
    return {
        "robotCode": fake.robot_code,
        "openConversationId": "cidGroup==",
        "msgKey": "sampleText",
        "msgParam": '{"content": "hi"}',
    }


async def test_the_access_token_is_fetched_once_for_many_calls(
    fake: FakeDingTalk, client: DingTalkClient
) -> None:
    for _ in range(3):
        await client.call("POST", SEND, message(fake))

    assert len(fake.calls_to("/v1.0/oauth2/accessToken")) == 1


async def test_a_token_refused_before_its_time_is_renewed_and_the_call_made_again(
    fake: FakeDingTalk, client: DingTalkClient
) -> None:
    await client.call("POST", SEND, message(fake))
    fake.expire_tokens()

    await client.call("POST", SEND, message(fake))

    assert len(fake.calls_to("/v1.0/oauth2/accessToken")) == 2
    assert len([s for s in fake.sent if s.via == "group"]) == 2


@pytest.mark.parametrize("status", [403, 429])
async def test_throttle_is_a_delivery_error_with_retry_after(
    fake: FakeDingTalk, client: DingTalkClient, status: int
) -> None:
    fake.fail_next(SEND, Fault.throttle(status))

    with pytest.raises(DeliveryError) as caught:
        await client.call("POST", SEND, message(fake))

    assert caught.value.retry_after == 1.0 and not caught.value.permanent


async def test_the_ip_ban_page_is_recognised(fake: FakeDingTalk, client: DingTalkClient) -> None:
    fake.fail_next(SEND, Fault.ip_ban())

    with pytest.raises(DeliveryError, match="banned") as caught:
        await client.call("POST", SEND, message(fake))

    assert caught.value.retry_after == 300.0


async def test_an_unknown_staff_member_is_none_in_the_directory(
    fake: FakeDingTalk, client: DingTalkClient
) -> None:
    fake.add_user("staff0042", "王芳", email="wang.fang@example.com")

    assert (await client.user("staff0042") or {})["email"] == "wang.fang@example.com"
    assert await client.user("nobody") is None


async def test_an_api_base_url_nobody_answers_on_is_named() -> None:
    c = DingTalkClient("key", "secret", "http://127.0.0.1:9", "http://127.0.0.1:9")
    try:
        with pytest.raises(DeliveryError) as caught:
            await c.open_connection([])
    finally:
        await c.close()

    assert "channels.dingtalk.api_base_url" in str(caught.value)
    assert "http://127.0.0.1:9" in str(caught.value)


async def test_a_base_url_that_is_not_dingtalks_api_is_named(fake: FakeDingTalk) -> None:
    # a path in the base URL (…/v1.0) or another server: 404 with no DingTalk error code
    c = DingTalkClient(fake.app_key, fake.app_secret, fake.base_url + "/v1.0", fake.base_url)
    try:
        with pytest.raises(DeliveryError) as caught:
            await c.call("POST", SEND, message(fake))
    finally:
        await c.close()

    assert caught.value.permanent
    assert "channels.dingtalk.api_base_url" in str(caught.value)


async def test_a_directory_behind_a_wrong_oapi_base_url_is_named(fake: FakeDingTalk) -> None:
    c = DingTalkClient(fake.app_key, fake.app_secret, fake.base_url, fake.base_url + "/oapi")
    try:
        with pytest.raises(DeliveryError) as caught:
            await c.user("manager4220")
    finally:
        await c.close()

    assert "channels.dingtalk.oapi_base_url" in str(caught.value)


@pytest.mark.parametrize(
    ("errcode", "errmsg"),
    [
        (60011, "没有调用该接口的权限"),
        (88, "ding talk error[subcode=60011,submsg=没有调用该接口的权限]"),
    ],
)
async def test_a_directory_lookup_without_the_permission_names_it(
    fake: FakeDingTalk, client: DingTalkClient, errcode: int, errmsg: str
) -> None:
    fake.fail_next("/topapi/v2/user/get", Fault.legacy(errcode, errmsg))

    with pytest.raises(DeliveryError) as caught:
        await client.user("manager4220")

    assert caught.value.permanent and "qyapi_get_member" in str(caught.value)
