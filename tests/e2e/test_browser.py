"""One real browser: type a message, see the card, press Accept, see the card change in place."""

from __future__ import annotations

import os
import re
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.clock import FrozenClock
from tests.e2e.harness import EXAMPLE_CONFIG, running, service_config
from tests.e2e.test_escalation import OPENED, escalating_config

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


def _need_chromium() -> None:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs Debian's chromium at /usr/bin/chromium (.ci/run installs it)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")


@asynccontextmanager
async def _chromium() -> AsyncIterator[Any]:
    """Headless Chromium, closed afterwards; without it the test is skipped (fails in CI)."""
    _need_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


def _png(width: int, height: int) -> bytes:
    """A real PNG of that size (grey), for a preview's dimensions."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def _signed_in(
    browser: Any, url: str, person: str, locale: str, room: str = "helpdesk"
) -> Any:
    """A page of its own (its own cookies) in `locale`, as `person`, in `room`."""
    page = await (await browser.new_context(locale=locale)).new_page()
    await page.goto(url + "/")
    await page.select_option("#person", person)
    await page.click(f"[data-room={room}]")
    return page


async def test_person_types_message_sees_card_and_accept_updates_it_in_place(
    sqlite_url: str,
) -> None:
    async with running(service_config(sqlite_url)) as svc, _chromium() as browser:
        page = await _signed_in(browser, svc.url, "zhao.li", "zh-CN")
        await page.fill("#composer-input", "3楼打印机坏了 / the printer on 3F is broken")
        await page.click("#composer-send")

        card = page.locator('.card[data-ticket="IT-1001"]')
        await card.wait_for(timeout=10_000)
        assert "3楼打印机坏了" in await card.locator(".card__title").inner_text()
        first_version = int(await card.get_attribute("data-version") or 0)
        assert await card.locator(".card__status").inner_text() in ("已分派", "Assigned")

        await page.select_option("#person", "li.lei")  # the IT lead, who is assigned
        await card.locator('button[data-action="accept"]').click()
        await page.wait_for_function(
            "v => Number(document.querySelector('.card[data-ticket=\"IT-1001\"]').dataset.version) > v",
            arg=first_version,
            timeout=10_000,
        )
        assert await card.locator(".card__status").inner_text() in ("已受理", "Accepted")
        assert await card.locator('button[data-action="accept"]').count() == 0
        assert await page.locator('.card[data-ticket="IT-1001"]').count() == 1

        await page.click('[data-room="dm:li.lei"]')  # reminders and escalations land here
        await page.wait_for_function(
            "document.querySelector('#room-title').textContent.includes('私信')"
            " || document.querySelector('#room-title').textContent.includes('Direct')"
        )


async def test_a_comment_posted_on_a_card_shows_in_its_thread_in_another_tab(
    sqlite_url: str,
) -> None:
    async with running(service_config(sqlite_url)) as svc, _chromium() as browser:
        requester = await _signed_in(browser, svc.url, "zhao.li", "zh-CN")
        agent = await _signed_in(browser, svc.url, "li.lei", "en-US")
        await requester.fill("#composer-input", "打印机卡纸")
        await requester.click("#composer-send")
        card = agent.locator('.card[data-ticket="IT-1001"]')
        await card.wait_for(timeout=10_000)
        # the requester is offered no Accept; the lead is
        await requester.locator('.card[data-ticket="IT-1001"]').wait_for(timeout=10_000)
        assert await requester.locator('.card button[data-action="accept"]').count() == 0
        assert await card.locator('button[data-action="accept"]').count() == 1

        await card.locator('form[data-action="comment"] input[name=value]').fill("请重启一下打印机")
        await card.locator('form[data-action="comment"] button').click()

        said = requester.locator('[data-testid="thread"] .comment__body')
        await said.wait_for(timeout=10_000)
        assert await said.inner_text() == "请重启一下打印机"
        meta = await requester.locator('[data-testid="thread"] .comment__meta').inner_text()
        assert "李雷" in meta and "网页聊天" in meta
        confirmed = re.compile("Comment added to IT-1001|已在 IT-1001 添加评论")
        toast = agent.locator('[data-testid="notice"]', has_text=confirmed)
        await toast.wait_for(timeout=10_000)
        assert await agent.locator('[data-testid="thread"] .comment__body').count() == 1


async def test_the_mobile_drawer_closes_on_escape_an_outside_tap_and_the_current_room(
    sqlite_url: str,
) -> None:
    async with running(service_config(sqlite_url)) as svc, _chromium() as browser:
        context = await browser.new_context(
            viewport={"width": 390, "height": 844}, locale="zh-CN", has_touch=True
        )
        page = await context.new_page()
        await page.goto(svc.url + "/")
        await page.wait_for_selector("[data-room=helpdesk]", state="attached")
        sidebar = page.locator("#sidebar")
        toggle = page.locator('[data-testid="sidebar-toggle"]')
        opened = "document.body.classList.contains('nav-open')"

        async def drawer_open() -> bool:
            return bool(await page.evaluate(opened))

        await toggle.click()
        assert await drawer_open() and await sidebar.is_visible()
        # a notice arriving meanwhile stays under the open menu (its "I am" picker)
        layers = await page.evaluate(
            "['toasts', 'sidebar'].map((id) =>"
            " Number(getComputedStyle(document.getElementById(id)).zIndex))"
        )
        assert layers[0] < layers[1]
        await page.keyboard.press("Escape")
        assert not await drawer_open()

        await toggle.click()
        await page.mouse.click(370, 420)  # the chat behind the drawer
        assert not await drawer_open()

        await toggle.click()
        current = page.locator('.room[aria-current="true"]')
        await current.click()
        assert not await drawer_open()
        assert await page.locator("label[for=composer-input]").count() == 1


async def test_a_burst_of_answers_shows_at_most_three_notices_at_once(sqlite_url: str) -> None:
    async with running(service_config(sqlite_url)) as svc, _chromium() as browser:
        page = await _signed_in(browser, svc.url, "zhao.li", "en")
        notices = page.locator('[data-testid="notice"]')
        most = 0
        for command in ("/help", "/mine", "/queue", "/help", "/mine"):  # each answers
            await page.fill("#composer-input", command)
            await page.click("#composer-send")
            await page.wait_for_timeout(400)
            most = max(most, await notices.count())

    assert most == 3


async def test_a_half_written_comment_and_the_keyboard_focus_survive_the_card_changing(
    sqlite_url: str,
) -> None:
    async with running(service_config(sqlite_url)) as svc, _chromium() as browser:
        requester = await _signed_in(browser, svc.url, "zhao.li", "en-US")
        agent = await _signed_in(browser, svc.url, "li.lei", "en-US")
        await requester.fill("#composer-input", "VPN drops every hour")
        await requester.press("#composer-input", "Enter")
        card = agent.locator('.card[data-ticket="IT-1001"]')
        await card.wait_for(timeout=10_000)
        focused = "document.activeElement.closest('.card') ? (document.activeElement.dataset.action || document.activeElement.name) : null"

        # the agent is halfway through a reply when the requester comments
        draft = card.locator('form[data-action="comment"] input[name=value]')
        await draft.fill("Which office are you in")
        mine = requester.locator('.card[data-ticket="IT-1001"] form[data-action="comment"]')
        await mine.locator("input[name=value]").fill("It dropped again just now")
        await mine.locator("input[name=value]").press("Enter")
        await agent.locator('[data-testid="thread"] .comment__body').wait_for(timeout=10_000)
        assert await draft.input_value() == "Which office are you in"
        assert await agent.evaluate(focused) == "value"
        # the requester's own box empties once the comment is taken
        await requester.wait_for_function(
            "!document.querySelector('.card[data-ticket=\"IT-1001\"] input[name=value]').value"
        )

        await draft.press("Enter")  # sent: the box empties, the focus stays in it
        await agent.wait_for_function(
            "document.querySelectorAll('[data-testid=thread] .comment').length === 2"
        )
        await agent.wait_for_function(
            "!document.querySelector('.card[data-ticket=\"IT-1001\"] input[name=value]').value"
        )
        assert await agent.evaluate(focused) == "value"

        # Accept from the keyboard: the button goes, the card keeps the focus (and a second
        # Enter presses nothing)
        await card.locator('button[data-action="accept"]').focus()
        await agent.keyboard.press("Enter")
        await card.locator('button[data-action="start"]').wait_for(timeout=10_000)
        assert await agent.evaluate("document.activeElement.dataset.ticket") == "IT-1001"
        await agent.keyboard.press("Tab")
        assert await agent.evaluate(focused) is not None


async def test_a_form_sent_from_the_keyboard_leaves_the_focus_in_the_composer_and_a_new_comment_in_view(
    sqlite_url: str,
) -> None:
    async with running(service_config(sqlite_url)) as svc, _chromium() as browser:
        page = await (
            await browser.new_context(locale="en-US", viewport={"width": 375, "height": 700})
        ).new_page()
        await page.goto(svc.url + "/")
        await page.select_option("#person", "zhao.li")
        await page.fill("#composer-input", "/new it")
        await page.press("#composer-input", "Enter")
        await page.locator(".msg--form form").wait_for(timeout=10_000)
        await page.keyboard.type("Monitor flickers")  # the form's first field has the focus
        await page.keyboard.press("Enter")
        card = page.locator('.card[data-ticket="IT-1001"]')
        await card.wait_for(timeout=10_000)
        await page.wait_for_function("document.activeElement.id === 'composer-input'")

        # a follow-up joins the card's thread; the newest line stays in view
        await page.keyboard.type("It is the left one")
        await page.keyboard.press("Enter")
        newest = page.locator('[data-testid="thread"] .comment').last
        await newest.wait_for(timeout=10_000)
        await page.wait_for_timeout(200)
        shown = await page.evaluate(
            "(() => { const l = document.getElementById('messages');"
            " return l.scrollHeight - l.scrollTop - l.clientHeight; })()"
        )
        assert shown < 5


async def test_a_message_that_lacks_a_required_field_opens_its_form_at_that_field(
    sqlite_url: str,
) -> None:
    # the example's Facilities room files repairs, which need a location
    config = service_config(
        sqlite_url, EXAMPLE_CONFIG, {"GONGDAN_CHANNELS__EMAIL__ENABLED": "false"}
    )
    async with running(config) as svc, _chromium() as browser:
        page = await _signed_in(browser, svc.url, "alice.chen", "zh-CN", "facilities")
        # the hint's example opens this room's type, not the first one configured
        assert "/new repair" in await page.inner_text("#composer-hint")
        await page.fill("#composer-input", "空调漏水")
        await page.press("#composer-input", "Enter")
        form = page.locator(".msg--form form")
        await form.wait_for(timeout=10_000)
        assert await form.locator("input[name=title]").input_value() == "空调漏水"
        await page.wait_for_function("document.activeElement.name === 'location'")


async def test_close_on_an_open_request_says_it_was_cancelled_in_the_pages_language(
    sqlite_url: str,
) -> None:
    async with running(service_config(sqlite_url)) as svc, _chromium() as browser:
        page = await _signed_in(browser, svc.url, "zhao.li", "zh-CN")
        await page.fill("#composer-input", "VPN 连不上")
        await page.press("#composer-input", "Enter")
        card = page.locator('.card[data-ticket="IT-1001"]')
        await card.wait_for(timeout=10_000)

        await page.fill("#composer-input", "/close IT-1001")
        await page.press("#composer-input", "Enter")
        answer = page.locator('[data-testid="notice"] .notice__text', has_text="IT-1001")
        await answer.wait_for(timeout=10_000)
        assert await answer.inner_text() == (
            "已取消 IT-1001“VPN 连不上”：工单尚未解决，关闭即撤回了这个请求。"
        )
        await page.click('[data-testid="lang-en"]')
        assert await answer.inner_text() == (
            "Cancelled IT-1001 “VPN 连不上”: it was not resolved yet, so closing it"
            " withdrew the request."
        )
        await page.wait_for_function(
            "document.querySelector('.card[data-ticket=\"IT-1001\"]').dataset.status"
            " === 'cancelled'"
        )


async def test_reassign_offers_the_people_who_work_tickets_not_the_office_manager(
    sqlite_url: str,
) -> None:
    # the example's IT team: members 韩梅梅 and 张伟, lead 李雷; its manager 赵敏 works no tickets
    config = service_config(
        sqlite_url, EXAMPLE_CONFIG, {"GONGDAN_CHANNELS__EMAIL__ENABLED": "false"}
    )
    async with running(config) as svc, _chromium() as browser:
        alice = await _signed_in(browser, svc.url, "alice.chen", "zh-CN")
        await alice.fill("#composer-input", "显示器闪屏")
        await alice.press("#composer-input", "Enter")
        lead = await _signed_in(browser, svc.url, "li.lei", "zh-CN")
        card = lead.locator('.card[data-ticket="IT-1001"]')
        await card.wait_for(timeout=10_000)
        holder = await card.locator(".card__field", has_text="处理人").locator("dd").inner_text()
        picker = card.locator('select[data-action="assign"] option')
        offered = [o.strip() for o in await picker.all_inner_texts()][1:]  # after "转派…"

    assert "赵敏" not in offered
    assert sorted(offered) == sorted({"韩梅梅", "张伟", "李雷"} - {holder})


async def test_the_repair_forms_photos_hint_is_true_the_card_takes_a_photo(
    sqlite_url: str, tmp_path: Path
) -> None:
    env = {
        "GONGDAN_CHANNELS__EMAIL__ENABLED": "false",
        "GONGDAN_ATTACHMENTS__DIR": str(tmp_path / "files"),
    }
    async with (
        running(service_config(sqlite_url, EXAMPLE_CONFIG, env)) as svc,
        _chromium() as browser,
    ):
        page = await _signed_in(browser, svc.url, "alice.chen", "en-US", "facilities")
        await page.click('[data-testid="lang-en"]')
        await page.fill("#composer-input", "/new repair")
        await page.press("#composer-input", "Enter")
        form = page.locator(".msg--form form")
        await form.wait_for(timeout=10_000)
        hint = await form.locator('[data-field="photos"] .form-note').inner_text()
        assert hint == (
            "Attach files once the ticket is open: on its card, use the paperclip button"
            " (Attach a file) by the comment box, or paste an image into the box."
        )

        # doing as it says: submit, then attach on the card
        await form.locator("input[name=title]").fill("Tap leaks")
        await form.locator("input[name=location]").fill("3F pantry")
        await form.locator("button[type=submit]").click()
        card = page.locator(".card[data-ticket^=BX-]")
        await card.wait_for(timeout=10_000)
        button = card.locator('label.card__attach[title="Attach a file"]')
        assert await button.count() == 1
        await button.locator("input[type=file]").set_input_files(
            {"name": "tap.png", "mimeType": "image/png", "buffer": _png(40, 30)}
        )
        shown = page.locator('[data-testid="thread"] [data-testid="attachment"]')
        await shown.wait_for(timeout=10_000)
        assert "tap.png" in await shown.inner_text()
        # a small photo is previewed at its own size, not blown up to the preview's limit
        preview = page.locator('[data-testid="thread"] img.comment__image')
        await page.wait_for_function(
            "document.querySelector('[data-testid=thread] img.comment__image')?.complete"
        )
        assert await preview.evaluate("i => [i.naturalWidth, i.clientWidth]") == [40, 40]


async def test_choosing_another_person_clears_the_previous_persons_notices(
    sqlite_url: str,
) -> None:
    async with running(service_config(sqlite_url)) as svc, _chromium() as browser:
        page = await _signed_in(browser, svc.url, "zhao.li", "zh-CN")
        await page.fill("#composer-input", "/status IT-9999")
        await page.press("#composer-input", "Enter")
        toasts = page.locator('#toasts [data-testid="notice"]')
        await toasts.first.wait_for(timeout=10_000)

        await page.select_option("#person", "li.lei")
        assert await toasts.count() == 0  # what zhao.li was told is not shown to li.lei


async def test_notices_in_a_direct_room_follow_the_pages_language_toggle(sqlite_url: str) -> None:
    config = service_config(sqlite_url, env={"GONGDAN_OUTBOX__NOTICE_COALESCE_S": "0"})
    async with running(config) as svc, _chromium() as browser:
        requester = await _signed_in(browser, svc.url, "zhao.li", "zh-CN")
        await requester.fill("#composer-input", "打印机卡纸")
        await requester.press("#composer-input", "Enter")
        agent = await _signed_in(browser, svc.url, "li.lei", "zh-CN")
        card = agent.locator('.card[data-ticket="IT-1001"]')
        await card.wait_for(timeout=10_000)
        await card.locator('button[data-action="accept"]').click()

        await requester.click('[data-room="dm:zhao.li"]')
        line = requester.locator(".msg--bot .msg__text", has_text="IT-1001")
        await line.wait_for(timeout=10_000)
        assert await line.inner_text() == "IT-1001 打印机卡纸：李雷 已受理。"
        await requester.click('[data-testid="lang-en"]')
        assert await line.inner_text() == "IT-1001 打印机卡纸: accepted by Li Lei."
        await requester.click('[data-testid="lang-zh"]')
        assert await line.inner_text() == "IT-1001 打印机卡纸：李雷 已受理。"

        # a page opened in English later shows the room's history in English too
        await requester.click('[data-testid="lang-en"]')
        await requester.reload()
        await requester.locator(".msg--bot .msg__text", has_text="accepted by").wait_for(
            timeout=10_000
        )


async def test_a_link_from_another_channel_opens_its_ticket_or_form(sqlite_url: str) -> None:
    """DingTalk's and WeCom's cards link to /?ticket=KEY, their /new answers to /?new=TYPE."""

    async with running(service_config(sqlite_url)) as svc:
        async with svc.http.post(
            svc.url + "/api/v1/tickets",
            json={"type": "it", "title": "投影仪不亮"},
            headers=svc.auth("zhao.li"),
        ) as r:
            assert r.status == 201, await r.text()
        async with _chromium() as browser:
            page = await _signed_in(browser, svc.url, "zhao.li", "zh-CN")
            await page.goto(svc.url + "/?ticket=IT-1001")
            card = page.locator('.card[data-ticket="IT-1001"]')
            await card.wait_for(timeout=10_000)
            assert "投影仪不亮" in await card.locator(".card__title").inner_text()
            assert "私信" in await page.inner_text("#room-title")
            assert "?" not in page.url  # a reload asks nothing again

            await page.goto(svc.url + "/?new=purchase")
            form = page.locator(".msg--form form")
            await form.wait_for(timeout=10_000)
            assert await form.locator('[name="item"]').count() == 1


async def test_an_empty_rooms_placeholder_follows_the_pages_language_toggle(
    sqlite_url: str,
) -> None:
    async with running(service_config(sqlite_url)) as svc, _chromium() as browser:
        page = await _signed_in(browser, svc.url, "zhao.li", "zh-CN", room="general")
        empty = page.locator(".messages__empty")
        await page.wait_for_function(
            "document.querySelector('.messages__empty')?.textContent.includes('还没有消息')"
        )
        await page.click('[data-testid="lang-en"]')
        assert await empty.inner_text() == "No messages yet. Say something, or press “New ticket”."
        await page.click('[data-testid="lang-zh"]')
        assert await empty.inner_text() == "这里还没有消息。说点什么，或点击“新建工单”。"


async def test_a_restored_thread_names_the_channel_of_a_rest_comment_in_the_pages_language(
    sqlite_url: str,
) -> None:
    config = service_config(sqlite_url)
    async with running(config) as svc:
        async with svc.http.post(
            f"{svc.url}/api/v1/tickets",
            json={"type": "it", "title": "打印机卡纸"},
            headers=svc.auth("zhao.li"),
        ) as r:
            assert r.status == 201
        async with svc.http.post(
            f"{svc.url}/api/v1/tickets/IT-1001/comments",
            json={"body": "已换新硒鼓"},
            headers=svc.auth("li.lei"),
        ) as r:
            assert r.status == 201
        async with _chromium() as browser:
            page = await _signed_in(browser, svc.url, "zhao.li", "zh-CN")
            await page.fill("#composer-input", "/status IT-1001")
            await page.press("#composer-input", "Enter")
            await page.locator('.card[data-ticket="IT-1001"]').wait_for(timeout=10_000)

    # the thread is read back
    async with running(config) as svc, _chromium() as browser:
        page = await _signed_in(browser, svc.url, "zhao.li", "zh-CN")
        await page.click('[data-testid="lang-zh"]')
        thread = page.locator('[data-testid="thread"]')
        await thread.locator("summary").click()
        meta = thread.locator(".comment__meta")
        await meta.wait_for(timeout=10_000)
        assert "来自 REST 接口" in await meta.inner_text()
        await page.click('[data-testid="lang-en"]')
        assert "via the REST API" in await meta.inner_text()


async def test_a_direct_rooms_composer_addresses_the_bot_not_a_channel(sqlite_url: str) -> None:
    async with running(service_config(sqlite_url)) as svc, _chromium() as browser:
        page = await _signed_in(browser, svc.url, "zhao.li", "zh-CN")
        await page.click('[data-room="dm:zhao.li"]')
        await page.click('[data-testid="lang-zh"]')
        box = page.locator("#composer-input")
        assert await box.get_attribute("placeholder") == "发消息给工单助手"
        await page.click('[data-testid="lang-en"]')
        assert await box.get_attribute("placeholder") == "Message Gongdan"
        await page.click('[data-room="helpdesk"]')
        assert await box.get_attribute("placeholder") == "Message #IT Help Desk"


async def test_a_saved_edit_says_saved_and_a_new_ticket_form_says_submitted(
    sqlite_url: str,
) -> None:
    async with running(service_config(sqlite_url)) as svc, _chromium() as browser:
        page = await _signed_in(browser, svc.url, "zhao.li", "zh-CN")
        await page.click('[data-testid="lang-en"]')
        await page.fill("#composer-input", "打印机卡纸")
        await page.press("#composer-input", "Enter")
        card = page.locator('.card[data-ticket="IT-1001"]')
        await card.wait_for(timeout=10_000)
        await card.locator("button[data-edit]").click()
        form = page.locator("form.ticket-form[data-edit]")
        await form.wait_for(timeout=10_000)
        await form.locator("input[name=title]").fill("三楼打印机卡纸")
        await form.locator("button[type=submit]").click()
        done = page.locator(".form-done")
        await done.wait_for(timeout=10_000)
        assert await done.inner_text() == "✓ Saved · IT-1001"
        await page.click('[data-testid="lang-zh"]')
        assert await done.inner_text() == "✓ 已保存 · IT-1001"

        await page.fill("#composer-input", "/new purchase")
        await page.press("#composer-input", "Enter")
        new = page.locator("form.ticket-form:not([data-edit])")
        await new.wait_for(timeout=10_000)
        for name, value in (("title", "显示器"), ("item", "27 寸显示器")):
            await new.locator(f"[name={name}]").fill(value)
        await new.locator("[name=amount]").fill("1999")
        await new.locator("button[type=submit]").click()
        await page.locator(".form-done", has_text="PR-").wait_for(timeout=10_000)
        assert (await done.all_inner_texts())[-1].startswith("✓ 已提交 · PR-")


async def test_a_reminder_and_the_tickets_card_in_one_room_each_stay_themselves_when_it_changes(
    sqlite_url: str,
) -> None:
    clock = FrozenClock(OPENED)
    async with running(escalating_config(sqlite_url), clock) as svc, _chromium() as browser:
        scheduler = svc.services.scheduler
        assert scheduler is not None
        async with svc.http.post(
            svc.url + "/api/v1/tickets",
            json={"type": "it", "title": "VPN 连不上"},
            headers=svc.auth("zhao.li"),
        ) as r:
            assert r.status == 201, await r.text()
        page = await _signed_in(browser, svc.url, "han.meimei", "en-US", '"dm:han.meimei"')
        await page.click('[data-testid="lang-en"]')
        clock.advance(timedelta(hours=3, minutes=50))
        await scheduler.tick()
        cards = page.locator('.msg--card:has(.card[data-ticket="IT-1001"])')
        await cards.first.wait_for(timeout=10_000)
        await page.fill("#composer-input", "/status IT-1001")  # the ticket's own card, here too
        await page.press("#composer-input", "Enter")
        await page.wait_for_function(
            "document.querySelectorAll('.msg--card .card[data-ticket=\"IT-1001\"]').length === 2"
        )
        snooze = page.locator('.msg--card:has(button[data-action="snooze"])')
        resolve = page.locator('.msg--card:has(button[data-action="resolve"])')
        assert await snooze.count() == 1
        assert await snooze.locator('button[data-action="accept"]').count() == 1  # not yet

        async with svc.http.post(
            svc.url + "/api/v1/tickets/IT-1001/actions/accept", headers=svc.auth("han.meimei")
        ) as r:
            assert r.status == 200, await r.text()
        await page.wait_for_function(
            "[...document.querySelectorAll('.msg--card .card__status')]"
            ".every((s) => s.textContent.includes('Accepted'))"
        )

        # each card changed, and neither became the other: the reminder still offers Snooze
        # (no longer Accept), the ticket's card Resolve
        assert await cards.count() == 2
        assert await snooze.count() == 1 and await resolve.count() == 1
        assert await snooze.locator('button[data-action="accept"]').count() == 0
        assert await resolve.locator('button[data-action="snooze"]').count() == 0
