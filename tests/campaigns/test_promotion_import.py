"""Promotion import: kinds, product or category, stores and region, days, a promotional price
turned into a discount against the product's price; every bad-row kind with nothing written;
re-imports update the same promotions; the admin import page and its permission; the export;
the `import_csv` command."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone, translation

from apps.campaigns.models import Promotion
from apps.campaigns.resources import PromotionResource
from apps.campaigns.services.promotion_import import promotions_import
from linli.imports.contract import table_from_bytes
from tests.campaigns.factories import PromotionFactory
from tests.factories import (
    CategoryFactory,
    ProductFactory,
    RegionFactory,
    StoreFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
HEADER = (
    "kind,sku,category,stores,region,starts_on,ends_on,promo_price,discount_percent,name,status\n"
)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def reference(db: None) -> dict:
    """What docs/examples/promotions.csv names."""
    xh = RegionFactory(code="HZ-XH")
    fruit = CategoryFactory(code="FRUIT")
    dairy = CategoryFactory(code="DAIRY")
    return {
        "HZ-XH": xh,
        "HZ0001": StoreFactory(code="HZ0001", region=xh),
        "HZ0002": StoreFactory(code="HZ0002"),
        "FRUIT": fruit,
        "DAIRY": dairy,
        "FRUIT-BERRY-001": ProductFactory(
            sku="FRUIT-BERRY-001", price=Decimal("19.90"), category=fruit
        ),
        "DAIRY-MILK-001": ProductFactory(
            sku="DAIRY-MILK-001", price=Decimal("16.90"), category=dairy
        ),
    }


def table(text: str):
    return table_from_bytes(text.encode())


def errors_of(report) -> list[tuple[int, str, str]]:
    return [(error.row, error.column, error.code) for error in report.errors]


def state() -> list[tuple]:
    rows = []
    for promotion in Promotion.objects.order_by("starts_on", "kind", "pk"):
        rows.append(
            (
                promotion.kind,
                promotion.product.sku if promotion.product_id else None,
                promotion.category.code if promotion.category_id else None,
                sorted(promotion.stores.values_list("code", flat=True)),
                promotion.region.code if promotion.region_id else None,
                promotion.starts_on.isoformat(),
                promotion.ends_on.isoformat(),
                promotion.discount_percent,
                promotion.name,
                promotion.status,
            )
        )
    return rows


def _staff(*codenames: str):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


EXAMPLE_STATE = [
    (
        "feature",
        "DAIRY-MILK-001",
        None,
        ["HZ0001"],
        None,
        "2024-07-01",
        "2024-07-07",
        None,
        "牛奶堆头",
        "planned",
    ),
    (
        "price",
        "FRUIT-BERRY-001",
        None,
        ["HZ0001", "HZ0002"],
        None,
        "2024-07-01",
        "2024-07-07",
        25,  # 14.90 against 19.90: 25.1 % off
        "蓝莓周末特价",
        "planned",
    ),
    (
        "price",
        None,
        "FRUIT",
        [],
        "HZ-XH",
        "2024-07-08",
        "2024-07-14",
        20,
        "西湖区水果节",
        "planned",
    ),
    (
        "broadcast",
        "FRUIT-BERRY-001",
        None,
        [],
        None,
        "2024-07-12",
        "2024-07-12",
        15,
        "蓝莓直播",
        "planned",
    ),
    (
        "group_buy",
        None,
        "DAIRY",
        ["HZ0002"],
        None,
        "2024-07-15",
        "2024-07-16",
        None,
        "group_buy DAIRY 2024-07-15…2024-07-16",
        "planned",
    ),
]


def test_promotions_example_imports_exactly(reference: dict) -> None:
    user = UserFactory()
    report = promotions_import(table=table((EXAMPLES / "promotions.csv").read_text()), by=user)

    assert (report.errors, report.created) == ([], 5)
    assert state() == EXAMPLE_STATE
    assert set(Promotion.objects.values_list("created_by", flat=True)) == {user.pk}


def test_promotions_reimport_changes_nothing_and_updates_the_same_rows(reference: dict) -> None:
    text = (EXAMPLES / "promotions.csv").read_text()
    promotions_import(table=table(text))
    ids = set(Promotion.objects.values_list("pk", flat=True))

    again = promotions_import(table=table(text))
    deeper = promotions_import(
        table=table(
            HEADER + "price,FRUIT-BERRY-001,,HZ0002 HZ0001,,2024-07-01,2024-07-07,,30,,cancelled\n"
        )
    )

    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert (deeper.created, deeper.updated) == (0, 1)
    assert set(Promotion.objects.values_list("pk", flat=True)) == ids
    berry = Promotion.objects.get(product__sku="FRUIT-BERRY-001", kind="price")
    # The name was left empty: the stored one stays.
    assert (berry.discount_percent, berry.status, berry.name) == (30, "cancelled", "蓝莓周末特价")


def test_promotions_of_store_campaigns_are_not_matched(reference: dict) -> None:
    planned = PromotionFactory(
        product=reference["FRUIT-BERRY-001"],
        starts_on=dt.date(2024, 7, 1),
        ends_on=dt.date(2024, 7, 7),
        discount_percent=10,
    )
    report = promotions_import(
        table=table(HEADER + "price,FRUIT-BERRY-001,,,,2024-07-01,2024-07-07,,20,,\n")
    )
    # An HQ promotion with the same key is updated; other scopes are new promotions.
    assert (report.created, report.updated) == (0, 1)
    planned.refresh_from_db()
    assert planned.discount_percent == 20


def test_promotional_price_rounds_to_the_nearest_percent(reference: dict) -> None:
    report = promotions_import(
        table=table(
            HEADER
            + "price,DAIRY-MILK-001,,,,2024-07-01,2024-07-01,12.60,,,\n"  # 25.44 % → 25
            + "price,DAIRY-MILK-001,,,,2024-07-02,2024-07-02,12.59,,,\n"  # 25.50 % → 26
            + "price,DAIRY-MILK-001,,,,2024-07-03,2024-07-03,16.90,,,\n"  # 0 %
        )
    )
    assert report.errors == []
    assert list(
        Promotion.objects.order_by("starts_on").values_list("discount_percent", flat=True)
    ) == [
        25,
        26,
        0,
    ]


@pytest.mark.parametrize(
    ("line", "column", "code"),
    [
        ("price,NOPE-1,,,,2024-07-01,2024-07-07,,10,,", "sku", "unknown_sku"),
        ("price,,NOPE,,,2024-07-01,2024-07-07,,10,,", "category", "unknown_category"),
        ("price,,FRUIT,HZ0001 HZ9999,,2024-07-01,2024-07-07,,10,,", "stores", "unknown_store"),
        ("price,,FRUIT,,XX,2024-07-01,2024-07-07,,10,,", "region", "unknown_region"),
        (
            "price,FRUIT-BERRY-001,FRUIT,,,2024-07-01,2024-07-07,,10,,",
            "category",
            "product_or_category",
        ),
        ("price,,,,,2024-07-01,2024-07-07,,10,,", "sku", "product_or_category"),
        ("discount,,FRUIT,,,2024-07-01,2024-07-07,,10,,", "kind", "invalid_choice"),
        (",,FRUIT,,,2024-07-01,2024-07-07,,10,,", "kind", "required"),
        ("price,,FRUIT,,,2024-07-08,2024-07-01,,10,,", "ends_on", "ends_before_start"),
        ("price,,FRUIT,,,2024-07-01,,,10,,", "ends_on", "required"),
        ("price,,FRUIT,,,1999-07-01,2024-07-01,,10,,", "starts_on", "too_early"),
        ("price,,FRUIT,,,2024-07-01,2999-07-01,,10,,", "ends_on", "in_future"),
        ("price,,FRUIT,,,2024-13-01,2024-07-01,,10,,", "starts_on", "invalid_date"),
        ("price,,FRUIT,,,2024-07-01,2024-07-07,,,,", "discount_percent", "discount_required"),
        ("price,,FRUIT,,,2024-07-01,2024-07-07,,95,,", "discount_percent", "above_maximum"),
        ("price,,FRUIT,,,2024-07-01,2024-07-07,,-5,,", "discount_percent", "below_minimum"),
        ("price,,FRUIT,,,2024-07-01,2024-07-07,,12.5,,", "discount_percent", "invalid_number"),
        ("price,,FRUIT,,,2024-07-01,2024-07-07,9.90,,,", "promo_price", "price_needs_product"),
        (
            "price,FRUIT-BERRY-001,,,,2024-07-01,2024-07-07,9.90,50,,",
            "promo_price",
            "price_or_discount",
        ),
        (
            "price,FRUIT-BERRY-001,,,,2024-07-01,2024-07-07,21.00,,,",
            "promo_price",
            "price_above_reference",
        ),
        ("price,FRUIT-BERRY-001,,,,2024-07-01,2024-07-07,1.00,,,", "promo_price", "above_maximum"),
        (
            "price,FRUIT-BERRY-001,,,,2024-07-01,2024-07-07,9.999,,,",
            "promo_price",
            "too_many_decimals",
        ),
        ("price,,FRUIT,,,2024-07-01,2024-07-07,,10,,maybe", "status", "invalid_choice"),
        ("price,,FRUIT,,,2024-07-01,2024-07-07,,10," + "名" * 121 + ",", "name", "too_long"),
        ("price,,DAIRY,,,2024-07-01,2024-07-07,,15,,", "", "duplicate"),
    ],
)
def test_promotions_bad_row_is_reported_and_nothing_written(
    reference: dict, line: str, column: str, code: str
) -> None:
    report = promotions_import(
        table=table(HEADER + "price,,DAIRY,,,2024-07-01,2024-07-07,,10,,\n" + line + "\n")
    )
    assert errors_of(report) == [(3, column, code)]
    assert Promotion.objects.count() == 0


def test_promotions_an_unclosed_quote_is_refused_instead_of_swallowing_the_next_row(
    reference: dict,
) -> None:
    # QA: the second promotion became part of the first one's name and was lost silently.
    report = promotions_import(
        table=table(
            HEADER
            + 'price,,FRUIT,,,2024-07-01,2024-07-07,,10,"坏引号,\n'
            + "price,,DAIRY,,,2024-07-01,2024-07-07,,15,牛奶,\n"
        )
    )
    assert errors_of(report) == [(2, "name", "invalid_text")]
    assert "never closed" in report.errors[0].reason
    assert Promotion.objects.count() == 0


def test_promotions_unknown_codes_are_reported_with_the_rows_other_errors(
    reference: dict,
) -> None:
    report = promotions_import(
        table=table(
            HEADER
            + "price,NO-SUCH-SKU,,HZ0001 HZ9999,NOPE,2024-07-08,2024-07-01,,95,,\n"
            + "price,,NOPE-CAT,,,2024-07-01,2024-07-07,,10,,maybe\n"
        )
    )
    assert errors_of(report) == [
        (2, "ends_on", "ends_before_start"),
        (2, "discount_percent", "above_maximum"),
        (2, "sku", "unknown_sku"),
        (2, "stores", "unknown_store"),
        (2, "region", "unknown_region"),
        (3, "status", "invalid_choice"),
        (3, "category", "unknown_category"),
    ]
    assert str(report.errors[3]) == "Row 2, column “stores”: Unknown store code(s): HZ9999."
    assert Promotion.objects.count() == 0


def test_promotions_reasons_name_the_problem(reference: dict) -> None:
    report = promotions_import(
        table=table(
            HEADER
            + "price,FRUIT-BERRY-001,,,,2024-07-01,2024-07-07,1.00,,,\n"
            + "price,,FRUIT,HZ0001;HZ9999，HZ8888,,2024-07-01,2024-07-07,,10,,\n"
        )
    )
    assert [str(error) for error in report.errors] == [
        "Row 2, column “promo_price”: The promotional price 1.00 is a discount of 95% on "
        "19.90; at most 90% is allowed.",
        "Row 3, column “stores”: Unknown store code(s): HZ9999, HZ8888.",
    ]


def test_promotions_other_kinds_need_no_discount_and_may_be_planned_ahead(reference) -> None:
    start = timezone.localdate() + dt.timedelta(days=30)
    end = start + dt.timedelta(days=2)
    report = promotions_import(
        table=table(
            HEADER
            + f"feature,DAIRY-MILK-001,,,,{start},{end},,,,\n"
            + f"直播,DAIRY-MILK-001,,,,{start},{end},,,,\n"
            + f"团购,DAIRY-MILK-001,,,,{start},{end},,,,\n"
        )
    )
    assert report.errors == []
    assert sorted(Promotion.objects.values_list("kind", flat=True)) == [
        "broadcast",
        "feature",
        "group_buy",
    ]


def test_admin_promotion_import_needs_the_permission(client, reference: dict) -> None:
    client.force_login(_staff("view_promotion", "add_promotion"))
    assert client.get(reverse("admin:campaigns_promotion_import")).status_code == 403
    assert client.get(reverse("admin:campaigns_promotion_export")).status_code == 403

    user = _staff("view_promotion", "import_promotion")
    client.force_login(user)
    upload = SimpleUploadedFile("p.csv", (EXAMPLES / "promotions.csv").read_bytes())
    preview = client.post(
        reverse("admin:campaigns_promotion_import"), {"import_file": upload, "format": "0"}
    )
    assert [row.import_type for row in preview.context["result"].rows] == ["new"] * 5
    assert Promotion.objects.count() == 0
    done = client.post(
        reverse("admin:campaigns_promotion_process_import"), preview.context["confirm_form"].initial
    )
    assert done.status_code == 302
    assert state() == EXAMPLE_STATE
    assert set(Promotion.objects.values_list("created_by", flat=True)) == {user.pk}


def test_admin_promotion_import_shows_errors_per_row(client, reference: dict) -> None:
    client.force_login(_staff("view_promotion", "import_promotion"))
    text = (
        HEADER
        + "price,,FRUIT,,,2024-07-01,2024-07-07,,10,,\n"
        + "price,DAIRY-MILK-001,,,,2024-07-01,2024-07-07,,,,\n"
        + "price,NOPE,,,,2024-07-01,2024-07-07,,10,,\n"
    )
    upload = SimpleUploadedFile("p.csv", text.encode())
    preview = client.post(
        reverse("admin:campaigns_promotion_import"), {"import_file": upload, "format": "0"}
    )
    result = preview.context["result"]
    assert [(row.number, sorted(row.error.message_dict)) for row in result.invalid_rows] == [
        (3, ["discount_percent"]),
        (4, ["sku"]),
    ]
    assert Promotion.objects.count() == 0


def test_promotion_export_imports_back_unchanged(client, reference: dict) -> None:
    promotions_import(table=table((EXAMPLES / "promotions.csv").read_text()))
    Promotion.objects.filter(kind="feature").update(name="=cmd")
    client.force_login(_staff("view_promotion", "export_promotion"))
    data = {"format": "0", "resource": "0"}
    data.update(
        {f"promotionresource_{name}": "on" for name in PromotionResource().get_export_order()}
    )

    exported = client.post(reverse("admin:campaigns_promotion_export"), data).content

    rows = list(csv.DictReader(io.StringIO(exported.decode("utf-8-sig"))))
    assert {row["name"] for row in rows if row["kind"] == "feature"} == {"'=cmd"}
    assert {row["stores"] for row in rows if row["kind"] == "price" and row["sku"]} == {
        "HZ0001 HZ0002"
    }
    again = promotions_import(table=table_from_bytes(exported))
    assert (again.errors, again.created, again.unchanged) == ([], 0, 5)


def test_import_csv_command_promotions(reference: dict, tmp_path) -> None:
    path = str(EXAMPLES / "promotions.csv")
    call_command("import_csv", "promotions", path, "--dry-run", stdout=io.StringIO())
    assert Promotion.objects.count() == 0
    call_command("import_csv", "promotions", path, stdout=io.StringIO())
    assert Promotion.objects.count() == 5

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "price,,FRUIT,,,2024-07-01,2024-07-07,,,,\n", encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_csv", "promotions", str(bad), stdout=out)
    assert "Row 2, column “discount_percent”: A price promotion needs a discount" in out.getvalue()
    assert Promotion.objects.count() == 5
