"""Stock-level import (a stock count): every change goes through the ledger."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from django.urls import reverse
from django.utils import translation

from apps.stores.models import StockLevel, StockMovement
from apps.stores.resources import StockLevelResource
from apps.stores.services.stock import stock_move
from apps.stores.services.stock_import import stock_levels_import
from linli.imports.contract import table_from_bytes
from tests.factories import ProductFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
HEADER = "store_code,sku,on_hand,note\n"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def reference(db: None) -> dict:
    return {
        "store": StoreFactory(code="HZ0001"),
        "other_store": StoreFactory(code="HZ0002"),
        "blueberry": ProductFactory(sku="FRUIT-BERRY-001"),
        "milk": ProductFactory(sku="DAIRY-MILK-001"),
    }


def table(text: str):
    return table_from_bytes(text.encode())


def ledger_matches_on_hand() -> bool:
    ledger = {
        (row["store_id"], row["product_id"]): row["total"]
        for row in StockMovement.objects.values("store_id", "product_id").annotate(
            total=Sum("quantity")
        )
    }
    levels = {(lv.store_id, lv.product_id): lv.on_hand for lv in StockLevel.objects.all()}
    return all(ledger.get(key, 0) == on_hand for key, on_hand in levels.items())


def test_stock_example_sets_on_hand_through_adjustments(reference: dict) -> None:
    stock_move(
        store=reference["store"], product=reference["blueberry"], kind="receipt", quantity=50
    )
    user = UserFactory()

    report = stock_levels_import(table=table((EXAMPLES / "stock_levels.csv").read_text()), by=user)

    assert report.errors == []
    assert (report.created, report.updated, report.unchanged) == (2, 1, 0)
    levels = StockLevel.objects.filter(store=reference["store"])
    assert dict(levels.values_list("product__sku", "on_hand")) == {
        "FRUIT-BERRY-001": 48,
        "DAIRY-MILK-001": 30,
    }
    adjustments = list(
        StockMovement.objects.filter(kind=StockMovement.Kind.ADJUSTMENT)
        .order_by("pk")
        .values_list("store__code", "product__sku", "quantity", "note", "created_by")
    )
    assert adjustments == [
        ("HZ0001", "FRUIT-BERRY-001", -2, "Monthly count", user.pk),
        ("HZ0001", "DAIRY-MILK-001", 30, "Monthly count", user.pk),
        ("HZ0002", "FRUIT-BERRY-001", 12, "Stock count import", user.pk),
    ]
    assert ledger_matches_on_hand()


def test_stock_rerun_writes_no_movement(reference: dict) -> None:
    text = (EXAMPLES / "stock_levels.csv").read_text()
    stock_levels_import(table=table(text))
    movements = StockMovement.objects.count()
    again = stock_levels_import(table=table(text))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert StockMovement.objects.count() == movements
    assert ledger_matches_on_hand()


@pytest.mark.parametrize(
    ("line", "column", "code"),
    [
        ("HZ9999,FRUIT-BERRY-001,1,", "store_code", "unknown_store"),
        ("HZ0001,NOPE,1,", "sku", "unknown_sku"),
        ("HZ0001,DAIRY-MILK-001,-1,", "on_hand", "below_minimum"),
        ("HZ0001,DAIRY-MILK-001,1.5,", "on_hand", "invalid_number"),
        ("HZ0001,DAIRY-MILK-001,,", "on_hand", "required"),
        ("HZ0001,FRUIT-BERRY-001,3,", "sku", "duplicate"),
    ],
)
def test_stock_bad_row_is_reported(reference: dict, line: str, column: str, code: str) -> None:
    report = stock_levels_import(table=table(HEADER + "HZ0001,FRUIT-BERRY-001,5,\n" + line + "\n"))
    assert [(e.row, e.column, e.code) for e in report.errors] == [(3, column, code)]
    assert StockLevel.objects.count() == StockMovement.objects.count() == 0


def test_stock_unknown_codes_are_reported_with_the_rows_other_errors(reference: dict) -> None:
    report = stock_levels_import(table=table(HEADER + "HZ9999,NO-SUCH-SKU,-1,\n"))
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (2, "on_hand", "below_minimum"),
        (2, "store_code", "unknown_store"),
        (2, "sku", "unknown_sku"),
    ]
    assert StockLevel.objects.count() == StockMovement.objects.count() == 0


def test_stock_missing_column_is_reported(reference: dict) -> None:
    report = stock_levels_import(table=table("store_code,sku\nHZ0001,NOPE\n"))
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (1, "on_hand", "missing_column"),
        (2, "sku", "unknown_sku"),
    ]


def test_stock_bad_row_9999_of_10000_leaves_stock_and_ledger_unchanged(reference: dict) -> None:
    products = [ProductFactory(sku=f"P{n:05d}") for n in range(200)]
    stock_move(store=reference["store"], product=products[0], kind="receipt", quantity=7)
    before = (
        list(StockLevel.objects.values_list("pk", "on_hand")),
        StockMovement.objects.count(),
    )
    stores = [StoreFactory(code=f"T{n:03d}") for n in range(50)]
    rows = [
        f"{stores[n % 50].code},{products[n // 50].sku},{-1 if n + 2 == 9_999 else n % 9},\n"
        for n in range(9_999)
    ]

    report = stock_levels_import(table=table(HEADER + "".join(rows)))

    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (9_999, "on_hand", "below_minimum")
    ]
    after = (
        list(StockLevel.objects.values_list("pk", "on_hand")),
        StockMovement.objects.count(),
    )
    assert after == before


def _staff(*codenames: str):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def test_stock_export_and_import_in_the_admin_need_their_permissions(client, reference) -> None:
    stock_move(store=reference["store"], product=reference["milk"], kind="receipt", quantity=4)
    client.force_login(_staff("view_stocklevel"))
    assert client.get(reverse("admin:stores_stocklevel_export")).status_code == 403
    assert client.get(reverse("admin:stores_stocklevel_import")).status_code == 403

    client.force_login(_staff("view_stocklevel", "export_stocklevel", "import_stocklevel"))
    data = {"format": "0", "resource": "0"}
    data.update({f"stocklevelresource_{n}": "on" for n in StockLevelResource().get_export_order()})
    exported = client.post(reverse("admin:stores_stocklevel_export"), data)
    assert exported.content.startswith("\ufeff".encode())  # UTF-8 BOM, for Excel
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows == [{"store_code": "HZ0001", "sku": "DAIRY-MILK-001", "on_hand": "4", "note": ""}]

    upload = SimpleUploadedFile("s.csv", (EXAMPLES / "stock_levels.csv").read_bytes())
    preview = client.post(
        reverse("admin:stores_stocklevel_import"), {"import_file": upload, "format": "0"}
    )
    assert [row.import_type for row in preview.context["result"].rows] == ["new", "update", "new"]
    client.post(
        reverse("admin:stores_stocklevel_process_import"), preview.context["confirm_form"].initial
    )
    assert StockLevel.objects.get(store=reference["store"], product=reference["milk"]).on_hand == 30
    assert ledger_matches_on_hand()
