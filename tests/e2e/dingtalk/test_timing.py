"""An operator can read how long a robot message waits between its frame and its commit."""

from __future__ import annotations

from tests.e2e.dingtalk.driver import STAFF, dingtalk_service
from tests.e2e.harness import commit_histogram
from tests.fakes.dingtalk import FakeDingTalk
from tests.fakes.dingtalk.payloads import TOPIC_BOT_MESSAGE


async def test_a_dingtalk_message_is_timed_from_its_frame_to_its_commit(
    db_url: str, fake: FakeDingTalk
) -> None:
    async with dingtalk_service(db_url, fake) as dt:
        payload, push = await fake.send_bot_message(
            text=" 打印机卡纸", sender_staff_id=STAFF["zhao.li"]
        )
        await fake.stream.wait_ack(push.message_id)
        count, seconds = await commit_histogram(dt.svc, "dingtalk")
        # the same message again is a duplicate: nothing new was committed, nothing is timed
        again_push = await fake.stream.push("CALLBACK", TOPIC_BOT_MESSAGE, payload, {})
        await fake.stream.wait_ack(again_push.message_id)
        again, _ = await commit_histogram(dt.svc, "dingtalk")

    assert count == 1 and 0 < seconds < 5
    assert again == 1
