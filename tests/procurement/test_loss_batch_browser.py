"""The batch loss page in a real browser on a phone (headless system Chromium, 390×844, zh-CN):
with JavaScript a row is added and one removed, a picked product shows its on-hand, and the
list is recorded; without JavaScript the five rows work alone. Every field and button is a
thumb's height (docs/loss.md "Several at once")."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import reverse

from apps.stores.models import LossBatch, StockLevel, StockMovement
from tests.factories import ProductFactory, StockLevelFactory, StoreFactory, owner_of

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"

# Height of every visible field and button of the form, with the overflow of the page.
TARGETS = """() => ({
  small: [...document.querySelectorAll('#loss-batch-form input:not([type=hidden]), '
    + '#loss-batch-form select, #loss-batch-form button')]
    .filter(el => el.getBoundingClientRect().height > 0)
    .map(el => [el.name || el.innerText.trim(), el.getBoundingClientRect().height])
    .filter(([_name, height]) => height < 44),
  wider: document.documentElement.scrollWidth > document.documentElement.clientWidth,
})"""


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


def _page_as(browser: object, live_server: object, user: object, *, javascript: bool) -> object:
    client = Client()
    client.force_login(user)
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, java_script_enabled=javascript
    )
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page


@pytest.fixture
def shelf() -> tuple[object, StockLevel, StockLevel]:
    store = StoreFactory()
    milk = StockLevelFactory(
        store=store, on_hand=8, product=ProductFactory(name="鲜牛奶 950ml", sku="MILK-950")
    )
    bread = StockLevelFactory(
        store=store, on_hand=3, product=ProductFactory(name="全麦面包", sku="BRD-1")
    )
    return store, milk, bread


def test_with_javascript_rows_are_added_and_removed_and_the_list_is_recorded(
    browser, live_server, shelf
) -> None:
    store, milk, bread = shelf
    page = _page_as(browser, live_server, owner_of(store), javascript=True)
    page.goto(f"{live_server.url}{reverse('supply:loss_batch', args=[store.pk])}")
    rows = page.locator("[data-loss-row]")
    assert rows.count() == 5
    page.click("#loss-add")
    assert rows.count() == 6
    assert rows.nth(5).locator("legend").inner_text() == "第 6 行"
    assert page.evaluate(TARGETS) == {"small": [], "wider": False}

    page.fill("#id_rows-0-product", "鲜牛奶 950ml · MILK-950")
    assert rows.nth(0).locator("[data-loss-on-hand]").inner_text() == "库存 8 件"
    page.fill("#id_rows-0-quantity", "2")
    page.select_option("#id_rows-0-reason", "expired")
    page.fill("#id_rows-1-product", "榴莲")  # a row typed by mistake, then removed
    rows.nth(1).locator("[data-loss-remove]").click()
    assert rows.count() == 5
    assert rows.nth(1).locator("legend").inner_text() == "第 2 行"
    page.fill("#id_rows-5-product", "全麦面包 · BRD-1")
    page.fill("#id_rows-5-quantity", "3")
    page.select_option("#id_rows-5-reason", "damaged")
    with page.expect_navigation():
        page.click("#loss-batch-form button[type=submit]")

    assert page.url.endswith(reverse("supply:loss", args=[store.pk]))
    assert "已登记 2 条损耗。" in page.locator(".messages").inner_text()
    assert sorted(StockMovement.objects.values_list("product__sku", "quantity", "reason")) == [
        ("BRD-1", -3, "damaged"),
        ("MILK-950", -2, "expired"),
    ]
    assert LossBatch.objects.get().loss_count == 2
    page.context.close()


def test_without_javascript_the_five_rows_work_and_a_bad_row_keeps_the_others(
    browser, live_server, shelf
) -> None:
    store, milk, bread = shelf
    page = _page_as(browser, live_server, owner_of(store), javascript=False)
    page.goto(f"{live_server.url}{reverse('supply:loss_batch', args=[store.pk])}")
    assert page.locator("[data-loss-row]").count() == 5
    assert not page.locator("#loss-add").is_visible()
    page.fill("#id_rows-0-product", "鲜牛奶 950ml · MILK-950")
    page.fill("#id_rows-0-quantity", "2")
    page.select_option("#id_rows-0-reason", "expired")
    page.fill("#id_rows-2-product", "全麦面包")
    page.fill("#id_rows-2-quantity", "4")
    page.select_option("#id_rows-2-reason", "expired")
    with page.expect_navigation():
        page.click("#loss-batch-form button[type=submit]")

    assert "库存只有 3 件。" in page.locator("[data-loss-row]").nth(2).inner_text()
    assert page.input_value("#id_rows-0-product") == "鲜牛奶 950ml · MILK-950"
    assert page.input_value("#id_rows-0-quantity") == "2"
    assert not StockMovement.objects.exists()
    page.fill("#id_rows-2-quantity", "3")
    with page.expect_navigation():
        page.click("#loss-batch-form button[type=submit]")
    assert "已登记 2 条损耗。" in page.locator(".messages").inner_text()
    assert StockMovement.objects.count() == 2
    page.context.close()
