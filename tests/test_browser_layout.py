"""Layout only a browser shows (headless system Chromium, phone viewport 390×844, zh-CN).

- Portal and supplier tables: a short Chinese header or cell (需求数, 已通过) is never broken one
  character per line, and a table wider than the phone scrolls inside its `.table-scroll` box
  instead of squeezing its columns.
- Portal form fields: a date-time field (the group-buy deadline) is as tall and as wide as
  the number fields beside it, not the browser's bare 20 px box.
- Date and photo inputs (the ship date, the order filters, inspection photos) are as tall as
  the other fields, not the browser's bare 21 px.
- The supplier's download links are full-height tap targets, and dates (delivery, ship) are
  never broken at a hyphen on the order page or in the list.
- HQ's campaign launch form: its product and store pickers are the admin's two-box
  filter_horizontal, with the field's label before them and Chinese help.

Sessions come from the test client (`force_login`), so no page is spent on logging in.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.procurement.models import AfterSalesCase, PurchaseOrder
from apps.procurement.services.receiving import receipt_record
from apps.stores.models import OrderFulfilment
from apps.stores.services.stock import stock_move
from tests.campaigns.factories import BroadcastFactory
from tests.factories import ProductFactory, StoreFactory, SupplierUserFactory, owner_of
from tests.procurement.factories import (
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    consolidated_purchase_order,
)
from tests.procurement.factories_aftersales import AfterSalesCaseFactory
from tests.procurement.factories_supply import supply_order, supply_world

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"

# For each table: its box's class and overflow, whether it is wider than its box, and the
# text of every header or cell whose text runs over more than one line (with the line count).
TABLES = """() => [...document.querySelectorAll('main table')].map(table => {
  const lines = cell => {
    const range = document.createRange();
    range.selectNodeContents(cell);
    return new Set([...range.getClientRects()].map(rect => Math.round(rect.top))).size;
  };
  const box = table.parentElement;
  return {
    box: box.className,
    overflowX: getComputedStyle(box).overflowX,
    scrolls: box.scrollWidth > box.clientWidth,
    broken: [...table.querySelectorAll('th, td')]
      .filter(cell => lines(cell) > 1)
      .map(cell => cell.innerText.trim() + ':' + lines(cell)),
  };
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


def _page_as(browser: object, live_server: object, user: object, *, width: int = 390) -> object:
    client = Client()
    client.force_login(user)
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 844})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page


def test_supplier_order_headers_stay_on_one_line_on_a_phone(browser, live_server) -> None:
    supplier_user = SupplierUserFactory()
    order = PurchaseOrderFactory(supplier=supplier_user.supplier)
    product = ProductFactory(name="低糖蓝莓（云南蓝莓）125g 冷链直发家庭装")
    PurchaseOrderLineFactory(purchase_order=order, product=product)
    page = _page_as(browser, live_server, supplier_user.user)

    page.goto(f"{live_server.url}{reverse('supplier:order', args=[order.pk])}")
    [table] = page.evaluate(TABLES)

    assert "需求数" in page.locator("main table thead").inner_text()
    assert table["box"] == "table-scroll"
    assert table["overflowX"] == "auto"
    # Only the product cell (a long name over its SKU line) runs over several lines.
    assert [text for text in table["broken"] if not text.startswith("低糖蓝莓")] == []
    page.context.close()


