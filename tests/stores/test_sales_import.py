"""Sales-history import: set-wise (COPY on PostgreSQL), all rows or none, idempotent."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse
from django.utils import translation

from apps.customers.models import MemberIdentity
from apps.stores.models import Order, OrderLine, StockMovement
from apps.stores.services.sales_import import SalesImportReport, sales_history_import
from linli.imports.contract import (
    Table,
    table_from_bytes,
)
from tests.factories import (
    CategoryFactory,
    MemberFactory,
    MemberIdentityFactory,
    ProductFactory,
    StockLevelFactory,
    StoreFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADER = "store_code,order_ref,member_identity,sku,quantity,unit_price,discount,sold_at\n"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def reference(db: None) -> dict:
    """The codes the example files use (they match `seed_demo`)."""
    fruit = CategoryFactory(code="FRUIT-BERRY")
    milk = CategoryFactory(code="DAIRY-MILK")
    member = MemberFactory(phone="+8613800138000")
    MemberIdentityFactory(member=member, kind=MemberIdentity.Kind.PHONE, value="+8613800138000")
    carded = MemberFactory(phone="+8613900138002")
    MemberIdentityFactory(member=carded, kind=MemberIdentity.Kind.MEMBER_CARD, value="C000124")
    return {
        "store": StoreFactory(code="HZ0001"),
        "other_store": StoreFactory(code="HZ0002"),
        "blueberry": ProductFactory(sku="FRUIT-BERRY-001", category=fruit),
        "milk": ProductFactory(sku="DAIRY-MILK-001", category=milk),
        "member": member,
        "carded": carded,
    }


def table(text: str):
    return table_from_bytes(text.encode())


def database_counts() -> tuple[int, int, int]:
    return Order.objects.count(), OrderLine.objects.count(), StockMovement.objects.count()


def test_example_file_imports_orders_lines_members_and_totals(reference: dict) -> None:
    stock = StockLevelFactory(store=reference["store"], product=reference["milk"], on_hand=9)

    report = sales_history_import(table=table((EXAMPLES / "sales_history.csv").read_text()))

    assert report.errors == []
    assert (report.rows, report.created, report.unchanged, report.lines_created) == (4, 3, 0, 4)
    first = Order.objects.get(store=reference["store"], reference="T1-20240701-0001")
    assert first.idempotency_key == "import:T1-20240701-0001"
    assert first.member == reference["member"]
    assert (first.channel, first.status) == (Order.Channel.POS, Order.Status.COMPLETED)
    assert first.total == Decimal("54.70")  # 2 × 19.90 − 2.00 + 16.90
    assert first.discount_total == Decimal("2.00")
    assert first.placed_at == dt.datetime(2024, 7, 1, 18, 30, tzinfo=SHANGHAI)
    lines = {line.product.sku: line for line in first.lines.select_related("product")}
    assert lines["FRUIT-BERRY-001"].line_total == Decimal("37.80")
    assert lines["DAIRY-MILK-001"].discount == Decimal("0.00")
    anonymous = Order.objects.get(reference="T1-20240701-0002")
    assert anonymous.member is None
    assert anonymous.placed_at == dt.datetime(2024, 7, 1, 19, 5, 12, tzinfo=SHANGHAI)
    assert anonymous.total == Decimal("50.70")
    carded = Order.objects.get(store=reference["other_store"], reference="T2-20240701-0001")
    assert carded.member == reference["carded"]
    # History does not move stock.
    assert StockMovement.objects.count() == 0
    stock.refresh_from_db()
    assert stock.on_hand == 9


def test_rerun_of_the_same_file_creates_no_duplicates(reference: dict) -> None:
    text = (EXAMPLES / "sales_history.csv").read_text()
    sales_history_import(table=table(text))
    before = (
        list(Order.objects.order_by("pk").values_list("pk", "total")),
        OrderLine.objects.count(),
    )

    again = sales_history_import(table=table(text))

    assert again.is_valid
    assert (again.created, again.unchanged, again.lines_created) == (0, 3, 0)
    after = (
        list(Order.objects.order_by("pk").values_list("pk", "total")),
        OrderLine.objects.count(),
    )
    assert after == before


def test_a_file_overlapping_an_earlier_import_adds_only_new_orders(reference: dict) -> None:
    sales_history_import(
        table=table(HEADER + "HZ0001,A1,,FRUIT-BERRY-001,1,19.90,,2024-07-01T10:00:00+08:00\n")
    )
    report = sales_history_import(
        table=table(
            HEADER
            + "HZ0001,A1,,FRUIT-BERRY-001,1,19.90,,2024-07-01T10:00:00+08:00\n"
            + "HZ0001,A2,,FRUIT-BERRY-001,2,19.90,,2024-07-01T11:00:00+08:00\n"
            + "HZ0002,A1,,FRUIT-BERRY-001,3,19.90,,2024-07-01T11:00:00+08:00\n"
        )
    )
    assert (report.created, report.unchanged, report.lines_created) == (2, 1, 2)
    assert sorted(Order.objects.values_list("store__code", "reference")) == [
        ("HZ0001", "A1"),
        ("HZ0001", "A2"),
        ("HZ0002", "A1"),
    ]
    assert OrderLine.objects.count() == 3


def test_unknown_identity_leaves_the_order_anonymous_and_is_counted(reference: dict) -> None:
    report = sales_history_import(
        table=table(
            HEADER
            + "HZ0001,U1,phone:13700137000,FRUIT-BERRY-001,1,19.90,,2024-07-01 10:00\n"
            + "HZ0001,U2,wechat:wx-anna,FRUIT-BERRY-001,1,19.90,,2024-07-01 10:00\n"
            + "HZ0001,U3,phone:138-0013-8000,FRUIT-BERRY-001,1,19.90,,2024-07-01 10:00\n"
        )
    )
    assert report.is_valid
    assert report.orders_without_member == 2
    assert report.notes == [
        "2 orders name a member identity that is not known; they are imported without a member."
    ]
    members = dict(Order.objects.values_list("reference", "member_id"))
    assert members == {"U1": None, "U2": None, "U3": reference["member"].pk}


def test_dry_run_reports_counts_and_writes_nothing(reference: dict) -> None:
    report = sales_history_import(
        table=table((EXAMPLES / "sales_history.csv").read_text()), dry_run=True
    )
    assert report.is_valid
    assert (report.created, report.lines_created, report.orders_in_file) == (3, 4, 3)
    assert not report.applied
    assert database_counts() == (0, 0, 0)


BAD_ROWS = [
    ("HZ9999,B1,,FRUIT-BERRY-001,1,1.00,,2024-07-01", "store_code", "unknown_store"),
    ("HZ0001,B1,,NO-SUCH-SKU,1,1.00,,2024-07-01", "sku", "unknown_sku"),
    (",B1,,FRUIT-BERRY-001,1,1.00,,2024-07-01", "store_code", "required"),
    ("HZ0001,,,FRUIT-BERRY-001,1,1.00,,2024-07-01", "order_ref", "required"),
    ("HZ0001,B1,,FRUIT-BERRY-001,two,1.00,,2024-07-01", "quantity", "invalid_number"),
    ("HZ0001,B1,,FRUIT-BERRY-001,1.5,1.00,,2024-07-01", "quantity", "invalid_number"),
    ("HZ0001,B1,,FRUIT-BERRY-001,0,1.00,,2024-07-01", "quantity", "below_minimum"),
    ('HZ0001,B1,,FRUIT-BERRY-001,1,"1,00",,2024-07-01', "unit_price", "invalid_number"),
    ("HZ0001,B1,,FRUIT-BERRY-001,1,1.005,,2024-07-01", "unit_price", "too_many_decimals"),
    ("HZ0001,B1,,FRUIT-BERRY-001,1,-1.00,,2024-07-01", "unit_price", "below_minimum"),
    ("HZ0001,B1,,FRUIT-BERRY-001,1,1.00,x,2024-07-01", "discount", "invalid_number"),
    ("HZ0001,B1,,FRUIT-BERRY-001,1,1.00,1.01,2024-07-01", "discount", "discount_too_large"),
    ("HZ0001,B1,,FRUIT-BERRY-001,1,1.00,,01/07/2024", "sold_at", "invalid_datetime"),
    ("HZ0001,B1,,FRUIT-BERRY-001,1,1.00,,2024-13-01", "sold_at", "invalid_datetime"),
    ("HZ0001,B1,,FRUIT-BERRY-001,1,1.00,,2999-01-01", "sold_at", "in_future"),
    (
        "HZ0001,B1,phone:12345,FRUIT-BERRY-001,1,1.00,,2024-07-01",
        "member_identity",
        "invalid_phone",
    ),
    (
        "HZ0001,B1,email:a@b.c,FRUIT-BERRY-001,1,1.00,,2024-07-01",
        "member_identity",
        "invalid_identity",
    ),
    ("HZ0001,B1,,FRUIT-BERRY-001,1,1.00,,2024-07-01,extra", "", "too_many_cells"),
]


@pytest.mark.parametrize(("line", "column", "code"), BAD_ROWS)
def test_every_bad_row_kind_is_reported_with_row_and_column(
    reference: dict, line: str, column: str, code: str
) -> None:
    good = "HZ0001,G1,,FRUIT-BERRY-001,1,1.00,,2024-07-01\n"
    report = sales_history_import(
        table=table(HEADER + good + line + "\n" + good.replace("G1", "G2"))
    )

    assert [(e.row, e.column, e.code) for e in report.errors] == [(3, column, code)]
    assert report.error_count == 1
    assert not report.applied
    assert database_counts() == (0, 0, 0)


def test_error_reasons_are_readable(reference: dict) -> None:
    report = sales_history_import(
        table=table(
            HEADER
            + "HZ9999,B1,,FRUIT-BERRY-001,1,1.00,,2024-07-01\n"
            + "HZ0001,B2,,FRUIT-BERRY-001,1,1.005,,2024-07-01\n"
        )
    )
    assert [str(error) for error in report.errors] == [
        "Row 2, column “store_code”: Unknown store code “HZ9999”.",
        "Row 3, column “unit_price”: “1.005” has more than 2 decimal places.",
    ]
    assert report.summary() == "2 errors in 2 rows: nothing was imported."


def test_duplicate_lines_and_disagreeing_order_lines_are_reported(reference: dict) -> None:
    report = sales_history_import(
        table=table(
            HEADER
            + "HZ0001,D1,,FRUIT-BERRY-001,1,1.00,,2024-07-01T10:00:00+08:00\n"
            + "HZ0001,D1,,DAIRY-MILK-001,1,1.00,,2024-07-01T10:00:00+08:00\n"
            + "HZ0001,D1,,FRUIT-BERRY-001,2,1.00,,2024-07-01T10:00:00+08:00\n"
            + "HZ0002,D1,,FRUIT-BERRY-001,1,1.00,,2024-07-01T10:00:00+08:00\n"
            + "HZ0001,D2,phone:13800138000,FRUIT-BERRY-001,1,1.00,,2024-07-01T11:00:00+08:00\n"
            + "HZ0001,D2,,DAIRY-MILK-001,1,1.00,,2024-07-01T11:05:00+08:00\n"
        )
    )
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (4, "sku", "duplicate"),
        (7, "sold_at", "order_mismatch"),
        (7, "member_identity", "order_mismatch"),
    ]
    assert str(report.errors[0]) == (
        "Row 4, column “sku”: Order D1 already has a line for this SKU on row 2."
    )
    assert database_counts() == (0, 0, 0)


def test_missing_required_column_is_reported_once_at_the_header(reference: dict) -> None:
    report = sales_history_import(
        table=table(
            "store_code,order_ref,sku,quantity,discount,sold_at\n"
            "HZ0001,M1,FRUIT-BERRY-001,1,,2024-07-01\n"
            "HZ0001,M2,FRUIT-BERRY-001,x,,2024-07-01\n"
        )
    )
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (1, "unit_price", "missing_column"),
        (3, "quantity", "invalid_number"),
    ]
    assert database_counts() == (0, 0, 0)


def test_every_bad_row_is_reported_not_just_the_first(reference: dict) -> None:
    bad = "HZ0001,X{n},,NO-SUCH-SKU,1,1.00,,2024-07-01\n"
    report = sales_history_import(
        table=table(HEADER + "".join(bad.format(n=n) for n in range(30))), keep_errors=10
    )
    assert report.error_count == 30
    assert [error.row for error in report.errors] == list(range(2, 12))


def _big_file(lines: int, bad_row: int | None = None) -> str:
    rows = []
    for index in range(lines - 1):  # the header is row 1
        row_no = index + 2
        sku = "FRUIT-BERRY-001" if index % 2 else "DAIRY-MILK-001"
        quantity = "0" if row_no == bad_row else str(1 + index % 3)
        store = f"HZ000{1 + (index // 2) % 2}"
        day = f"2024-06-{1 + (index // 2) % 28:02d}"
        rows.append(
            f"{store},R{index // 2},phone:13800138000,{sku},{quantity},9.90,0.10,"
            f"{day}T10:00:00+08:00\n"
        )
    return HEADER + "".join(rows)


def test_a_bad_row_9999_of_10000_leaves_the_database_unchanged(reference: dict) -> None:
    sales_history_import(
        table=table(HEADER + "HZ0001,OLD,,FRUIT-BERRY-001,1,19.90,,2024-05-01T10:00:00+08:00\n")
    )
    before = database_counts()

    report = sales_history_import(table=table(_big_file(10_000, bad_row=9_999)), batch_size=1000)

    assert report.rows == 9_999
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (9_999, "quantity", "below_minimum")
    ]
    assert database_counts() == before


def test_a_valid_10000_row_file_imports_in_small_batches(reference: dict) -> None:
    report = sales_history_import(table=table(_big_file(10_000)), batch_size=777)
    assert report.is_valid
    assert (report.rows, report.lines_created) == (9_999, 9_999)
    assert Order.objects.count() == report.created == 5_000
    assert OrderLine.objects.count() == 9_999
    assert not Order.objects.filter(member__isnull=True).exists()


def _line_ids() -> list[int]:
    return list(OrderLine.objects.order_by("pk").values_list("pk", flat=True))


@pytest.mark.parametrize("batch_size", [1_000, 7])
def test_reimport_in_batches_adds_nothing_and_changes_nothing(
    reference: dict, batch_size: int
) -> None:
    text = _big_file(1_000)
    first = sales_history_import(table=table(text), batch_size=batch_size)
    before = (list(Order.objects.order_by("pk").values_list("pk", "total")), _line_ids())

    again = sales_history_import(table=table(text), batch_size=batch_size)

    assert (first.created, first.lines_created) == (500, 999)
    assert again.is_valid
    assert (again.created, again.unchanged, again.lines_created) == (0, 500, 0)
    after = (list(Order.objects.order_by("pk").values_list("pk", "total")), _line_ids())
    assert after == before


def test_lines_of_one_order_far_apart_make_one_order_with_all_its_lines(reference: dict) -> None:
    """With one line per batch the order is written after its first line and completed by
    the last one."""
    report = sales_history_import(
        table=table(
            HEADER
            + "HZ0001,F1,phone:13800138000,FRUIT-BERRY-001,2,19.90,1.00,2024-07-01T10:00+08:00\n"
            + "HZ0001,F2,,FRUIT-BERRY-001,1,19.90,,2024-07-01T11:00:00+08:00\n"
            + "HZ0002,F1,,FRUIT-BERRY-001,1,19.90,,2024-07-01T12:00:00+08:00\n"
            + "HZ0001,F2,,DAIRY-MILK-001,1,16.90,,2024-07-01T11:00:00+08:00\n"
            + "HZ0001,F1,phone:13800138000,DAIRY-MILK-001,3,16.90,,2024-07-01T02:00:00Z\n"
        ),
        batch_size=1,
    )

    assert report.errors == []
    assert (report.created, report.lines_created) == (3, 5)
    first = Order.objects.get(store=reference["store"], reference="F1")
    assert first.total == Decimal("89.50")  # 2 × 19.90 − 1.00 + 3 × 16.90
    assert first.discount_total == Decimal("1.00")
    assert first.member == reference["member"]
    assert first.placed_at == dt.datetime(2024, 7, 1, 10, tzinfo=SHANGHAI)
    assert sorted(first.lines.values_list("product__sku", "quantity", "line_total")) == [
        ("DAIRY-MILK-001", 3, Decimal("50.70")),
        ("FRUIT-BERRY-001", 2, Decimal("38.80")),
    ]
    assert Order.objects.get(store=reference["store"], reference="F2").total == Decimal("36.80")
    assert OrderLine.objects.count() == 5


@pytest.mark.parametrize("batch_size", [1_000, 1])
def test_an_order_total_too_large_is_reported_and_nothing_is_written(
    reference: dict, batch_size: int
) -> None:
    big = "HZ0001,L1,,{sku},100,90000000.00,,2024-07-01T10:00:00+08:00\n"
    report = sales_history_import(
        table=table(
            HEADER
            + big.format(sku="FRUIT-BERRY-001")
            + "HZ0001,L2,,FRUIT-BERRY-001,1,1.00,,2024-07-01T10:00:00+08:00\n"
            + big.format(sku="DAIRY-MILK-001")
        ),
        batch_size=batch_size,
    )
    assert [(e.row, e.column, e.code) for e in report.errors] == [(2, "order_ref", "too_large")]
    assert database_counts() == (0, 0, 0)


def test_an_order_too_large_is_reported_before_it_would_be_sent(reference: dict) -> None:
    """The order's two lines fill the first batch; later batches would send it (sealed) with
    a total that overflows the column: it is reported as a row error instead, nothing
    written."""
    big = "HZ0001,L1,,{sku},100,90000000.00,,2024-07-01T10:00:00+08:00\n"
    small = "HZ0001,S{n},,FRUIT-BERRY-001,1,1.00,,2024-07-01T11:00:00+08:00\n"
    report = sales_history_import(
        table=table(
            HEADER
            + big.format(sku="FRUIT-BERRY-001")
            + big.format(sku="DAIRY-MILK-001")
            + "".join(small.format(n=n) for n in range(8))
        ),
        batch_size=2,
    )
    assert [(e.row, e.column, e.code) for e in report.errors] == [(2, "order_ref", "too_large")]
    assert database_counts() == (0, 0, 0)


def test_an_order_ref_with_control_characters_is_a_row_error(reference: dict) -> None:
    report = sales_history_import(
        table=table(HEADER + 'HZ0001,"A\x00B",,FRUIT-BERRY-001,1,1.00,,2024-07-01\n')
    )
    assert [(e.row, e.column, e.code) for e in report.errors] == [(2, "order_ref", "invalid_text")]
    assert database_counts() == (0, 0, 0)


def test_sale_times_as_excel_saves_them_are_imported(reference: dict) -> None:
    report = sales_history_import(
        table=table(HEADER + "HZ0001,X1,,FRUIT-BERRY-001,1,1.00,,2024/7/1 9:05\n")
    )
    assert report.errors == []
    shanghai = ZoneInfo("Asia/Shanghai")
    assert Order.objects.get().placed_at == dt.datetime(2024, 7, 1, 9, 5, tzinfo=shanghai)


def test_a_member_identity_with_a_nul_character_is_a_row_error(reference: dict) -> None:
    # It was taken for an unknown identity: the order came in anonymous without a word.
    report = sales_history_import(
        table=table(HEADER + 'HZ0001,A1,"card:C\x001",FRUIT-BERRY-001,1,1.00,,2024-07-01\n')
    )
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (2, "member_identity", "invalid_identity")
    ]
    assert database_counts() == (0, 0, 0)


def _estimated_rows(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [table]
        )
        return int(cursor.fetchone()[0])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row estimates")
def test_an_import_brings_the_row_estimates_of_orders_and_lines_up_to_date(
    reference: dict, django_capture_on_commit_callbacks
) -> None:
    # The admin counts big lists by the estimate: right after an import it showed the old one.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE stores_order")
        cursor.execute("ANALYZE stores_orderline")
    with django_capture_on_commit_callbacks(execute=True):
        report = sales_history_import(table=table((EXAMPLES / "sales_history.csv").read_text()))
    assert report.applied
    assert _estimated_rows("stores_order") == Order.objects.count() == 3
    assert _estimated_rows("stores_orderline") == OrderLine.objects.count() == 4


def test_a_dry_run_or_a_refused_file_analyses_nothing(
    reference: dict, django_capture_on_commit_callbacks
) -> None:
    text = (EXAMPLES / "sales_history.csv").read_text()
    with django_capture_on_commit_callbacks() as callbacks:
        sales_history_import(table=table(text), dry_run=True)
        sales_history_import(table=table(text + "HZ0001,X,,NOPE,1,1.00,,2024-07-01\n"))
    assert callbacks == []


def test_an_unclosed_quote_is_a_line_break_error_not_a_lost_line(reference: dict) -> None:
    # The quote opened in member_identity runs to the end of the file: two lines read as one.
    report = sales_history_import(
        table=table(
            HEADER
            + 'HZ0001,A1,"card:C1,FRUIT-BERRY-001,1,1.00,,2024-07-01\n'
            + "HZ0001,A2,,FRUIT-BERRY-001,1,1.00,,2024-07-01\n"
        )
    )
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (2, "member_identity", "invalid_text"),
        (2, "sku", "required"),
        (2, "quantity", "required"),
        (2, "unit_price", "required"),
        (2, "sold_at", "required"),
    ]
    assert database_counts() == (0, 0, 0)


@pytest.mark.parametrize("column", ["store_code", "order_ref", "sku", "sold_at"])
def test_a_line_break_in_any_sales_column_is_refused_once(reference: dict, column: str) -> None:
    cells = {
        "store_code": "HZ0001",
        "order_ref": "A1",
        "member_identity": "",
        "sku": "FRUIT-BERRY-001",
        "quantity": "1",
        "unit_price": "1.00",
        "discount": "",
        "sold_at": "2024-07-01",
    }
    cells[column] = '"' + cells[column] + '\nX"'
    report = sales_history_import(table=table(HEADER + ",".join(cells.values()) + "\n"))
    assert [(e.row, e.column, e.code) for e in report.errors] == [(2, column, "invalid_text")]
    assert database_counts() == (0, 0, 0)


def test_an_order_ref_with_backslash_and_chinese_is_stored_as_written(reference: dict) -> None:
    ref = "门店\\T1\\0001"
    report = sales_history_import(
        table=table(HEADER + f"HZ0001,{ref},,FRUIT-BERRY-001,1,1.00,,2024-07-01\n")
    )
    assert report.errors == []
    order = Order.objects.get()
    assert (order.reference, order.idempotency_key) == (ref, f"import:{ref}")


def test_a_whole_file_error_in_the_last_batch_leaves_order_lines_unchanged(
    reference: dict,
) -> None:
    sales_history_import(
        table=table(HEADER + "HZ0001,OLD,,FRUIT-BERRY-001,1,19.90,,2024-05-01T10:00:00+08:00\n")
    )
    before = (list(Order.objects.values_list("pk", flat=True)), _line_ids())
    duplicate = "HZ0001,R2,phone:13800138000,DAIRY-MILK-001,1,9.90,,2024-06-03T10:00:00+08:00\n"

    report = sales_history_import(table=table(_big_file(2_000) + duplicate), batch_size=100)

    assert report.rows == 2_000
    assert [(e.row, e.column, e.code) for e in report.errors] == [(2_001, "sku", "duplicate")]
    assert (list(Order.objects.values_list("pk", flat=True)), _line_ids()) == before


def test_a_file_that_breaks_off_while_read_leaves_nothing(reference: dict) -> None:
    """An error that is not a bad row (here: undecodable bytes) after batches were written."""
    good = table(_big_file(1_000))

    def rows_then_failure():
        yield from good.rows
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    with pytest.raises(UnicodeDecodeError):
        sales_history_import(
            table=Table(header=good.header, rows=rows_then_failure()), batch_size=100
        )

    assert database_counts() == (0, 0, 0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW session_replication_role")
            assert cursor.fetchone() == ("origin",)


def test_import_sales_command_dry_run_then_import(reference: dict, tmp_path: Path) -> None:
    from io import StringIO

    path = tmp_path / "sales.csv"
    path.write_bytes((EXAMPLES / "sales_history.csv").read_bytes())
    out = StringIO()
    call_command("import_sales", str(path), "--dry-run", stdout=out)
    assert database_counts() == (0, 0, 0)
    assert "Dry run: 4 rows are valid; would create 3" in out.getvalue()

    call_command("import_sales", str(path), "--batch-size", "2", stdout=StringIO())
    assert Order.objects.count() == 3
    assert OrderLine.objects.count() == 4


def test_import_sales_command_fails_listing_errors(reference: dict, tmp_path: Path) -> None:
    from io import StringIO

    path = tmp_path / "sales.csv"
    path.write_text(HEADER + "HZ9999,B1,,FRUIT-BERRY-001,1,1.00,,2024-07-01\n", encoding="utf-8")
    out = StringIO()
    with pytest.raises(CommandError, match="1 error"):
        call_command("import_sales", str(path), stdout=out)
    assert "Row 2, column “store_code”: Unknown store code “HZ9999”." in out.getvalue()
    assert database_counts() == (0, 0, 0)


def test_gb18030_file_with_bom_less_chinese_is_read(reference: dict, tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    path.write_bytes(
        (HEADER + "HZ0001,收银-1,,FRUIT-BERRY-001,1,19.90,,2024-07-01 10:00\n").encode("gb18030")
    )
    call_command("import_csv", "sales_history", str(path))
    assert Order.objects.get().reference == "收银-1"


# --- admin -------------------------------------------------------------------------------------


def _staff(*codenames: str):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def client(client):
    """Admin pages in English (the default language is Chinese)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_admin_sales_import_previews_then_imports(client, reference: dict) -> None:
    client.force_login(_staff("view_order", "import_order"))
    url = reverse("admin:stores_order_import")
    upload = SimpleUploadedFile(
        "sales.csv", (EXAMPLES / "sales_history.csv").read_bytes(), content_type="text/csv"
    )

    preview = client.post(url, {"import_file": upload, "format": "0", "resource": "0"})

    assert preview.status_code == 200
    result = preview.context["result"]
    assert not result.has_validation_errors()
    assert [row.import_type for row in result.rows] == ["new"] * 4
    assert database_counts() == (0, 0, 0)
    confirm = preview.context["confirm_form"].initial
    done = client.post(reverse("admin:stores_order_process_import"), confirm, follow=True)
    assert done.redirect_chain[-1][1] == 302
    assert Order.objects.count() == 3
    # The preview lists the file's 4 lines: the message counts orders and says their lines.
    assert [str(message) for message in done.context["messages"]] == [
        "Import finished: 3 orders (4 lines) added, 0 orders already there."
    ]


