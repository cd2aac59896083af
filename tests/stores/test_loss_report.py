"""HQ's loss report in the admin: loss rate by store and category (docs/loss.md)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse
from django.utils import translation

from apps.stores.selectors import loss_rates, loss_report
from tests.factories import (
    CategoryFactory,
    ProductFactory,
    RegionFactory,
    StockLevelFactory,
    StoreFactory,
    UserFactory,
)
from tests.stores.test_loss import _at, _lose, _sell

pytestmark = pytest.mark.django_db

URL = "/admin/stores/stockmovement/loss-report/"
JULY = {"since": dt.date(2026, 7, 1), "until": dt.date(2026, 8, 1)}


@pytest.fixture
def planted():
    """Two regions, a store in each, two categories: fruit (fresh, ¥10) and rice (¥50), sold
    and lost in July for several reasons; a June loss and a third store's rows outside the
    region filter."""
    east, west = RegionFactory(code="E", name="东区"), RegionFactory(code="W", name="西区")
    store_a = StoreFactory(code="A", name="甲店", region=east)
    store_b = StoreFactory(code="B", name="乙店", region=west)
    store_c = StoreFactory(code="C", name="丙店", region=east)
    fruit_cat = CategoryFactory(name="水果", is_fresh=True)
    rice_cat = CategoryFactory(name="大米")
    fruit = ProductFactory(category=fruit_cat, price=Decimal("10.00"))
    rice = ProductFactory(category=rice_cat, price=Decimal("50.00"))
    levels = {
        (store.code, product.pk): StockLevelFactory(store=store, product=product, on_hand=100)
        for store in (store_a, store_b, store_c)
        for product in (fruit, rice)
    }
    day = dt.date(2026, 7, 10)
    _lose(levels["A", fruit.pk], 3, _at(day, 9), "expired")
    _lose(levels["A", fruit.pk], 2, _at(day, 10), "spoiled")
    _lose(levels["A", rice.pk], 1, _at(day, 11), "damaged")
    _lose(levels["B", fruit.pk], 4, _at(day, 12), "expired")
    _lose(levels["B", rice.pk], 2, _at(day, 13), "theft")
    _lose(levels["C", rice.pk], 1, _at(day, 14), "expired")
    _lose(levels["A", fruit.pk], 9, _at(dt.date(2026, 6, 30), 12), "expired")  # June
    _sell(store_a, fruit, 45, _at(day, 15))
    _sell(store_a, rice, 19, _at(day, 16))
    _sell(store_b, fruit, 6, _at(day, 17))
    _sell(store_b, rice, 8, _at(day, 18))
    _sell(store_c, rice, 99, _at(day, 19))
    return {"a": store_a, "b": store_b, "c": store_c, "east": east, "west": west}


def _figures(rate) -> tuple:
    return (
        rate.store_id,
        rate.category_id,
        rate.lost_units,
        rate.lost_value,
        rate.sold_units,
        rate.sold_value,
        rate.rate,
    )


def test_the_report_equals_loss_rates_by_category_worst_first(planted):
    stores = [planted["a"].pk, planted["b"].pk, planted["c"].pk]
    reference = loss_rates(store_ids=stores, **JULY, by_category=True)
    report = loss_report(**JULY)
    assert sorted(_figures(row.figures) for row in report.rows) == sorted(
        _figures(rate) for rate in reference
    )
    # Worst first: B fruit 40/100, B rice 100/500, A fruit 50/500 … C rice 50/5000.
    assert [(row.store.code, row.figures.category_name) for row in report.rows] == [
        ("B", "水果"),
        ("B", "大米"),
        ("A", "水果"),
        ("A", "大米"),
        ("C", "大米"),
    ]
    assert [row.figures.rate_percent for row in report.rows] == [
        Decimal("40.00"),
        Decimal("20.00"),
        Decimal("10.00"),
        Decimal("5.00"),
        Decimal("1.00"),
    ]
    a_fruit = report.rows[2].figures
    assert a_fruit.lost_by_reason == (
        ("expired", 3, Decimal("30.00")),
        ("spoiled", 2, Decimal("20.00")),
    )
    assert report.reasons == ["expired", "spoiled", "damaged", "theft"]


def test_the_reports_totals_equal_loss_rates_per_store_summed(planted):
    report = loss_report(**JULY)
    per_store = loss_rates(store_ids=[planted[key].pk for key in "abc"], **JULY, by_category=False)
    network = report.network.figures
    assert (network.lost_units, network.lost_value, network.sold_units, network.sold_value) == (
        13,
        Decimal("290.00"),
        177,
        Decimal("6810.00"),
    )
    assert network.lost_value == sum(rate.lost_value for rate in per_store)
    assert network.sold_value == sum(rate.sold_value for rate in per_store)
    assert network.rate == Decimal("0.0408")  # 290 / 7100
    assert {reason: (units, value) for reason, units, value in network.lost_by_reason} == {
        "expired": (8, Decimal("120.00")),
        "spoiled": (2, Decimal("20.00")),
        "damaged": (1, Decimal("50.00")),
        "theft": (2, Decimal("100.00")),
    }
    # West (B): 140 / 600 = 23.33 %; east (A and C): 150 / 6500 = 2.31 %.
    assert [(total.label, total.figures.rate_percent) for total in report.regions] == [
        ("西区", Decimal("23.33")),
        ("东区", Decimal("2.31")),
    ]


def test_the_report_reads_a_region_or_a_store_only(planted):
    east = loss_report(**JULY, region_id=planted["east"].pk)
    assert {row.store.code for row in east.rows} == {"A", "C"}
    assert [total.label for total in east.regions] == ["东区"]
    one = loss_report(**JULY, store_id=planted["b"].pk)
    assert {row.store.code for row in one.rows} == {"B"}
    assert one.network.figures.lost_value == Decimal("140.00")
    assert loss_report(**JULY, region_id=planted["east"].pk, store_id=planted["b"].pk).rows == []
    june = loss_report(since=dt.date(2026, 6, 1), until=dt.date(2026, 7, 1))
    assert [(row.store.code, row.figures.lost_units) for row in june.rows] == [("A", 9)]


@pytest.fixture
def hq_inspection(roles):
    user = UserFactory(is_staff=True, username="hq-inspection")
    user.groups.add(Group.objects.get(name="HQ inspection"))
    client = Client()
    client.force_login(user)
    return client


def test_the_page_shows_the_rows_and_totals_in_chinese(planted, hq_inspection):
    with translation.override("zh-hans"):
        page = hq_inspection.get(URL, {"month": "2026-07"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "损耗率（门店 × 品类）" in html
    assert "过期" in html
    order = [
        html.index(f'data-store="{code}" data-category="{name}"')
        for code, name in [
            ("B", "水果"),
            ("B", "大米"),
            ("A", "水果"),
            ("A", "大米"),
            ("C", "大米"),
        ]
    ]
    assert order == sorted(order)
    assert "40.00%" in html
    assert "4.08%" in html  # the network


def test_the_page_filters_by_days_region_and_store(planted, hq_inspection):
    page = hq_inspection.get(
        URL, {"first_day": "2026-07-01", "last_day": "2026-07-31", "region": planted["east"].pk}
    )
    assert page.status_code == 200
    assert [row["store"].code for row in page.context["rows"]] == ["A", "A", "C"]
    page = hq_inspection.get(URL, {"month": "2026-07", "store": planted["c"].pk})
    assert [row["store"].code for row in page.context["rows"]] == ["C"]
    page = hq_inspection.get(URL, {"first_day": "2026-06-30", "last_day": "2026-06-30"})
    assert [row["figures"].lost_units for row in page.context["rows"]] == [9]


def test_the_page_defaults_to_the_last_30_days(planted, hq_inspection, monkeypatch):
    monkeypatch.setattr("apps.stores.admin.timezone.localdate", lambda *args: dt.date(2026, 7, 30))
    page = hq_inspection.get(URL)
    report = page.context["report"]
    assert (report.since, report.until) == (dt.date(2026, 7, 1), dt.date(2026, 7, 31))
    assert len(report.rows) == 5


@pytest.mark.parametrize(
    "query",
    [
        {"month": "2026-13"},
        {"month": "2026-07", "first_day": "2026-07-01"},
        {"first_day": "2026-07-10", "last_day": "2026-07-01"},
        {"first_day": "2025-01-01", "last_day": "2026-07-01"},
    ],
)
def test_bad_filters_are_refused_with_the_form(planted, hq_inspection, query):
    page = hq_inspection.get(URL, {**query, "download": "csv"})
    assert page.status_code == 400
    assert page["Content-Type"].startswith("text/html")
    assert page.context["report"] is None


def test_the_csv_has_a_bom_and_the_pages_rows(planted, hq_inspection):
    with translation.override("zh-hans"):
        page = hq_inspection.get(URL, {"month": "2026-07"})
        download = hq_inspection.get(URL, {"month": "2026-07", "download": "csv"})
    assert download.status_code == 200
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert "loss-rates-20260701-20260731-with-loss.csv" in download["Content-Disposition"]
    assert download.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:8] == [
        "区域",
        "门店编码",
        "门店",
        "品类",
        "售出件数",
        "售出金额",
        "损耗件数",
        "损耗金额",
    ]
    assert header[-1] == "损耗率（%）"
    assert [(line[1], line[3], line[-1]) for line in body] == [
        (row["store"].code, row["figures"].category_name, str(row["figures"].rate_percent))
        for row in page.context["rows"]
    ]
    expired = header.index("过期：件数")
    assert body[2][1:4] + body[2][expired : expired + 2] == ["A", "甲店", "水果", "3", "30.00"]


def test_the_stock_movements_list_links_to_the_report(planted, hq_inspection):
    page = hq_inspection.get(reverse("admin:stores_stockmovement_changelist"))
    assert page.status_code == 200
    assert f'href="{URL}"'.encode() in page.content


def test_staff_without_the_stock_movement_permission_are_refused(planted):
    user = UserFactory(is_staff=True, username="kpis-only")
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_storekpisnapshot", "view_store"])
    )
    client = Client()
    client.force_login(user)
    page = client.get(URL, {"month": "2026-07"})
    download = client.get(URL, {"month": "2026-07", "download": "csv"})
    assert (page.status_code, download.status_code) == (403, 403)
    assert "甲店".encode() not in page.content + download.content


def test_the_report_reads_in_five_queries_whatever_the_rows(planted, django_assert_num_queries):
    with django_assert_num_queries(5):
        report = loss_report(**JULY)
    assert len(report.rows) == 5
    # A third category at every store: more rows, the same queries.
    drinks = ProductFactory(category=CategoryFactory(name="饮料"), price=Decimal("3.00"))
    for key in "abc":
        _sell(planted[key], drinks, 2, _at(dt.date(2026, 7, 20), 9))
    with django_assert_num_queries(5):
        report = loss_report(**JULY, with_lossless_rows=True)
    assert len(report.rows) == 8


# --- Rows without a loss: hidden by default, counted, shown on request (CSV alike) ----------


@pytest.fixture
def drinks_sold(planted):
    """Drinks (¥3) sold at every store in July and never lost: three rows at 0 %."""
    drinks = ProductFactory(category=CategoryFactory(name="饮料"), price=Decimal("3.00"))
    for key in "abc":
        _sell(planted[key], drinks, 2, _at(dt.date(2026, 7, 20), 9))
    return planted


def test_rows_without_a_loss_are_left_out_and_counted_but_the_totals_keep_them(drinks_sold):
    report = loss_report(**JULY)
    assert [(row.store.code, row.figures.category_name) for row in report.rows] == [
        ("B", "水果"),
        ("B", "大米"),
        ("A", "水果"),
        ("A", "大米"),
        ("C", "大米"),
    ]
    assert (report.lossless_rows, report.hidden_rows) == (3, 3)
    everything = loss_report(**JULY, with_lossless_rows=True)
    assert [(row.store.code, row.figures.category_name) for row in everything.rows[5:]] == [
        ("A", "饮料"),
        ("B", "饮料"),
        ("C", "饮料"),
    ]
    assert [row.figures.rate_percent for row in everything.rows[5:]] == [Decimal("0.00")] * 3
    assert (everything.lossless_rows, everything.hidden_rows) == (3, 0)
    # The totals count the drinks' sales (3 stores × ¥6) whichever rows are listed.
    assert report.network.figures.sold_value == Decimal("6828.00")
    assert report.network == everything.network
    assert report.regions == everything.regions


def test_the_page_says_how_many_rows_it_hides_and_shows_them_on_request(drinks_sold, hq_inspection):
    page = hq_inspection.get(URL, {"month": "2026-07"})
    html = page.content.decode()
    assert [row["figures"].category_name for row in page.context["rows"]].count("饮料") == 0
    assert 'name="with_lossless_rows"' in html
    assert "已隐藏 3 行无损耗的门店 × 品类（有销售、无损耗），合计仍计入。" in html
    assert 'href="?month=2026-07&amp;with_lossless_rows=on"' in html
    shown = hq_inspection.get(URL, {"month": "2026-07", "with_lossless_rows": "on"})
    assert [row["figures"].category_name for row in shown.context["rows"]].count("饮料") == 3
    assert 'id="loss-report-hidden"' not in shown.content.decode()
    assert 'data-category="饮料"' in shown.content.decode()


def test_a_period_with_sales_but_no_loss_says_nothing_was_lost(drinks_sold, hq_inspection):
    page = hq_inspection.get(URL, {"first_day": "2026-07-20", "last_day": "2026-07-20"})
    html = page.content.decode()
    assert page.context["rows"] == []
    assert "这些天没有损耗。" in html
    assert "已隐藏 3 行无损耗的门店 × 品类" in html


def test_the_csv_follows_the_pages_choice_and_its_name_says_which(drinks_sold, hq_inspection):
    def body(download):
        return list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))[1:]

    default = hq_inspection.get(URL, {"month": "2026-07", "download": "csv"})
    assert "loss-rates-20260701-20260731-with-loss.csv" in default["Content-Disposition"]
    assert len(body(default)) == 5
    everything = hq_inspection.get(
        URL, {"month": "2026-07", "with_lossless_rows": "on", "download": "csv"}
    )
    assert "loss-rates-20260701-20260731-all-rows.csv" in everything["Content-Disposition"]
    assert [(line[1], line[3], line[-1]) for line in body(everything)[5:]] == [
        ("A", "饮料", "0.00"),
        ("B", "饮料", "0.00"),
        ("C", "饮料", "0.00"),
    ]


def test_the_reports_csv_link_keeps_the_choice(drinks_sold, hq_inspection):
    html = hq_inspection.get(URL, {"month": "2026-07", "with_lossless_rows": "on"}).content
    assert b"?month=2026-07&amp;with_lossless_rows=on&amp;download=csv" in html