def test_supplier_received_section_and_dispute_form_fit_a_phone(browser, live_server) -> None:
    """docs/purchasing.md, "Received": the received tables scroll inside their box without
    breaking a Chinese header or a receipt's date, and the dispute form, opened, stays within
    the phone's width."""
    world = supply_world()
    berries, grapes = world.products
    receipt_record(
        purchase_order=world.purchase_order,
        store=world.store_a,
        lines={
            world.allocation(world.store_a, berries).pk: (2, 2, 2),
            world.allocation(world.store_a, grapes).pk: (4, 0, 0),
        },
        by=None,
    )
    supplier_user = SupplierUserFactory(supplier=world.supplier)
    page = _page_as(browser, live_server, supplier_user.user)

    page.goto(f"{live_server.url}{reverse('supplier:order', args=[world.purchase_order.pk])}")
    tables = page.evaluate(TABLES)
    received = page.locator("#received table.received thead").first.inner_text()
    assert "收货短缺" in received
    assert "可开票金额" in received
    assert all(table["box"] == "table-scroll" for table in tables)
    broken = [text for table in tables for text in table["broken"]]
    assert [text for text in broken if "收货短缺" in text or "可开票金额" in text] == []
    # The table scrolls rather than break a receipt's date ("2026-" / "12-07" / "00:15").
    received_at = page.evaluate(DATES)
    assert len(received_at) >= 2
    assert [date for date in received_at if date[1] != 1] == []
    page.locator("#received details.dispute-form summary").first.click()
    note = page.locator("#received details.dispute-form textarea").first.bounding_box()
    assert note["x"] >= 0
    assert note["x"] + note["width"] <= 390


# The product cell of each line and its stores' row: widths and line counts as laid out.
ORDER_LINES = """() => [...document.querySelectorAll('tr[id^="line-"].line')].map(row => {
  const product = row.querySelector('td.product');
  const shares = document.getElementById(row.id + '-stores');
  const text = shares.querySelector('td > div');
  return {
    productWidth: product.getBoundingClientRect().width,
    rowHeight: row.getBoundingClientRect().height,
    sharesColspan: shares.querySelector('td').colSpan,
    sharesRight: text.getBoundingClientRect().right,
    sharesText: text.innerText,
  };
})"""


def test_supplier_order_lines_keep_the_product_readable_and_the_stores_below_on_a_phone(
    browser, live_server
) -> None:
    """Five stores' split of a line once made the product column ~70 px wide and the row 20+
    lines tall: the split now has its own full-width row under the line, in view."""
    supplier_user = SupplierUserFactory()
    stores = [StoreFactory(name=f"幸福里社区店{n}") for n in range(5)]
    order = consolidated_purchase_order(supplier=supplier_user.supplier, stores=stores)
    page = _page_as(browser, live_server, supplier_user.user)

    page.goto(f"{live_server.url}{reverse('supplier:order', args=[order.pk])}")
    lines = page.evaluate(ORDER_LINES)

    assert len(lines) == 2
    for line in lines:
        assert line["productWidth"] >= 120
        assert line["rowHeight"] < 120  # name and SKU line: a few lines, not twenty
        assert line["sharesColspan"] == 9
        assert line["sharesRight"] <= 390  # the stores' text wraps inside the screen
        assert all(f"{store.code} {store.name}" in line["sharesText"] for store in stores)
    page.context.close()


def test_a_table_wider_than_the_phone_shows_a_scroll_shadow_and_dates_stay_whole(
    browser, live_server
) -> None:
    store = StoreFactory()
    product = ProductFactory(name="东北五常大米 5kg 袋装")
    stock_move(store=store, product=product, kind="receipt", quantity=12)
    page = _page_as(browser, live_server, owner_of(store))

    page.goto(f"{live_server.url}{reverse('portal:store_stock', args=[store.pk])}")
    shadow = page.evaluate(
        "() => getComputedStyle(document.querySelector('#stock-list .table-scroll'))"
        ".backgroundImage"
    )
    [table] = page.evaluate(TABLES)

    assert shadow.count("radial-gradient") == 2
    # The last movement ("入库 +12" over "12-06 14:24") is two lines, the date not split.
    assert [text for text in table["broken"] if "入库" in text] == [
        next(text for text in table["broken"] if "入库" in text)
    ]
    assert next(text for text in table["broken"] if "入库" in text).endswith(":2")
    page.context.close()


