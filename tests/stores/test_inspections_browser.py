"""A real browser (headless Chromium, JavaScript off, phone-sized) scores a whole inspection and
taps one Save button: every score is kept, the page says what was saved, and the strict
Content-Security-Policy reports nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.urls import reverse

from apps.stores.inspections import services
from tests import test_browser_portal as browser_portal
from tests.factories import PASSWORD
from tests.stores.test_inspections_support import active_checklist, results_of

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

browser = browser_portal.browser


@pytest.fixture
def phone(browser: object) -> Iterator[tuple[object, list[str]]]:
    """No JavaScript: the scoring page must work as plain HTML forms."""
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, java_script_enabled=False
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    console: list[str] = []
    page.on(
        "console",
        lambda message: (
            console.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page, console
    context.close()


def test_one_tap_on_save_keeps_every_score_typed_on_a_phone(live_server, phone, inspector, store):
    page, console = phone
    active_checklist((3, 3, 2, 2, 3, 2, 1))
    inspection, _created = services.inspection_start(store=store, inspector=inspector)
    scores = ["8", "7", "10", "6", "9", "5", "0"]

    page.goto(f"{live_server.url}{reverse('portal:login')}")
    page.fill("#id_username", inspector.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    page.goto(f"{live_server.url}{reverse('inspections:detail', args=[inspection.pk])}")
    selects = page.locator("#scoring select")
    assert selects.count() == 7
    for index, score in enumerate(scores):
        selects.nth(index).select_option(score)
    page.locator("#scoring textarea").nth(2).fill("两件临期")
    with page.expect_navigation():
        page.locator("#scoring button[name=action][value=save]").nth(1).click()  # the 2nd card's

    assert [str(result.score) for result in results_of(inspection)] == scores
    assert results_of(inspection)[2].note == "两件临期"
    assert page.locator(".messages li").all_inner_texts() == [
        "已保存 7 项：" + "；".join(f"Check {number}" for number in range(1, 8)) + "。",
        "已评分 7/7 项。",
    ]
    assert [page.locator("#scoring select").nth(i).input_value() for i in range(7)] == scores
    assert console == []
