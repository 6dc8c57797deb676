"""One person behind the robot and the app: the same userid, looked up once, linked by e-mail."""

from __future__ import annotations

from typing import Any

from tests.e2e.wecom.driver import GROUP, until, wecom_service
from tests.fakes.wecom import FakeWeCom


def _han_has_an_email(data: dict[str, Any]) -> None:
    for person in data["people"]:
        if person["id"] == "han.meimei":
            person["email"] = "han.meimei@example.com"


async def test_a_user_met_on_the_robot_and_the_app_is_one_person_linked_by_e_mail(
    db_url: str, fake: FakeWeCom
) -> None:
    fake.api.add_user("hanmm", "韩梅梅", "han.meimei@example.com")
    fake.api.add_user("wangwu", "王五", "wangwu@example.com")
    async with wecom_service(db_url, fake, edit=_han_has_an_email) as wecom:
        await fake.bot.send_group_message(GROUP, "hanmm", "投影仪不亮")
        await until(lambda: fake.bot.cards_in(GROUP))
        sender = wecom.sender
        await sender.deliver(wecom.callback_url, sender.text_message("hanmm", "打印机卡纸"))
        await sender.deliver(wecom.callback_url, sender.text_message("wangwu", "网络断了"))
        tickets = await wecom.tickets()

    requesters = {t["title"]: t["requester"] for t in tickets}
    assert requesters["投影仪不亮"] == requesters["打印机卡纸"] == "han.meimei"
    assert requesters["网络断了"] == "wecom:wangwu"
    assert [c.query["userid"] for c in fake.api.calls_to("user/get")] == ["hanmm", "wangwu"]