def test_the_sales_import_message_counts_orders_and_lines_in_chinese(reference: dict) -> None:
    report = SalesImportReport(kind="sales_history", dry_run=False, created=2564, unchanged=1)
    report.lines_created = 31236
    with translation.override("zh-hans"):
        assert (
            report.done_message()
            == "导入完成：新增 2,564 个订单（31,236 条明细），1 个订单此前已导入。"
        )


def test_admin_sales_import_says_which_orders_come_in_without_a_member(
    client, reference: dict
) -> None:
    # The command printed this note; the admin, where HQ imports, said only "1 new record".
    client.force_login(_staff("view_order", "import_order"))
    text = HEADER + "HZ0001,N1,card:NOBODY,FRUIT-BERRY-001,1,1.00,,2024-07-01\n"
    upload = SimpleUploadedFile("sales.csv", text.encode(), content_type="text/csv")
    note = "1 order names a member identity that is not known; it is imported without a member."

    preview = client.post(
        reverse("admin:stores_order_import"), {"import_file": upload, "format": "0"}
    )

    assert note in preview.content.decode()
    done = client.post(
        reverse("admin:stores_order_process_import"),
        preview.context["confirm_form"].initial,
        follow=True,
    )
    assert note in [str(message) for message in done.context["messages"]]
    assert Order.objects.get().member_id is None


