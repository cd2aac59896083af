"""What a purchase order is worth once the supplier reports a shortage: next to the ordered
amount, the shortage (units and value) and the amount to deliver and invoice ((ordered −
short) × unit cost), per line and in the totals, on the supplier's pages and in every
download; the PDF has the unit column the CSV and XLSX have."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook
from pypdf import PdfReader

from apps.procurement.models import PurchaseOrder, PurchaseOrderLine, Supplier
from apps.procurement.selectors.purchase_orders import purchase_order_sheet
from apps.procurement.services.purchase_orders import purchase_order_report_shortage
from apps.procurement.services.receiving import receipt_record
from tests.factories import SupplierUserFactory
from tests.procurement.factories import (
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    consolidated_purchase_order,
)
from tests.procurement.factories_supply import supply_world

pytestmark = pytest.mark.django_db

BLUEBERRIES = "云南蓝莓 125g"
GRAPES = "阳光玫瑰葡萄"


@pytest.fixture
def po(supplier_user, store, other_store) -> PurchaseOrder:
    """Blueberries 7 demanded, 12 ordered; grapes 10 demanded, 12 ordered; both ¥8.50.
    The supplier reports 10 blueberries short: ¥85.00 of the ¥102.00 will not come."""
    supplier = Supplier.objects.get(users__user=supplier_user)
    po = consolidated_purchase_order(supplier=supplier, stores=[store, other_store])
    line = PurchaseOrderLine.objects.get(purchase_order=po, product__name=BLUEBERRIES)
    purchase_order_report_shortage(po=po, lines={line.pk: 10}, note="冰雹", by=None)
    return po


def _get(client, name: str, po: PurchaseOrder):
    with translation.override("en"):
        response = client.get(reverse(name, args=[po.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response


def test_the_sheet_totals_the_shortage_and_what_is_left_to_deliver(po):
    sheet = purchase_order_sheet(purchase_order=po)
    lines = {line.product.name: line for line in sheet.lines}
    blueberries = lines[BLUEBERRIES]
    assert (blueberries.amount, blueberries.short_amount) == (Decimal("102.00"), Decimal("85.00"))
    assert (blueberries.to_deliver_quantity, blueberries.to_deliver_amount) == (
        2,
        Decimal("17.00"),
    )
    assert (lines[GRAPES].short_amount, lines[GRAPES].to_deliver_amount) == (
        Decimal("0.00"),
        Decimal("102.00"),
    )
    assert (sheet.amount, sheet.short, sheet.short_amount) == (
        Decimal("204.00"),
        10,
        Decimal("85.00"),
    )
    assert (sheet.to_deliver, sheet.to_deliver_amount) == (14, Decimal("119.00"))


def test_the_csv_shows_the_shortage_money_per_line_and_in_the_total(client, supplier_user, po):
    client.force_login(supplier_user)
    content = _get(client, "supplier:order_csv", po).content
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    header = next(index for index, row in enumerate(rows) if row[:1] == ["SKU"])
    assert rows[header][9:] == [
        "Amount (yuan)",
        "Short",
        "Short amount (yuan)",
        "To deliver",
        "Amount to deliver (yuan)",
    ]
    lines = {row[1]: row for row in rows[header + 1 : -1]}
    assert lines[BLUEBERRIES][9:] == ["102.00", "10", "85.00", "2", "17.00"]
    assert lines[GRAPES][9:] == ["102.00", "0", "0.00", "12", "102.00"]
    assert rows[-1][1] == "Total"
    assert rows[-1][9:] == ["204.00", "10", "85.00", "14", "119.00"]


def test_the_xlsx_shows_the_shortage_money_as_numbers(client, supplier_user, po):
    client.force_login(supplier_user)
    content = _get(client, "supplier:order_xlsx", po).content
    values = [
        list(row) for row in load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True)
    ]
    header = next(index for index, row in enumerate(values) if row[0] == "SKU")
    assert values[header][12] == "To deliver"
    lines = {row[1]: row for row in values[header + 1 : -1]}
    assert lines[BLUEBERRIES][9:] == [102.0, 10, 85.0, 2, 17.0]
    assert values[-1][1] == "Total"
    assert values[-1][9:] == [204.0, 10, 85.0, 14, 119.0]


def test_the_pdf_shows_the_unit_and_the_shortage_money(client, supplier_user, po):
    client.force_login(supplier_user)
    content = _get(client, "supplier:order_pdf", po).content
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    for label in ("Unit", "Short amount", "To deliver", "Amount to deliver"):
        assert label in text
    assert "85.00" in text
    assert "17.00" in text
    assert "119.00" in text


def test_the_chinese_pdf_has_the_unit_column(client, supplier_user, po):
    client.force_login(supplier_user)
    with translation.override("zh-hans"):
        content = client.get(
            reverse("supplier:order_pdf", args=[po.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
        ).content
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    assert "单位" in text
    assert "缺货金额" in text
    assert "应交货金额" in text


def test_the_order_page_shows_the_shortage_and_the_amount_to_deliver(client, supplier_user, po):
    client.force_login(supplier_user)
    page = _get(client, "supplier:order", po).content.decode()
    line = PurchaseOrderLine.objects.get(purchase_order=po, product__name=BLUEBERRIES)
    row = page[page.index(f'id="line-{line.pk}"') :]
    row = row[: row.index("</tr>")]
    assert '<td class="short-amount">−¥85.00</td>' in row
    assert '<td class="to-deliver">2</td>' in row
    assert "¥17.00" in row
    totals = page[page.index('id="totals"') :]
    totals = totals[: totals.index("</tr>")]
    assert '<th class="amount">¥204.00</th>' in totals
    assert '<th class="short">10</th>' in totals
    assert '<th class="short-amount">−¥85.00</th>' in totals
    assert '<th class="to-deliver-amount">¥119.00</th>' in totals


def test_the_order_list_shows_the_amount_to_deliver_of_a_short_order(client, supplier_user, po):
    client.force_login(supplier_user)
    with translation.override("en"):
        page = client.get(reverse("supplier:orders"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "¥204.00 · to deliver ¥119.00" in page


def test_the_admin_shows_an_order_s_amount_and_what_is_left_to_deliver(hq_user, po):
    """HQ's purchase-order pages showed no money at all; the amounts are the supplier pages'
    (`purchase_orders_with_amounts`), on the list and the change page."""
    client = Client()
    client.force_login(hq_user)
    listed = client.get(reverse("admin:procurement_purchaseorder_changelist"))
    row = next(order for order in listed.context["cl"].result_list if order.pk == po.pk)
    admin_page = listed.context["cl"].model_admin
    assert (admin_page.amount(row), admin_page.to_deliver_amount(row)) == (
        Decimal("204.00"),
        Decimal("119.00"),
    )
    with translation.override("en"):
        page = client.get(
            reverse("admin:procurement_purchaseorder_change", args=[po.pk]),
            HTTP_ACCEPT_LANGUAGE="en",
        ).content.decode()
    assert "204.00" in page
    assert "119.00" in page


def test_the_admin_list_s_queries_do_not_grow_with_its_orders(hq_user):
    client = Client()
    client.force_login(hq_user)
    url = reverse("admin:procurement_purchaseorder_changelist")
    PurchaseOrderLineFactory()
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    for _index in range(3):
        PurchaseOrderLineFactory.create_batch(2, purchase_order=PurchaseOrderFactory())
    with CaptureQueriesContext(connection) as four:
        assert client.get(url).status_code == 200
    assert len(four) == len(one)


def test_a_store_s_receiving_shortage_changes_the_list_as_it_changes_the_order_page(client):
    """Units a store found short at receiving count in `shortage_quantity` as a reported
    shortage does: the order page's amount to deliver fell, and the supplier's list showed
    nothing, as it looked only at the supplier's own report (`has_shortage`)."""
    world = supply_world()
    berries, grapes = world.products
    user = SupplierUserFactory(supplier=world.supplier).user
    client.force_login(user)
    po = world.purchase_order

    def listed() -> str:
        with translation.override("en"):
            page = client.get(reverse("supplier:orders"), HTTP_ACCEPT_LANGUAGE="en")
        html = page.content.decode()
        row = html[html.index(f'id="po-{po.pk}"') :]
        return row[: row.index("</li>")]

    def page_to_deliver() -> str:
        html = _get(client, "supplier:order", po).content.decode()
        totals = html[html.index('id="totals"') :]
        totals = totals[: totals.index("</tr>")]
        amount = totals[totals.index('<th class="to-deliver-amount">') :]
        return amount[len('<th class="to-deliver-amount">') : amount.index("</th>")]

    assert page_to_deliver() == "¥136.00"  # 16 units at ¥8.50, nothing short
    assert "to deliver" not in listed()

    receipt_record(
        purchase_order=po,
        store=world.store_a,
        lines={
            world.allocation(world.store_a, berries).pk: (4, 2, 0),
            world.allocation(world.store_a, grapes).pk: (4, 0, 0),
        },
        by=None,
    )
    po.refresh_from_db()
    assert po.has_shortage is False  # the supplier reported nothing
    assert purchase_order_sheet(purchase_order=po).to_deliver_amount == Decimal("119.00")
    assert page_to_deliver() == "¥119.00"
    assert "¥136.00 · to deliver ¥119.00" in listed()
    assert "shortage reported" not in listed()
