"""An admin sees on /metrics every call Gongdan makes to DingTalk's API and how it ended, so a
monthly org quota or a throttled call is noticed before users miss their cards."""

from __future__ import annotations

import re

from tests.e2e.dingtalk.driver import STAFF, DingTalkDriver, dingtalk_service
from tests.fakes.dingtalk import FakeDingTalk
from tests.fakes.dingtalk.faults import Fault

CREATE = "/v1.0/card/instances/createAndDeliver"


async def _calls(dt: DingTalkDriver, call: str, outcome: str) -> int:
    async with dt.svc.http.get(dt.svc.url + "/metrics") as r:
        text = await r.text()
    pattern = (
        rf'gongdan_platform_calls_total{{call="{re.escape(call)}",channel="dingtalk",'
        rf'outcome="{outcome}"}} (\d+)'
    )
    found = re.search(pattern, text)
    return int(found.group(1)) if found else 0


async def test_card_posts_and_a_throttled_one_are_counted_by_outcome(
    db_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(db_url, fake) as dt:
        await fake.send_bot_message(text="打印机坏了", sender_staff_id=STAFF["zhao.li"])
        await dt.cards(1)
        fake.fail_next(CREATE, Fault.throttle())
        await fake.send_bot_message(text="投影仪不亮", sender_staff_id=STAFF["bob.smith"])
        await dt.until(lambda: len(fake.calls_to(CREATE)) >= 2)
        ok = await _calls(dt, CREATE, "ok")
        throttled = await _calls(dt, CREATE, "throttled")
        tokens = await _calls(dt, "accessToken", "ok")

    assert (ok, throttled) == (1, 1)
    assert tokens == 1  # fetched once, kept