def test_admin_sales_import_shows_every_bad_row(client, reference: dict) -> None:
    client.force_login(_staff("view_order", "import_order"))
    text = (
        HEADER
        + "HZ9999,B1,,FRUIT-BERRY-001,1,1.00,,2024-07-01\n"
        + "\n"
        + "HZ0001,B2,,FRUIT-BERRY-001,x,1.00,,2024-07-01\n"
    )
    upload = SimpleUploadedFile("sales.csv", text.encode(), content_type="text/csv")

    response = client.post(
        reverse("admin:stores_order_import"), {"import_file": upload, "format": "0"}
    )

    invalid = response.context["result"].invalid_rows
    assert [(row.number, row.field_specific_errors) for row in invalid] == [
        (2, {"store_code": ["Unknown store code “HZ9999”."]}),
        (4, {"quantity": ["“x” is not a whole number."]}),  # blank row 3 still counts
    ]
    assert "confirm_form" not in response.context
    assert database_counts() == (0, 0, 0)


def test_admin_confirm_after_the_data_changed_imports_nothing(client, reference: dict) -> None:
    client.force_login(_staff("view_order", "import_order"))
    upload = SimpleUploadedFile("sales.csv", (EXAMPLES / "sales_history.csv").read_bytes())
    preview = client.post(
        reverse("admin:stores_order_import"), {"import_file": upload, "format": "0"}
    )
    reference["other_store"].delete()  # HZ0002 is gone before the import is confirmed

    done = client.post(
        reverse("admin:stores_order_process_import"),
        preview.context["confirm_form"].initial,
        follow=True,
    )

    assert [str(message) for message in done.context["messages"]] == [
        "Nothing was imported: the file no longer passes validation. Upload it again."
    ]
    assert database_counts() == (0, 0, 0)


