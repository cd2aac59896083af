"""Region and store imports: exact imports, every bad-row kind with nothing written, re-imports,
the admin import page and its permission, exports, and the `import_csv` command — plus every
example file of docs/examples imported in order into an empty database."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone, translation

from apps.stores.models import Region, Store
from apps.stores.resources import StoreResource
from apps.stores.services.master_import import regions_import, stores_import
from linli.imports.contract import table_from_bytes
from tests.factories import RegionFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
STORE_HEADER = "code,name,region,address,latitude,longitude,status,opened_on\n"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def table(text: str):
    return table_from_bytes(text.encode())


def errors_of(report) -> list[tuple[int, str, str]]:
    return [(error.row, error.column, error.code) for error in report.errors]


def stores_state() -> list[tuple]:
    return list(
        Store.objects.order_by("code").values_list(
            "code",
            "name",
            "region__code",
            "address",
            "latitude",
            "longitude",
            "status",
            "opened_on",
        )
    )


def _staff(*codenames: str):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def _admin_import(client, model: str, path: Path):
    """Upload, preview (dry run), confirm; returns (preview response, confirm response)."""
    upload = SimpleUploadedFile(path.name, path.read_bytes())
    preview = client.post(reverse(f"admin:{model}_import"), {"import_file": upload, "format": "0"})
    if preview.status_code != 200 or "confirm_form" not in (preview.context or {}):
        return preview, None
    done = client.post(
        reverse(f"admin:{model}_process_import"), preview.context["confirm_form"].initial
    )
    return preview, done


# --- regions -----------------------------------------------------------------------------------


def test_regions_example_imports_exactly_and_reimport_changes_nothing() -> None:
    text = (EXAMPLES / "regions.csv").read_text()

    first = regions_import(table=table(text))
    again = regions_import(table=table(text))

    assert (first.errors, first.created, first.row_actions) == (
        [],
        3,
        {2: "new", 3: "new", 4: "new"},
    )
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert list(Region.objects.order_by("code").values_list("code", "name", "city")) == [
        ("HZ-SC", "上城区", "杭州"),
        ("HZ-XH", "西湖区", "杭州"),
        ("NB-YZ", "鄞州区", "宁波"),
    ]


def test_regions_update_by_code() -> None:
    RegionFactory(code="HZ-XH", name="旧", city="杭州")
    report = regions_import(table=table("code,name,city\nHZ-XH,西湖区,杭州\n"))
    assert (report.created, report.updated) == (0, 1)
    assert Region.objects.get().name == "西湖区"


@pytest.mark.parametrize(
    ("line", "column", "code"),
    [
        ("R1,重复,杭州", "code", "duplicate"),
        ("R2,,杭州", "name", "required"),
        ("R2,名,", "city", "required"),
        ("R" + "2" * 16 + ",名,杭州", "code", "too_long"),
        ("R2,名,杭州,多", "", "too_many_cells"),
    ],
)
def test_regions_bad_row_is_reported_and_nothing_written(line: str, column: str, code: str) -> None:
    report = regions_import(table=table("code,name,city\nR1,好,杭州\n" + line + "\n"))
    assert errors_of(report) == [(3, column, code)]
    assert Region.objects.count() == 0


# --- stores ------------------------------------------------------------------------------------


@pytest.fixture
def regions(db: None) -> dict:
    return {code: RegionFactory(code=code) for code in ("HZ-XH", "HZ-SC", "NB-YZ")}


def test_stores_example_imports_exactly(regions: dict) -> None:
    report = stores_import(table=table((EXAMPLES / "stores.csv").read_text()))

    assert (report.errors, report.created) == ([], 3)
    assert stores_state() == [
        (
            "HZ0001",
            "邻里优选 文三路店",
            "HZ-XH",
            "杭州市西湖区文三路 100 号",
            Decimal("30.278100"),
            Decimal("120.131500"),
            "open",
            dt.date(2021, 3, 18),
        ),
        (
            "HZ0002",
            "邻里优选 南山路店",
            "HZ-SC",
            "杭州市上城区南山路 21 号",
            Decimal("30.248500"),
            Decimal("120.161800"),
            "open",
            dt.date(2022, 9, 1),
        ),
        (
            "NB0001",
            "邻里优选 天童南路店",
            "NB-YZ",
            "宁波市鄞州区天童南路 88 号, 1 楼",
            None,
            None,
            "preparing",
            None,
        ),
    ]


def test_stores_reimport_updates_given_cells_only_and_is_idempotent(regions: dict) -> None:
    store = StoreFactory(code="HZ0001", region=regions["HZ-SC"], address="旧地址", status="closed")
    text = STORE_HEADER + "HZ0001,文三路店,HZ-XH,,30.12345678,,open,\n"

    first = stores_import(table=table(text))
    again = stores_import(table=table(text))

    assert (first.created, first.updated, again.updated, again.unchanged) == (0, 1, 0, 1)
    store.refresh_from_db()
    assert (store.name, store.region, store.address, store.status) == (
        "文三路店",
        regions["HZ-XH"],
        "旧地址",
        "open",
    )
    assert store.latitude == Decimal("30.123457")  # rounded to 6 decimals
    assert Store.objects.count() == 1


@pytest.mark.parametrize(
    ("line", "column", "code"),
    [
        ("S2,店,XX-00,,,,,", "region", "unknown_region"),
        ("S1,店,HZ-XH,,,,,", "code", "duplicate"),
        ("S2,,HZ-XH,,,,,", "name", "required"),
        ("S2,店,,,,,,", "region", "required"),
        ("S2,店,HZ-XH,,91,,,", "latitude", "above_maximum"),
        ("S2,店,HZ-XH,,,-180.5,,", "longitude", "below_minimum"),
        ("S2,店,HZ-XH,,north,,,", "latitude", "invalid_number"),
        ("S2,店,HZ-XH,,,,busy,", "status", "invalid_choice"),
        ("S2,店,HZ-XH,,,,,2021-02-30", "opened_on", "invalid_date"),
        ("S2,店,HZ-XH,,,,,1999-12-31", "opened_on", "too_early"),
        ("S2,店,HZ-XH,,,,,2999-01-01", "opened_on", "in_future"),
        ("S2,店,HZ-XH," + "址" * 201 + ",,,,", "address", "too_long"),
    ],
)
def test_stores_bad_row_is_reported_and_nothing_written(
    regions: dict, line: str, column: str, code: str
) -> None:
    report = stores_import(table=table(STORE_HEADER + "S1,好,HZ-XH,,,,,\n" + line + "\n"))
    assert errors_of(report) == [(3, column, code)]
    assert Store.objects.count() == 0


def test_stores_opening_day_may_be_planned_within_a_year(regions: dict) -> None:
    soon = timezone.localdate() + dt.timedelta(days=200)
    report = stores_import(
        table=table(STORE_HEADER + f"S1,新店,HZ-XH,,,,筹备,{soon.isoformat()}\n")
    )
    assert report.errors == []
    assert Store.objects.get().status == Store.Status.PREPARING


def test_stores_every_problem_of_the_file_is_listed(regions: dict) -> None:
    report = stores_import(
        table=table(STORE_HEADER + "S1,,NOPE,,,,,\nS2,店,HZ-XH,,100,,,\nS3,店,NOPE,,,,,\n")
    )
    assert errors_of(report) == [
        (2, "name", "required"),
        (2, "region", "unknown_region"),
        (3, "latitude", "above_maximum"),
        (4, "region", "unknown_region"),
    ]
    assert str(report.errors[3]) == "Row 4, column “region”: Unknown region code “NOPE”."


def test_stores_unknown_region_is_reported_with_the_rows_other_errors(regions: dict) -> None:
    report = stores_import(table=table(STORE_HEADER + "S1,,NOPE,,95,,,\n"))
    assert errors_of(report) == [
        (2, "name", "required"),
        (2, "latitude", "above_maximum"),
        (2, "region", "unknown_region"),
    ]
    assert Store.objects.count() == 0


def test_stores_unreadable_cell_is_reported(regions: dict) -> None:
    text = STORE_HEADER + "S1,店,HZ-XH,,,,,\n" + 'S2,"' + "x" * 140_000 + "\n"
    report = stores_import(table=table(text))
    assert errors_of(report) == [(3, "", "unreadable_row")]
    assert Store.objects.count() == 0


def test_stores_cell_with_a_nul_character_is_reported_not_a_server_error(regions: dict) -> None:
    # A damaged file: PostgreSQL refused the code even in the lookup (a 500 in the preview).
    report = stores_import(table=table(STORE_HEADER + "S\x001,店\x00,HZ-XH,,,,,\n"))
    assert errors_of(report) == [(2, "code", "invalid_text"), (2, "name", "invalid_text")]
    assert Store.objects.count() == 0


# --- admin and command -------------------------------------------------------------------------


def test_admin_store_import_needs_the_permission_and_previews_then_writes(client, regions) -> None:
    client.force_login(_staff("view_store"))
    assert client.get(reverse("admin:stores_store_import")).status_code == 403
    assert client.get(reverse("admin:stores_store_export")).status_code == 403

    client.force_login(_staff("view_store", "import_store"))
    preview, done = _admin_import(client, "stores_store", EXAMPLES / "stores.csv")

    assert [row.import_type for row in preview.context["result"].rows] == ["new"] * 3
    assert done.status_code == 302
    assert Store.objects.count() == 3


def test_admin_store_import_shows_row_errors_and_writes_nothing(client, regions, tmp_path) -> None:
    bad = tmp_path / "stores.csv"
    bad.write_text(STORE_HEADER + "S1,店,HZ-XH,,,,,\nS2,店,NOPE,,,,,\n", encoding="utf-8")
    client.force_login(_staff("view_store", "import_store"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # row errors in English

    preview, done = _admin_import(client, "stores_store", bad)

    assert done is None
    result = preview.context["result"]
    assert [(row.number, row.error.message_dict) for row in result.invalid_rows] == [
        (3, {"region": ["Unknown region code “NOPE”."]})
    ]
    assert Store.objects.count() == 0


def test_admin_region_import_needs_its_permission(client) -> None:
    client.force_login(_staff("view_region", "import_store"))
    assert client.get(reverse("admin:stores_region_import")).status_code == 403
    client.force_login(_staff("view_region", "import_region"))
    _preview, done = _admin_import(client, "stores_region", EXAMPLES / "regions.csv")
    assert done.status_code == 302
    assert Region.objects.count() == 3


def test_store_export_escapes_formulas_and_imports_back(client, regions: dict) -> None:
    StoreFactory(code="S1", name="=店", region=regions["HZ-XH"], opened_on=dt.date(2022, 1, 2))
    client.force_login(_staff("view_store", "export_store"))
    data = {"format": "0", "resource": "0"}
    data.update({f"storeresource_{name}": "on" for name in StoreResource().get_export_order()})

    response = client.post(reverse("admin:stores_store_export"), data)

    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert (rows[0]["name"], rows[0]["region"], rows[0]["opened_on"]) == (
        "'=店",
        "HZ-XH",
        "2022-01-02",
    )
    again = stores_import(table=table_from_bytes(response.content))
    assert (again.errors, again.unchanged) == ([], 1)
    assert Store.objects.get().name == "=店"


def test_import_csv_command_imports_regions_and_stores(tmp_path) -> None:
    call_command("import_csv", "regions", str(EXAMPLES / "regions.csv"), stdout=io.StringIO())
    call_command(
        "import_csv", "stores", str(EXAMPLES / "stores.csv"), "--dry-run", stdout=io.StringIO()
    )
    assert Store.objects.count() == 0
    call_command("import_csv", "stores", str(EXAMPLES / "stores.csv"), stdout=io.StringIO())
    assert Store.objects.count() == 3

    bad = tmp_path / "bad.csv"
    bad.write_text(STORE_HEADER + "S9,店,NOPE,,,,,\n", encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_csv", "stores", str(bad), stdout=out)
    assert "Row 2, column “region”: Unknown region code “NOPE”." in out.getvalue()
    assert Store.objects.count() == 3


def test_a_whole_history_imports_from_the_example_files_into_an_empty_database() -> None:
    """Every file of docs/examples, in the documented order, with the command and nothing
    made by hand: the reference data first, then members, stock, sales, chat, promotions and
    weather."""
    from apps.campaigns.models import Promotion
    from apps.catalog.models import Category, Product, WeatherObservation
    from apps.customers.models import Member
    from apps.stores.models import Order

    for kind, name in [
        ("regions", "regions.csv"),
        ("stores", "stores.csv"),
        ("categories", "categories.csv"),
        ("products", "products.csv"),
        ("suppliers", "suppliers.csv"),
        ("supplier_products", "supplier_products.csv"),
        ("members", "members.csv"),
        ("stock_levels", "stock_levels.csv"),
        ("sales_history", "sales_history.csv"),
        ("chat_messages", "chat_messages.csv"),
        ("promotions", "promotions.csv"),
        ("weather", "weather.csv"),
    ]:
        call_command("import_csv", kind, str(EXAMPLES / name), stdout=io.StringIO())
    assert (Region.objects.count(), Store.objects.count(), Category.objects.count()) == (3, 3, 5)
    assert (Product.objects.count(), Member.objects.count()) == (4, 5)
    assert Order.objects.count() == 3
    assert Order.objects.filter(member__isnull=False).count() == 2
    assert (Promotion.objects.count(), WeatherObservation.objects.count()) == (5, 4)


@pytest.mark.parametrize(
    "model",
    [
        "stores_region",
        "stores_store",
        "catalog_category",
        "catalog_weatherobservation",
        "campaigns_promotion",
    ],
)
def test_hq_roles_open_the_new_import_pages_as_declared(client, model: str) -> None:
    """HQ operations (setup_roles) may import everything; HQ inspection, which edits stores,
    may not import them."""
    from django.contrib.auth.models import Group

    from linli.roles import HQ_INSPECTION, HQ_OPERATIONS, roles_sync

    roles_sync()
    operations = UserFactory(is_staff=True)
    operations.groups.add(Group.objects.get(name=HQ_OPERATIONS))
    inspection = UserFactory(is_staff=True)
    inspection.groups.add(Group.objects.get(name=HQ_INSPECTION))

    client.force_login(operations)
    assert client.get(reverse(f"admin:{model}_import")).status_code == 200
    assert client.get(reverse(f"admin:{model}_export")).status_code == 200
    client.force_login(inspection)
    assert client.get(reverse(f"admin:{model}_import")).status_code == 403


def test_weekly_totals_come_in_spread_over_the_days_of_their_week() -> None:
    """docs/csv-formats.md § Weekly totals: a week's units come in as one anonymous order per
    store, product and day of the week, in whole units (the remainder on the first days), and
    the week's orders add up to its units and revenue; a re-import adds nothing."""
    from apps.stores.models import Order, OrderLine
    from apps.stores.services.sales_import import sales_history_import

    for kind, name in [
        ("regions", "regions.csv"),
        ("stores", "stores.csv"),
        ("categories", "categories.csv"),
        ("products", "products.csv"),
    ]:
        call_command("import_csv", kind, str(EXAMPLES / name), stdout=io.StringIO())
    text = (EXAMPLES / "weekly_sales_history.csv").read_text()

    first = sales_history_import(table=table(text))
    again = sales_history_import(table=table(text))

    assert (first.errors, first.created, again.created) == ([], 28, 0)
    assert Order.objects.filter(member__isnull=True).count() == 28
    weeks: dict[tuple[str, int, str], list] = {}
    for line in OrderLine.objects.select_related("order__store", "product"):
        day = timezone.localtime(line.order.placed_at).date()
        key = (line.order.store.code, day.isocalendar().week, line.product.sku)
        weeks.setdefault(key, []).append((day, line.quantity, line.order.total))
    totals = {
        key: (len(days), sum(q for _, q, _ in days), sum(t for _, _, t in days))
        for key, days in weeks.items()
    }
    assert totals[("HZ0001", 27, "FRUIT-BERRY-001")] == (7, 37, Decimal("647.00"))
    assert totals[("HZ0001", 27, "DAIRY-MILK-001")] == (7, 52, Decimal("878.80"))
    assert totals[("HZ0001", 28, "FRUIT-BERRY-001")] == (7, 44, Decimal("875.60"))
    berries = sorted(weeks[("HZ0001", 27, "FRUIT-BERRY-001")])
    assert [quantity for _, quantity, _ in berries] == [6, 6, 5, 5, 5, 5, 5]
    assert berries[0][0] == dt.date(2024, 7, 1)
    assert berries[-1][0] == dt.date(2024, 7, 7)
