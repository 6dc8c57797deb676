"""The company app's API and group webhooks against the WeCom double: tokens, errcodes, pacing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from adapters.contract import DeliveryError
from adapters.wecom.client import AppClient, Http, Webhooks
from core.clock import FrozenClock
from tests.fakes.wecom import FakeWeCom


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom() as wecom:
        yield wecom


@pytest.fixture
async def http() -> AsyncIterator[Http]:
    client = Http()
    yield client
    await client.close()


def _app(fake: FakeWeCom, http: Http) -> AppClient:
    api = fake.api
    return AppClient(http, fake.base_url, api.corp_id, api.corp_secret, api.agent_id)


TEXT = {"msgtype": "text", "text": {"content": "你好"}}


async def test_the_token_is_fetched_once_and_renewed_when_wecom_refuses_it(
    fake: FakeWeCom, http: Http
) -> None:
    app = _app(fake, http)
    await app.send("lilei", TEXT)
    await app.send("lilei", TEXT)
    fake.api.fail_next("message/send", 42001)  # expired before its time
    await app.send("lilei", TEXT)

    assert len(fake.api.calls_to("gettoken")) == 2
    assert len(fake.api.messages) == 3


async def test_a_frequency_limit_asks_the_outbox_to_wait_and_other_errors_are_permanent(
    fake: FakeWeCom, http: Http
) -> None:
    app = _app(fake, http)
    fake.api.fail_next("message/send", 45009)
    with pytest.raises(DeliveryError) as limited:
        await app.send("lilei", TEXT)
    with pytest.raises(DeliveryError) as refused:
        await app.send("lilei", {"msgtype": "text", "text": {"content": " "}})  # 44004

    assert limited.value.retry_after == 60.0 and not limited.value.permanent
    assert refused.value.permanent and "44004" in str(refused.value)


async def test_every_call_is_counted_by_its_outcome_for_the_metrics(
    fake: FakeWeCom, http: Http
) -> None:
    app = _app(fake, http)
    await app.send("lilei", TEXT)
    fake.api.fail_next("message/send", 45009)
    with pytest.raises(DeliveryError):
        await app.send("lilei", TEXT)
    with pytest.raises(DeliveryError):
        await app.send("lilei", {"msgtype": "text", "text": {"content": " "}})  # 44004

    assert dict(http.calls.counts) == {
        ("gettoken", "ok"): 1,
        ("message/send", "ok"): 1,
        ("message/send", "throttled"): 1,
        ("message/send", "refused"): 1,
    }


async def test_a_wrong_app_secret_is_a_permanent_failure(fake: FakeWeCom, http: Http) -> None:
    app = AppClient(http, fake.base_url, fake.api.corp_id, "wrong", fake.api.agent_id)
    with pytest.raises(DeliveryError) as refused:
        await app.send("lilei", TEXT)
    assert refused.value.permanent


async def test_a_group_webhook_is_paced_at_20_a_minute_without_calling_wecom_again(
    http: Http,
) -> None:
    clock = FrozenClock()
    async with FakeWeCom(clock=clock) as fake:
        await _twenty_then_paced(fake, http, clock)


async def _twenty_then_paced(fake: FakeWeCom, http: Http, clock: FrozenClock) -> None:
    now = [1000.0]
    url = f"{fake.base_url}/cgi-bin/webhook/send?key={fake.api.webhook_key}"
    hooks = Webhooks(http, {"it": url}, now=lambda: now[0])
    message = {"msgtype": "markdown", "markdown": {"content": "**IT-1001** 已受理"}}
    for _ in range(20):
        await hooks.send("it", message)
    with pytest.raises(DeliveryError) as paced:
        await hooks.send("it", message)
    calls = len(fake.api.calls_to("webhook/send"))
    now[0] += 60.0  # a minute later the webhook takes messages again
    clock.advance(timedelta(seconds=60))
    await hooks.send("it", message)

    assert paced.value.retry_after == pytest.approx(60.0)
    assert paced.value.this_place_only  # the robot's cards and other webhooks go on
    assert calls == 20
    assert len(fake.api.webhook) == 21


async def test_a_webhooks_45009_holds_back_that_webhook_and_an_apps_45009_the_whole_channel(
    fake: FakeWeCom, http: Http
) -> None:
    url = f"{fake.base_url}/cgi-bin/webhook/send?key={fake.api.webhook_key}"
    hooks = Webhooks(http, {"it": url})
    fake.api.fail_next("webhook/send", 45009)  # e.g. another replica used its minute
    with pytest.raises(DeliveryError) as hook:
        await hooks.send("it", {"msgtype": "markdown", "markdown": {"content": "IT-1001"}})
    fake.api.fail_next("message/send", 45009)  # the corp's calls to the API: not one place's
    with pytest.raises(DeliveryError) as app:
        await _app(fake, http).send("lilei", TEXT)

    assert hook.value.retry_after == 60.0 and hook.value.this_place_only
    assert app.value.retry_after == 60.0 and not app.value.this_place_only
