"""Product import and export: all rows or none, every bad row reported, permissions."""

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

from apps.catalog.models import Product
from apps.catalog.resources import ProductResource
from apps.catalog.services.imports import products_import
from linli.imports.contract import table_from_bytes
from tests.factories import CategoryFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
HEADER = (
    "sku,name,category,price,unit,cost,barcode,shelf_life_days,is_new,is_high_value,is_active\n"
)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def categories(db: None) -> dict:
    return {code: CategoryFactory(code=code) for code in ("FRUIT-BERRY", "DAIRY-MILK")}


def table(text: str):
    return table_from_bytes(text.encode())


def errors_of(report) -> list[tuple[int, str, str]]:
    return [(error.row, error.column, error.code) for error in report.errors]


def test_products_example_creates_and_updates(categories: dict) -> None:
    existing = ProductFactory(
        sku="FRUIT-BERRY-001", name="旧名", category=categories["FRUIT-BERRY"], price=Decimal("1")
    )

    report = products_import(table=table((EXAMPLES / "products.csv").read_text()))

    assert report.errors == []
    assert (report.created, report.updated, report.unchanged) == (3, 1, 0)
    assert report.row_actions == {2: "update", 3: "new", 4: "new", 5: "new"}
    existing.refresh_from_db()
    assert (existing.name, existing.price, existing.cost) == (
        "低糖蓝莓（云南蓝莓）125g",
        Decimal("19.90"),
        Decimal("12.50"),
    )
    gift = Product.objects.get(sku="FRUIT-BERRY-101")
    assert (gift.barcode, gift.unit, gift.is_new, gift.is_high_value) == (
        "6988026900013",
        "box",
        True,
        True,
    )
    assert gift.shelf_life_days == 10


def test_products_rerun_changes_nothing(categories: dict) -> None:
    text = (EXAMPLES / "products.csv").read_text()
    products_import(table=table(text))
    again = products_import(table=table(text))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert Product.objects.count() == 4


def test_products_minimal_columns_use_model_defaults(categories: dict) -> None:
    report = products_import(table=table("sku,name,category,price\nX1,散装,DAIRY-MILK,3\n"))
    assert report.is_valid
    product = Product.objects.get(sku="X1")
    assert (product.price, product.cost, product.unit, product.is_active) == (
        Decimal("3.00"),
        Decimal("0.00"),
        "piece",
        True,
    )


@pytest.mark.parametrize(
    ("line", "column", "code"),
    [
        ("P2,名,NO-CAT,1.00,,,,,,,", "category", "unknown_category"),
        ("P2,名,DAIRY-MILK,abc,,,,,,,", "price", "invalid_number"),
        ("P2,名,DAIRY-MILK,-1,,,,,,,", "price", "below_minimum"),
        ("P2,名,DAIRY-MILK,1.999,,,,,,,", "price", "too_many_decimals"),
        ("P2,名,DAIRY-MILK,100000000,,,,,,,", "price", "too_large"),
        ("P2,名,DAIRY-MILK,1,crate,,,,,,", "unit", "invalid_choice"),
        ("P2,名,DAIRY-MILK,1,,,,ten,,,", "shelf_life_days", "invalid_number"),
        ("P2,名,DAIRY-MILK,1,,,,,2,,", "is_new", "invalid_boolean"),
        ("P2,,DAIRY-MILK,1,,,,,,,", "name", "required"),
        ("P1,名,DAIRY-MILK,1,,,,,,,", "sku", "duplicate"),
        ("P2,名,DAIRY-MILK,1,,,B1,,,,", "barcode", "duplicate"),
    ],
)
def test_products_bad_row_is_reported(categories: dict, line: str, column: str, code: str) -> None:
    report = products_import(table=table(HEADER + "P1,好,DAIRY-MILK,1.00,,,B1,,,,\n" + line + "\n"))
    assert errors_of(report) == [(3, column, code)]
    assert Product.objects.count() == 0


def test_products_unknown_category_is_reported_with_the_rows_other_errors(
    categories: dict,
) -> None:
    report = products_import(table=table(HEADER + "P1,,NO-CAT,abc,,,,,,,\n"))
    assert errors_of(report) == [
        (2, "name", "required"),
        (2, "price", "invalid_number"),
        (2, "category", "unknown_category"),
    ]
    assert Product.objects.count() == 0


def test_products_barcode_of_another_product_is_an_error(categories: dict) -> None:
    ProductFactory(sku="OLD", barcode="690000", category=categories["DAIRY-MILK"])
    report = products_import(table=table(HEADER + "NEW,名,DAIRY-MILK,1,,,690000,,,,\n"))
    assert errors_of(report) == [(2, "barcode", "conflict")]
    assert report.errors[0].reason == "Barcode “690000” belongs to product OLD."
    assert not Product.objects.filter(sku="NEW").exists()


def test_products_bad_row_9999_of_10000_changes_nothing(categories: dict) -> None:
    ProductFactory(sku="KEEP", price=Decimal("5.00"), category=categories["DAIRY-MILK"])
    rows = [
        f"P{n:05d},商品{n},{'NO-CAT' if n + 3 == 9_999 else 'DAIRY-MILK'},9.90,,,,,,,\n"
        for n in range(9_998)
    ]  # rows 3 … 10,000 of the file
    report = products_import(table=table(HEADER + "KEEP,改,DAIRY-MILK,6,,,,,,,\n" + "".join(rows)))
    assert report.rows == 9_999
    assert errors_of(report) == [(9_999, "category", "unknown_category")]
    assert list(Product.objects.values_list("sku", "price")) == [("KEEP", Decimal("5.00"))]


def _staff(*codenames: str):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def test_product_export_round_trips_and_escapes_formulas(client, categories: dict) -> None:
    ProductFactory(sku="F1", name="+冰淇淋", category=categories["DAIRY-MILK"], barcode=None)
    client.force_login(_staff("view_product", "export_product"))
    data = {"format": "0", "resource": "0"}
    data.update({f"productresource_{name}": "on" for name in ProductResource().get_export_order()})

    response = client.post(reverse("admin:catalog_product_export"), data)

    assert response.content.startswith("\ufeff".encode())  # UTF-8 BOM: Excel reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0]["name"] == "'+冰淇淋"
    assert rows[0]["category"] == "DAIRY-MILK"
    again = products_import(table=table_from_bytes(response.content))
    assert (again.is_valid, again.unchanged) == (True, 1)
    assert Product.objects.get().name == "+冰淇淋"


def test_product_import_and_export_need_their_permissions(client, categories: dict) -> None:
    client.force_login(_staff("view_product"))
    assert client.get(reverse("admin:catalog_product_export")).status_code == 403
    assert client.get(reverse("admin:catalog_product_import")).status_code == 403
    client.force_login(_staff("view_product", "import_product"))
    assert client.get(reverse("admin:catalog_product_export")).status_code == 403
    upload = SimpleUploadedFile("p.csv", (EXAMPLES / "products.csv").read_bytes())
    preview = client.post(
        reverse("admin:catalog_product_import"), {"import_file": upload, "format": "0"}
    )
    client.post(
        reverse("admin:catalog_product_process_import"), preview.context["confirm_form"].initial
    )
    assert Product.objects.count() == 4
