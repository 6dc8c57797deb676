"""What a group hears after its card: WeCom cannot edit the robot's card later, so a change
made elsewhere is one status line — only when the status (or who handles it) changed, and
never twice, also across a restart (what the group was told is kept with the card)."""

from __future__ import annotations

from tests.e2e.wecom.driver import GROUP, USERS, WeComDriver, button, until, wecom_service
from tests.fakes.wecom import FakeWeCom


def lines(fake: FakeWeCom) -> list[str]:
    """The status lines the group has been sent (comments relayed to it are not among them)."""
    said = [s.body["markdown"]["content"] for s in fake.bot.chat(GROUP) if "markdown" in s.body]
    return [text for text in said if "当前状态" in text]


async def opened(wecom: WeComDriver, fake: FakeWeCom, text: str) -> None:
    await fake.bot.send_group_message(GROUP, USERS["zhao.li"], text)
    await until(lambda: fake.bot.cards_in(GROUP))
    await wecom.settle()


async def test_a_comment_made_elsewhere_says_nothing_in_the_group(
    db_url: str, fake: FakeWeCom
) -> None:
    async with wecom_service(db_url, fake, app=False) as wecom:
        await opened(wecom, fake, "投影仪没有信号")
        assert await wecom.comment("li.lei", "IT-1001", "换一根 HDMI 线试试") == 201
        assert await wecom.comment("zhao.li", "IT-1001", "还是不行") == 201
        await wecom.settle()

    assert lines(fake) == []


async def test_a_resolve_made_elsewhere_is_one_line_and_a_restart_repeats_nothing(
    db_url: str, fake: FakeWeCom
) -> None:
    async with wecom_service(db_url, fake, app=False) as wecom:
        await opened(wecom, fake, "打印机卡纸")
        assert await wecom.act("li.lei", "IT-1001", "accept") == 200
        await wecom.settle()
        accepted = lines(fake)
        assert await wecom.comment("li.lei", "IT-1001", "已取出卡纸") == 201
        await wecom.settle()

    async with wecom_service(db_url, fake, app=False) as wecom:
        assert await wecom.comment("zhao.li", "IT-1001", "谢谢") == 201
        await wecom.settle()
        assert lines(fake) == accepted
        assert await wecom.act("li.lei", "IT-1001", "resolve") == 200
        await wecom.settle()

    [accept_line, resolve_line] = lines(fake)
    assert "IT-1001" in accept_line and "已受理" in accept_line and "处理人" in accept_line
    assert "IT-1001" in resolve_line and "已解决" in resolve_line


async def test_a_change_a_click_showed_is_not_said_again_after_a_restart(
    db_url: str, fake: FakeWeCom
) -> None:
    async with wecom_service(db_url, fake, app=False) as wecom:
        await opened(wecom, fake, "门禁刷不开")
        [(task_id, card)] = fake.bot.cards_in(GROUP).items()
        await fake.bot.click(task_id, USERS["li.lei"], button(card.template_card, "accept"))
        await until(lambda: len(card.versions) == 2)
        await wecom.settle()

    async with wecom_service(db_url, fake, app=False) as wecom:
        assert await wecom.comment("li.lei", "IT-1001", "已重置门禁卡") == 201
        await wecom.settle()

    assert "已受理" in str(card.template_card)
    assert lines(fake) == []


async def test_a_reassignment_made_elsewhere_is_one_line_naming_who_handles_it(
    db_url: str, fake: FakeWeCom
) -> None:
    async with wecom_service(db_url, fake, app=False) as wecom:
        await opened(wecom, fake, "笔记本无法开机")
        assert await wecom.act("li.lei", "IT-1001", "accept") == 200
        await wecom.settle()
        async with wecom.svc.http.post(
            wecom.svc.url + "/api/v1/tickets/IT-1001/actions/assign",
            json={"assignee": "bob.smith"},
            headers=wecom.svc.auth("li.lei"),
        ) as r:
            assert r.status == 200, await r.text()
        await wecom.settle()

    assert len(lines(fake)) == 2
    assert "鲍勃" in lines(fake)[1]  # bob.smith, named in the group's language


async def test_a_comment_relayed_to_the_group_shows_its_markdown_as_typed(
    db_url: str, fake: FakeWeCom
) -> None:
    async with wecom_service(db_url, fake, app=False) as wecom:
        await opened(wecom, fake, "投影仪没有信号")
        body = "**急** [点我](http://evil.example)"
        assert await wecom.comment("li.lei", "IT-1001", body) == 201
        await until(lambda: any("点我" in s for s in _said(fake)))

    [relayed] = [s for s in _said(fake) if "点我" in s]
    assert r"\*\*急\*\* \[点我\]" in relayed  # not bold, not a link


def _said(fake: FakeWeCom) -> list[str]:
    return [s.body["markdown"]["content"] for s in fake.bot.chat(GROUP) if "markdown" in s.body]
