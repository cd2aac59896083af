"""A real browser (headless Chromium through Playwright) logs in to the portal.

Uses the system Chromium (`/usr/bin/chromium`); `playwright install` is never needed.
No screenshots or traces are written.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.factories import PASSWORD

# Playwright's sync API runs an event loop in this thread; the ORM calls made by fixtures and
# assertions are still synchronous and safe here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def test_owner_logs_in_with_a_real_browser_and_sees_the_store(
    live_server, page, owner, store, other_store
):
    page.goto(f"{live_server.url}/portal/login/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.fill("#id_username", owner.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    assert page.url == f"{live_server.url}/portal/stores/{store.pk}/"
    assert page.locator("main h2").first.inner_text() == store.name
    assert other_store.name not in page.content()


def test_wrong_password_in_a_real_browser_stays_on_login(live_server, page, owner):
    page.goto(f"{live_server.url}/portal/login/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", "not-the-password")
    with page.expect_navigation():
        page.click("input[type=submit]")
    assert page.url == f"{live_server.url}/portal/login/"
    assert page.locator(".errorlist li").count() == 1