def test_after_sales_list_scrolls_instead_of_breaking_words_on_a_phone(
    browser, live_server
) -> None:
    store = StoreFactory()
    AfterSalesCaseFactory(
        store=store,
        number="AS-20261205-1",
        amount=Decimal("12345.60"),
        status=AfterSalesCase.Status.APPROVED,
        decided_at=timezone.now(),
        remedy="refund",
        charged_to="store",
    )
    page = _page_as(browser, live_server, owner_of(store))

    page.goto(f"{live_server.url}{reverse('supply:cases', args=[store.pk])}")
    [table] = page.evaluate(TABLES)

    assert "已通过" in page.locator("main table tbody").inner_text()
    assert table["box"] == "table-scroll"
    # Five columns do not fit 390 px: the box scrolls, and no status or header is broken.
    assert table["scrolls"] is True
    assert [text for text in table["broken"] if "已通过" in text or "金额" in text] == []
    assert AfterSalesCase.objects.count() == 1
    page.context.close()


def test_campaign_launch_pickers_are_the_admins_in_chinese(browser, live_server, hq_user) -> None:
    ProductFactory(name="云南蓝莓 大果 250g")
    StoreFactory()
    page = _page_as(browser, live_server, hq_user, width=1280)

    page.goto(f"{live_server.url}{reverse('admin:campaigns_campaign_add')}")
    products = page.locator(".field-products")
    label = products.locator("label").first.bounding_box()
    picker = products.locator(".selector").bounding_box()

    # The picker is styled (two boxes side by side) and comes after its label, as on a change form.
    assert (
        products.locator(".selector-available").bounding_box()["x"]
        < (products.locator(".selector-chosen").bounding_box()["x"])
    )
    assert label["x"] < picker["x"]
    help_texts = products.locator(".selector .helptext").all_inner_texts()
    assert help_texts == [
        "选中要添加的商品，再点击“选择”箭头按钮。",
        "选中要删除的商品，再点击“删除”箭头按钮。",
    ]
    page.context.close()


def test_pickup_counter_order_buttons_are_big_enough_to_tap_on_a_phone(
    browser, live_server
) -> None:
    """The counter is used on a phone: each order's buttons (标记已到货, 散客交货, a delivery
    step, 取消订单) were the browser's bare 22 px buttons; they are now at least 40 px tall."""
    store = StoreFactory()
    waiting = supply_order(store=store, lines=[(ProductFactory(), 2)], channel="group_buy")
    OrderFulfilment.objects.create(order=waiting, store=store, pickup_code="135790")  # 标记已到货
    page = _page_as(browser, live_server, owner_of(store))

    page.goto(f"{live_server.url}{reverse('supply:pickup', args=[store.pk])}")
    targets = page.evaluate(
        """() => [...document.querySelectorAll('.pickup-actions button, .pickup-actions summary')]
          .filter(el => el.getBoundingClientRect().height > 0)
          .map(el => [el.innerText.trim(), Math.round(el.getBoundingClientRect().height)])"""
    )

    labels = [label for label, _height in targets]
    assert "标记已到货" in labels
    assert "取消订单" in labels
    assert [(label, height) for label, height in targets if height < 40] == []
    page.context.close()


def test_group_buy_deadline_field_is_as_big_as_the_other_fields_on_a_phone(
    browser, live_server
) -> None:
    """The broadcast page's offer form: the deadline (a datetime-local input) was left out of
    the portal's field style, so on a phone it was a 20 px tall box half the form's width
    beside full-width price and threshold fields: a small target for a thumb."""
    broadcast = BroadcastFactory()
    page = _page_as(browser, live_server, owner_of(broadcast.store))

    page.goto(f"{live_server.url}{reverse('campaigns:broadcast', args=[broadcast.pk])}")
    boxes = page.evaluate(
        """() => Object.fromEntries(['price', 'deadline'].map(name => {
          const box = document.querySelector(`form [name=${name}]`).getBoundingClientRect();
          return [name, [Math.round(box.width), Math.round(box.height)]];
        }))"""
    )

    assert page.locator("form [name=deadline]").get_attribute("type") == "datetime-local"
    deadline_width, deadline_height = boxes["deadline"]
    price_width, price_height = boxes["price"]
    assert deadline_width == price_width
    assert deadline_height >= price_height >= 38
    page.context.close()


