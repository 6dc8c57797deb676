"""A team that has only a group-robot webhook hears of its tickets in markdown, with a link."""

from __future__ import annotations

from core.ticket import ChannelRef
from tests.e2e.wecom.driver import GROUP, USERS, until, wecom_service
from tests.fakes.wecom import FakeWeCom


async def test_a_webhook_notice_links_to_the_tickets_web_page_not_the_api(
    db_url: str, fake: FakeWeCom
) -> None:
    hook = f"{fake.base_url}/cgi-bin/webhook/send?key={fake.api.webhook_key}"
    async with wecom_service(db_url, fake, app=False, group_webhooks={"it": hook}) as wecom:
        await fake.bot.send_group_message(GROUP, USERS["zhao.li"], "投影仪没有信号")
        await until(lambda: fake.bot.cards_in(GROUP))
        card = await wecom.svc.services.service.card("IT-1001", "zh-CN")
        assert card is not None
        await wecom.channel.post_card(ChannelRef("wecom", "hook:it"), lambda _locale: card)
        base = wecom.channel.settings.base_url.rstrip("/")

    [notice] = fake.api.webhook
    content = notice["markdown"]["content"]
    # the web chat opens this as the ticket's card; the REST API would ask for a token (401)
    assert base and f"{base}/?ticket=IT-1001" in content
    assert "/api/v1/" not in content
