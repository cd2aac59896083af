"""Supplier and supplier-product imports and exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from apps.procurement.models import Supplier, SupplierProduct
from apps.procurement.resources import SupplierResource
from apps.procurement.services.imports import supplier_products_import, suppliers_import
from linli.imports.contract import table_from_bytes
from tests.factories import ProductFactory, SupplierFactory, UserFactory

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
SUPPLIER_HEADER = "code,name,kind,contact_name,phone,province,is_active\n"
OFFER_HEADER = "supplier_code,sku,cost,lead_time_days,min_order_qty,pack_size,is_preferred\n"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def table(text: str):
    return table_from_bytes(text.encode())


def errors_of(report) -> list[tuple[int, str, str]]:
    return [(error.row, error.column, error.code) for error in report.errors]


def test_suppliers_example_imports_with_normalised_phones(db: None) -> None:
    SupplierFactory(code="SUP-YN-BERRY", name="旧名", kind=Supplier.Kind.FARM)

    report = suppliers_import(table=table((EXAMPLES / "suppliers.csv").read_text()))

    assert report.errors == []
    assert (report.created, report.updated) == (1, 1)
    assert dict(Supplier.objects.values_list("code", "phone")) == {
        "SUP-YN-BERRY": "+8613988760001",
        "SUP-ZJ-DAIRY": "+8613988760002",
    }
    assert Supplier.objects.get(code="SUP-ZJ-DAIRY").kind == Supplier.Kind.FACTORY
    again = suppliers_import(table=table((EXAMPLES / "suppliers.csv").read_text()))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


@pytest.mark.parametrize(
    ("line", "column", "code"),
    [
        ("S2,名,farm,,12345,,", "phone", "invalid_phone"),
        ("S2,名,spaceship,,,,", "kind", "invalid_choice"),
        ("S1,名,farm,,,,", "code", "duplicate"),
        ("S2,,farm,,,,", "name", "required"),
        ("S2,名,farm,,,,sometimes", "is_active", "invalid_boolean"),
    ],
)
def test_suppliers_bad_row_is_reported(db: None, line: str, column: str, code: str) -> None:
    report = suppliers_import(table=table(SUPPLIER_HEADER + "S1,好,farm,,,,\n" + line + "\n"))
    assert errors_of(report) == [(3, column, code)]
    assert Supplier.objects.count() == 0


def test_supplier_products_example_imports(db: None) -> None:
    berry = SupplierFactory(code="SUP-YN-BERRY")
    dairy = SupplierFactory(code="SUP-ZJ-DAIRY")
    ProductFactory(sku="FRUIT-BERRY-001")
    ProductFactory(sku="DAIRY-MILK-001")

    report = supplier_products_import(table=table((EXAMPLES / "supplier_products.csv").read_text()))

    assert report.errors == []
    offer = SupplierProduct.objects.get(supplier=berry)
    assert (offer.cost, offer.lead_time_days, offer.min_order_qty, offer.pack_size) == (
        Decimal("12.30"),
        3,
        20,
        10,
    )
    assert SupplierProduct.objects.get(supplier=dairy).pack_size == 12


def test_supplier_products_bad_rows_are_all_reported(db: None) -> None:
    SupplierFactory(code="S1")
    ProductFactory(sku="P1")
    report = supplier_products_import(
        table=table(
            OFFER_HEADER
            + "S1,P1,5.00,1,1,1,1\n"
            + "NOPE,P1,5.00,1,1,1,1\n"
            + "S1,NOPE,5.00,1,1,1,1\n"
            + "S1,P1,6.00,1,1,1,1\n"
            + "S1,P1,x,1,0,1,1\n"
        )
    )
    assert errors_of(report) == [
        (3, "supplier_code", "unknown_supplier"),
        (4, "sku", "unknown_sku"),
        (5, "sku", "duplicate"),
        (6, "sku", "duplicate"),
        (6, "cost", "invalid_number"),
        (6, "min_order_qty", "below_minimum"),
    ]
    assert SupplierProduct.objects.count() == 0


def test_supplier_products_unknown_codes_are_reported_with_the_rows_other_errors(
    db: None,
) -> None:
    report = supplier_products_import(table=table(OFFER_HEADER + "NOPE,NO-SUCH-SKU,x,1,0,1,1\n"))
    assert errors_of(report) == [
        (2, "cost", "invalid_number"),
        (2, "min_order_qty", "below_minimum"),
        (2, "supplier_code", "unknown_supplier"),
        (2, "sku", "unknown_sku"),
    ]
    assert str(report.errors[2]) == ("Row 2, column “supplier_code”: Unknown supplier code “NOPE”.")
    assert SupplierProduct.objects.count() == 0


def _staff(*codenames: str):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def _export(client) -> list[dict[str, str]]:
    data = {"format": "0", "resource": "0"}
    data.update({f"supplierresource_{n}": "on" for n in SupplierResource().get_export_order()})
    response = client.post(reverse("admin:procurement_supplier_export"), data)
    assert response.status_code == 200
    assert response.content.startswith("\ufeff".encode())  # UTF-8 BOM, for Excel
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_supplier_export_carries_whole_phones_for_staff_who_may_view_suppliers(
    client, db: None
) -> None:
    """A supplier's contact is not member data: its own explicit permission, no
    `customers.view_phone` needed, and the export imports back; without either, masked."""
    SupplierFactory(code="S1", phone="+8613988760001", contact_name="=cmd|' /C calc'!A0")
    client.force_login(_staff("view_supplier", "export_supplier", "view_supplier_phone"))
    row = _export(client)[0]
    assert row["phone"] == "13988760001"
    assert row["contact_name"] == "'=cmd|' /C calc'!A0"
    client.force_login(_staff("view_supplier", "export_supplier", "view_phone"))
    assert _export(client)[0]["phone"] == "13988760001"
    client.force_login(_staff("view_supplier", "export_supplier"))
    assert _export(client)[0]["phone"] == "139****0001"


def test_a_supplier_export_outside_hq_staff_masks_the_phone(db: None) -> None:
    supplier = SupplierFactory(phone="+8613988760001")
    not_staff = UserFactory(is_staff=False)
    not_staff.user_permissions.add(*Permission.objects.filter(codename="view_supplier"))
    assert SupplierResource(user=not_staff).dehydrate_phone(supplier) == "139****0001"


def test_supplier_import_export_permissions(client, db: None) -> None:
    client.force_login(_staff("view_supplier", "view_supplierproduct"))
    for name in ("supplier", "supplierproduct"):
        assert client.get(reverse(f"admin:procurement_{name}_import")).status_code == 403
        assert client.get(reverse(f"admin:procurement_{name}_export")).status_code == 403
    client.force_login(
        _staff("view_supplier", "view_supplierproduct", "import_supplier", "export_supplier")
    )
    for name in ("supplier", "supplierproduct"):
        assert client.get(reverse(f"admin:procurement_{name}_import")).status_code == 200
        assert client.get(reverse(f"admin:procurement_{name}_export")).status_code == 200
    upload = SimpleUploadedFile("s.csv", (EXAMPLES / "suppliers.csv").read_bytes())
    preview = client.post(
        reverse("admin:procurement_supplier_import"), {"import_file": upload, "format": "0"}
    )
    client.post(
        reverse("admin:procurement_supplier_process_import"),
        preview.context["confirm_form"].initial,
    )
    assert Supplier.objects.count() == 2
