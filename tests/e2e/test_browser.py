"""One real browser: type a message, see the card, press Accept, see the card change in place."""

from __future__ import annotations

import os
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