# The height of each date, month and file input on the page (with its name).
INPUT_HEIGHTS = """() => [...document.querySelectorAll(
    'main input[type=date], main input[type=month], main input[type=datetime-local],'
    + ' main input[type=file]')]
  .filter(el => el.getBoundingClientRect().height > 0)
  .map(el => [el.name, Math.round(el.getBoundingClientRect().height)])"""


def test_date_and_photo_inputs_are_big_enough_to_tap_on_a_phone(
    browser, live_server, store, inspector
) -> None:
    """The ship date, the order list's delivery dates and the inspection's photo inputs were
    the browser's bare 21 px inputs; they are as tall as the other fields (40 px or more)."""
    from django.core.files.base import ContentFile

    from apps.stores.inspections import services
    from tests.stores.test_inspections_support import active_checklist, jpeg_bytes

    supplier_user = SupplierUserFactory()
    order = consolidated_purchase_order(supplier=supplier_user.supplier, stores=[store])
    page = _page_as(browser, live_server, supplier_user.user)
    page.goto(f"{live_server.url}{reverse('supplier:orders')}")
    filters = page.evaluate(INPUT_HEIGHTS)
    page.goto(f"{live_server.url}{reverse('supplier:order', args=[order.pk])}")
    confirm = page.evaluate(INPUT_HEIGHTS)
    page.context.close()
    active_checklist((3, 2))
    inspection, _created = services.inspection_start(store=store, inspector=inspector)
    services.inspection_photo_add(
        inspection=inspection, by=inspector, upload=ContentFile(jpeg_bytes(), name="shelf.jpg")
    )
    page = _page_as(browser, live_server, inspector)
    page.goto(f"{live_server.url}{reverse('inspections:detail', args=[inspection.pk])}")
    photos = page.evaluate(INPUT_HEIGHTS)
    remove = page.evaluate(
        """() => [...document.querySelectorAll('button[name=remove_photo]')]
          .map(el => Math.round(el.getBoundingClientRect().height))"""
    )
    page.context.close()

    assert [name for name, _height in filters] == ["date_from", "date_to"]
    assert [name for name, _height in confirm] == ["ship_date"]
    assert len(photos) == 3  # a photo per item, and "other photos"
    assert [(name, height) for name, height in filters + confirm + photos if height < 40] == []
    # The photo's Remove button beside its thumbnail (the bare button was 24 px).
    assert len(remove) == 1
    assert remove[0] >= 40


# Every date (YYYY-MM-DD) in the page's main part, with the number of lines it is set on.
DATES = r"""() => {
  const walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
  const dates = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    for (const match of node.data.matchAll(/\d{4}-\d{2}-\d{2}/g)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const tops = new Set([...range.getClientRects()].map(rect => Math.round(rect.top)));
      dates.push([match[0], tops.size]);
    }
  }
  return dates;
}"""


def test_supplier_downloads_are_tap_targets_and_dates_stay_whole_on_a_phone(
    browser, live_server, store
) -> None:
    """The five download links were 17 px inline links a few pixels apart; a ship date broke
    at its hyphen ("发货日期：2026-12-" over "05") on the order page and in the list."""
    supplier_user = SupplierUserFactory(supplier__name="云南高原蓝莓果园")
    order = consolidated_purchase_order(supplier=supplier_user.supplier, stores=[store])
    today = timezone.localdate()
    PurchaseOrder.objects.filter(pk=order.pk).update(status="confirmed", ship_date=today)
    page = _page_as(browser, live_server, supplier_user.user)

    page.goto(f"{live_server.url}{reverse('supplier:order', args=[order.pk])}")
    downloads = page.evaluate(
        """() => [...document.querySelectorAll('main a[href*="/order."], main a[href*="/pick-"]')]
          .map(el => Math.round(el.getBoundingClientRect().height))"""
    )
    detail_dates = page.evaluate(DATES)
    page.goto(f"{live_server.url}{reverse('supplier:orders')}")
    list_dates = page.evaluate(DATES)
    page.context.close()

    assert len(downloads) == 5
    assert [height for height in downloads if height < 40] == []
    assert len(detail_dates) >= 2
    assert len(list_dates) == 2
    assert [date for date in detail_dates + list_dates if date[1] != 1] == []
