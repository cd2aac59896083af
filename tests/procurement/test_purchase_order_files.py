"""Purchase-order downloads: CSV with BOM, XLSX, PDF with Chinese, per-store pick lists, and
who may download them."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook
from pypdf import PdfReader

from apps.procurement.models import PurchaseOrder, Supplier
from tests.factories import StoreFactory, SupplierUserFactory
from tests.procurement.factories import consolidated_purchase_order

pytestmark = pytest.mark.django_db

DOWNLOADS = [
    "supplier:order_csv",
    "supplier:order_xlsx",
    "supplier:order_pdf",
    "supplier:pick_lists_csv",
    "supplier:pick_lists_pdf",
]


@pytest.fixture
def po(supplier_user, store, other_store) -> PurchaseOrder:
    supplier = Supplier.objects.get(users__user=supplier_user)
    return consolidated_purchase_order(supplier=supplier, stores=[store, other_store])


def _download(client, name: str, po: PurchaseOrder) -> bytes:
    with translation.override("en"):
        response = client.get(reverse(name, args=[po.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response


def test_the_csv_starts_with_a_bom_and_holds_every_line(client, supplier_user, po):
    client.force_login(supplier_user)
    response = _download(client, "supplier:order_csv", po)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{po.number}.csv"'
    content = response.content
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0] == ["Purchase order", po.number]
    header = rows.index(
        [
            "SKU",
            "Product",
            "Unit",
            "Demanded",
            "Ordered",
            "Rounding surplus",
            "Pack size",
            "Minimum order",
            "Unit cost (yuan)",
            "Amount (yuan)",
            "Short",
            "Short amount (yuan)",
            "To deliver",
            "Amount to deliver (yuan)",
        ]
    )
    lines = {row[1]: row for row in rows[header + 1 : -1]}
    assert lines["云南蓝莓 125g"][3:14] == [
        *["7", "12", "5", "6", "12", "8.50", "102.00"],
        *["0", "0.00", "12", "102.00"],
    ]
    assert lines["阳光玫瑰葡萄"][3:6] == ["10", "12", "2"]
    assert rows[-1][1:7] == ["Total", "", "17", "24", "7", ""]
    assert rows[-1][9:] == ["204.00", "0", "0.00", "24", "204.00"]


def test_the_xlsx_holds_the_order_and_its_lines(client, supplier_user, po):
    client.force_login(supplier_user)
    response = _download(client, "supplier:order_xlsx", po)
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0][:2] == ["Purchase order", po.number]
    assert values[1][:2] == ["Supplier", po.supplier.name]
    header = next(index for index, row in enumerate(values) if row[0] == "SKU")
    lines = {row[1]: row for row in values[header + 1 : -1]}
    assert lines["云南蓝莓 125g"][3:6] == [7, 12, 5]
    assert lines["阳光玫瑰葡萄"][3:6] == [10, 12, 2]
    assert lines["阳光玫瑰葡萄"][8:10] == [8.5, 102.0]
    assert values[-1][1] == "Total"
    assert values[-1][3:6] == [17, 24, 7]


def _pdf_text(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def test_the_pdf_renders_the_chinese_product_names(client, supplier_user, po):
    client.force_login(supplier_user)
    response = _download(client, "supplier:order_pdf", po)
    assert response["Content-Type"] == "application/pdf"
    text = "\n".join(_pdf_text(response.content))
    assert "云南蓝莓 125g" in text
    assert "阳光玫瑰葡萄" in text
    assert po.number in text
    assert po.supplier.name in text


def test_the_pick_list_csv_has_each_stores_quantities(
    client, supplier_user, po, store, other_store
):
    client.force_login(supplier_user)
    content = _download(client, "supplier:pick_lists_csv", po).content
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    header = rows.index(
        [
            "Store code",
            "Store",
            "SKU",
            "Product",
            "Unit",
            "Quantity",
            "For member orders",
            "For the shelf (rounding surplus)",
        ]
    )
    picked = sorted((row[0], row[3], *row[5:8]) for row in rows[header + 1 :])
    # Blueberries: 3 + 4 demanded, 12 ordered: the surplus 5 goes on the shelves in
    # proportion, 2.14 / 2.86 → 2 + 3 (the larger remainder takes the unit left over).
    # Grapes: 5 + 5, 12 ordered: 1 each.
    assert picked == sorted(
        [
            (store.code, "云南蓝莓 125g", "5", "3", "2"),
            (store.code, "阳光玫瑰葡萄", "6", "5", "1"),
            (other_store.code, "云南蓝莓 125g", "7", "4", "3"),
            (other_store.code, "阳光玫瑰葡萄", "6", "5", "1"),
        ]
    )


def test_the_pick_list_pdf_has_a_page_per_store(client, supplier_user, po, store, other_store):
    client.force_login(supplier_user)
    pages = _pdf_text(_download(client, "supplier:pick_lists_pdf", po).content)
    assert len(pages) == 2
    first, second = sorted([store, other_store], key=lambda s: s.code)
    assert first.name in pages[0]
    assert second.name in pages[1]
    assert "云南蓝莓 125g" in pages[0]
    assert "阳光玫瑰葡萄" in pages[1]


@pytest.mark.parametrize("name", DOWNLOADS)
def test_another_supplier_gets_a_404_for_every_download(client, po, name):
    intruder = SupplierUserFactory().user
    client.force_login(intruder)
    assert client.get(reverse(name, args=[po.pk])).status_code == 404


@pytest.mark.parametrize("name", DOWNLOADS)
def test_a_store_owner_gets_a_404_for_every_download(client, owner, po, name):
    client.force_login(owner)
    assert client.get(reverse(name, args=[po.pk])).status_code == 404


@pytest.mark.parametrize("name", DOWNLOADS)
def test_anonymous_users_are_sent_to_login_for_every_download(client, po, name):
    url = reverse(name, args=[po.pk])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('portal:login')}?next={url}"


def test_another_suppliers_order_for_its_own_user_still_downloads(client, po):
    other = SupplierUserFactory()
    foreign = consolidated_purchase_order(
        supplier=other.supplier, stores=[StoreFactory()], names=("别家鲜牛奶 1L", "别家酸奶")
    )
    client.force_login(other.user)
    assert client.get(reverse("supplier:order_csv", args=[foreign.pk])).status_code == 200
    assert client.get(reverse("supplier:order_csv", args=[po.pk])).status_code == 404


def test_chinese_pdfs_write_labels_with_a_full_width_colon(client, supplier_user, po):
    client.force_login(supplier_user)
    order = "\n".join(_pdf_text(client.get(reverse("supplier:order_pdf", args=[po.pk])).content))
    picks = _pdf_text(client.get(reverse("supplier:pick_lists_pdf", args=[po.pk])).content)
    assert f"供应商：{po.supplier.name}" in order
    assert f"采购单：{po.number}" in picks[0]
    assert ": " not in order.replace(po.number, "")