def test_admin_sales_import_needs_its_own_permission(client, reference: dict) -> None:
    client.force_login(_staff("view_order", "add_order"))
    assert client.get(reverse("admin:stores_order_import")).status_code == 403
    changelist = client.get(reverse("admin:stores_order_changelist"))
    assert changelist.status_code == 200
    assert changelist.context["has_import_permission"] is False


# --- PostgreSQL: COPY path under concurrency ---------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_imports_of_one_file_create_each_order_once(reference: dict) -> None:
    text = _big_file(2_000)
    reports = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            reports.append(sales_history_import(table=table(text)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(report.is_valid for report in reports)
    assert sum(report.created for report in reports) == 1_000
    assert Order.objects.count() == 1_000
    assert OrderLine.objects.count() == 1_999
    assert sum(report.lines_created for report in reports) == 1_999


@pytest.mark.postgres
def test_a_role_that_may_not_turn_triggers_off_imports_with_the_usual_key_checks(
    reference: dict,
) -> None:
    """The import falls back to PostgreSQL's own foreign-key triggers; forcing the deferred
    checks shows the written rows satisfy them."""
    role = f"linli_importer_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} NOSUPERUSER")  # rolled back with the test
        cursor.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
        cursor.execute(f"SET LOCAL ROLE {role}")

    report = sales_history_import(
        table=table((EXAMPLES / "sales_history.csv").read_text()), batch_size=2
    )

    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone() == ("origin",)
        cursor.execute("RESET ROLE")
    assert (report.created, report.lines_created) == (3, 4)
    assert OrderLine.objects.count() == 4


@pytest.mark.postgres
def test_the_callers_settings_are_as_before_after_an_import(reference: dict) -> None:
    """Inside a caller's transaction (as here), the import leaves jit as the caller set it."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = on")
    sales_history_import(table=table((EXAMPLES / "sales_history.csv").read_text()))
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit'), current_setting('session_replication_role')")
        assert cursor.fetchone() == ("on", "origin")
        cursor.execute("SET LOCAL jit = off")
    sales_history_import(table=table((EXAMPLES / "sales_history.csv").read_text()))
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


@pytest.mark.postgres
def test_foreign_key_triggers_are_on_again_after_an_import(reference: dict) -> None:
    sales_history_import(table=table((EXAMPLES / "sales_history.csv").read_text()))
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone() == ("origin",)


def test_every_example_file_imports_in_order_with_the_command(db: None) -> None:
    """docs/examples against the reference data they name (stores, categories, one SKU)."""
    from io import StringIO

    StoreFactory(code="HZ0001")
    StoreFactory(code="HZ0002")
    CategoryFactory(code="FRUIT-BERRY")
    ProductFactory(sku="DAIRY-MILK-001", category=CategoryFactory(code="DAIRY-MILK"))
    for kind, name in [
        ("products", "products.csv"),
        ("suppliers", "suppliers.csv"),
        ("supplier_products", "supplier_products.csv"),
        ("members", "members.csv"),
        ("stock_levels", "stock_levels.csv"),
        ("sales_history", "sales_history.csv"),
        ("chat_messages", "chat_messages.csv"),
    ]:
        call_command("import_csv", kind, str(EXAMPLES / name), stdout=StringIO())
    assert Order.objects.count() == 3
    assert Order.objects.filter(member__isnull=False).count() == 2
    assert StockMovement.objects.filter(kind=StockMovement.Kind.ADJUSTMENT).count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_product_deleted_while_the_file_is_imported_leaves_nothing(reference: dict) -> None:
    """The foreign keys are checked for the whole file at the end: a product that another
    transaction deletes meanwhile makes the import write nothing, and the report says why."""
    doomed = ProductFactory(sku="GONE-001", category=reference["blueberry"].category)
    text = _big_file(400) + "HZ0001,Z1,,GONE-001,1,1.00,,2024-07-01T10:00:00+08:00\n"
    source = table(text)

    def rows_deleting_the_product_midway():
        for index, row in enumerate(source.rows):
            if index == 200:
                deleter = threading.Thread(target=_delete_product, args=(doomed.pk,))
                deleter.start()
                deleter.join()
            yield row

    report = sales_history_import(
        table=Table(header=source.header, rows=rows_deleting_the_product_midway()), batch_size=50
    )

    assert [(e.row, e.code) for e in report.errors] == [(0, "conflict")]
    assert "changed while importing" in str(report.errors[0])
    assert (report.created, report.lines_created) == (0, 0)
    assert database_counts() == (0, 0, 0)


def _delete_product(pk: int) -> None:
    from apps.catalog.models import Product

    try:
        Product.objects.filter(pk=pk).delete()
    finally:
        connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_error_in_the_sender_thread_reaches_the_caller_and_leaves_nothing(
    reference: dict,
) -> None:
    """The order-line table is locked by another transaction: the sender thread's COPY gives
    up after lock_timeout, and the import raises that error instead of hanging or half-writing.
    """
    from django.db import OperationalError

    locked = threading.Event()
    release = threading.Event()

    def hold_the_line_table() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {OrderLine._meta.db_table} IN ACCESS EXCLUSIVE MODE")
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_line_table)
    holder.start()
    assert locked.wait(timeout=10)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        with pytest.raises(OperationalError, match="lock timeout"):
            sales_history_import(table=table(_big_file(2_000)), batch_size=100)
    finally:
        release.set()
        holder.join()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")

    assert database_counts() == (0, 0, 0)
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone() == ("origin",)
    # The connection is usable, and the import works once the table is free.
    assert sales_history_import(table=table(_big_file(2_000))).lines_created == 1_999


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_import_that_owns_its_transaction_gives_the_same_result(reference: dict) -> None:
    """Outside any caller's transaction the per-chunk lookups run on a second connection
    while the first stores the chunk before; orders, members, reruns and overlaps come out
    exactly as inside a transaction (the tests above)."""
    assert not connection.in_atomic_block
    settings_query = "SELECT current_setting('jit'), current_setting('session_replication_role')"
    with connection.cursor() as cursor:
        cursor.execute(settings_query)
        settings_before = cursor.fetchone()
    example = (EXAMPLES / "sales_history.csv").read_text()
    unknown = "HZ0001,U1,phone:13700137000,FRUIT-BERRY-001,1,19.90,,2024-07-01 10:00\n"

    first = sales_history_import(table=table(example + unknown), batch_size=2)
    again = sales_history_import(
        table=table(
            example + unknown + "HZ0001,U2,card:C000124,FRUIT-BERRY-001,2,19.90,,2024-07-01 11:00\n"
        ),
        batch_size=1,
    )

    assert (first.created, first.lines_created, first.orders_without_member) == (4, 5, 1)
    assert (again.created, again.unchanged, again.lines_created) == (1, 4, 1)
    members = dict(Order.objects.values_list("reference", "member_id"))
    assert members == {
        "T1-20240701-0001": reference["member"].pk,
        "T1-20240701-0002": None,
        "T2-20240701-0001": reference["carded"].pk,
        "U1": None,
        "U2": reference["carded"].pk,
    }
    assert Order.objects.get(reference="T1-20240701-0001").total == Decimal("54.70")
    assert OrderLine.objects.count() == 6
    with connection.cursor() as cursor:
        cursor.execute(settings_query)
        assert cursor.fetchone() == settings_before
