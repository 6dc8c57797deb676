"""One real browser: type a message, see the card, press Accept, see the card change in place."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.e2e.harness import running, service_config

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


async def test_person_types_message_sees_card_and_accept_updates_it_in_place(
    sqlite_url: str,
) -> None:
    _need_chromium()
    from playwright.async_api import async_playwright

    async with running(service_config(sqlite_url)) as svc, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = await browser.new_page(locale="zh-CN")
            await page.goto(svc.url + "/")
            await page.select_option("#person", "zhao.li")
            await page.click("[data-room=helpdesk]")
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
        finally:
            await browser.close()


async def test_a_comment_posted_on_a_card_shows_in_its_thread_in_another_tab(
    sqlite_url: str,
) -> None:
    _need_chromium()
    from playwright.async_api import async_playwright

    async with running(service_config(sqlite_url)) as svc, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            requester = await (await browser.new_context(locale="zh-CN")).new_page()
            agent = await (await browser.new_context(locale="en-US")).new_page()
            for page, person in ((requester, "zhao.li"), (agent, "li.lei")):
                await page.goto(svc.url + "/")
                await page.select_option("#person", person)
                await page.click("[data-room=helpdesk]")
            await requester.fill("#composer-input", "打印机卡纸")
            await requester.click("#composer-send")
            card = agent.locator('.card[data-ticket="IT-1001"]')
            await card.wait_for(timeout=10_000)
            # the requester is offered no Accept; the lead is
            await requester.locator('.card[data-ticket="IT-1001"]').wait_for(timeout=10_000)
            assert await requester.locator('.card button[data-action="accept"]').count() == 0
            assert await card.locator('button[data-action="accept"]').count() == 1

            await card.locator('form[data-action="comment"] input[name=value]').fill(
                "请重启一下打印机"
            )
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
        finally:
            await browser.close()


async def test_the_mobile_drawer_closes_on_escape_an_outside_tap_and_the_current_room(
    sqlite_url: str,
) -> None:
    _need_chromium()
    from playwright.async_api import async_playwright

    async with running(service_config(sqlite_url)) as svc, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
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
        finally:
            await browser.close()


async def test_a_burst_of_answers_shows_at_most_three_notices_at_once(sqlite_url: str) -> None:
    _need_chromium()
    from playwright.async_api import async_playwright

    async with running(service_config(sqlite_url)) as svc, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = await browser.new_page(locale="en")
            await page.goto(svc.url + "/")
            await page.select_option("#person", "zhao.li")
            await page.click("[data-room=helpdesk]")
            notices = page.locator('[data-testid="notice"]')
            most = 0
            for command in ("/help", "/mine", "/queue", "/help", "/mine"):  # each answers
                await page.fill("#composer-input", command)
                await page.click("#composer-send")
                await page.wait_for_timeout(400)
                most = max(most, await notices.count())
        finally:
            await browser.close()

    assert most == 3
