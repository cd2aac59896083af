"""linli.admin_utils: counts that never read the whole table, a date hierarchy from the first
and last dates, exact key searches, truncated text columns."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from apps.stores.models import Order, Store
from linli.admin_utils import (
    EstimatedCountPaginator,
    count_shown,
    date_hierarchy_periods,
    date_range,
    exact_key_search,
    truncated_text,
)
from tests.factories import MemberFactory, StoreFactory

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="estimates come from PostgreSQL's statistics"
)


def _orders(count: int, *, store: Store | None = None, placed_at: dt.datetime | None = None):
    store = store or StoreFactory()
    Order.objects.bulk_create(
        Order(
            store=store,
            channel=Order.Channel.POS,
            idempotency_key=uuid.uuid4().hex,
            reference=f"REF-{uuid.uuid4().hex[:10]}",
            total=Decimal("1.00"),
            placed_at=placed_at or timezone.now(),
        )
        for _ in range(count)
    )
    return store


class SmallLimitPaginator(EstimatedCountPaginator):
    exact_limit = 5


def _counts(sql_list: list[dict]) -> list[str]:
    return [query["sql"] for query in sql_list if "COUNT(" in query["sql"].upper()]


def test_small_results_are_counted_exactly():
    _orders(4)
    assert SmallLimitPaginator(Order.objects.all(), 2).count == 4
    assert SmallLimitPaginator(Order.objects.filter(pk__lt=0), 2).count == 0


def test_a_count_reads_at_most_the_limit_plus_one_rows():
    store = _orders(9)
    with CaptureQueriesContext(connection) as captured:
        count = SmallLimitPaginator(Order.objects.filter(store=store), 2).count
    assert count >= 6  # past the limit: an estimate, never below what was seen
    if connection.vendor == "postgresql":
        counts = _counts(captured.captured_queries)
        assert len(counts) == 1
        assert "LIMIT 6" in counts[0]


@postgres_only
def test_an_unfiltered_big_table_takes_the_table_estimate_without_counting():
    _orders(40)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE stores_order")
    with CaptureQueriesContext(connection) as captured:
        count = SmallLimitPaginator(Order.objects.all(), 10).count
    assert count == 40  # a freshly analysed small table is estimated exactly
    assert _counts(captured.captured_queries) == []


@postgres_only
def test_an_estimated_count_says_so_and_an_exact_one_does_not():
    store = _orders(40)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE stores_order")
    whole = SmallLimitPaginator(Order.objects.all(), 10)
    filtered = SmallLimitPaginator(Order.objects.filter(store=store), 10)
    small = SmallLimitPaginator(Order.objects.filter(pk__lt=0), 10)
    with translation.override("en"):
        assert (whole.count, whole.count_is_estimate, whole.count_shown) == (40, True, "about 40")
        assert filtered.count >= 6  # past the limit of 5
        assert (filtered.count_is_estimate, filtered.count_shown) == (
            True,
            f"about {filtered.count}",
        )
        assert (small.count, small.count_is_estimate, small.count_shown) == (0, False, "0")
        assert count_shown(23010, estimate=True) == "about 23,010"
        assert count_shown(23010, estimate=False) == "23010"
    with translation.override("zh-hans"):
        assert count_shown(23010, estimate=True) == "约 23,010"


@postgres_only
def test_the_order_changelist_marks_an_estimated_count_as_one(client, hq_user, monkeypatch):
    # QA: after an import "23010 订单明细" was shown for 31,236 lines and read as lost rows.
    monkeypatch.setattr(EstimatedCountPaginator, "exact_limit", 5)
    _orders(40)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE stores_order")
    client.force_login(hq_user)
    english = client.get(reverse("admin:stores_order_changelist"), HTTP_ACCEPT_LANGUAGE="en")
    chinese = client.get(reverse("admin:stores_order_changelist"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert english.context["cl"].paginator.count_is_estimate is True
    assert "The count is an estimate: about 40." in " ".join(english.content.decode().split())
    assert "约 40" in chinese.content.decode()
    assert 'id="count-estimate"' in chinese.content.decode()
    monkeypatch.setattr(EstimatedCountPaginator, "exact_limit", 50)
    exact = client.get(reverse("admin:stores_order_changelist"), HTTP_ACCEPT_LANGUAGE="en")
    assert exact.context["cl"].paginator.count_is_estimate is False
    assert 'id="count-estimate"' not in exact.content.decode()


def test_periods_span_the_first_to_the_last_date():
    first, last = dt.date(2026, 9, 28), dt.date(2026, 11, 2)
    assert date_hierarchy_periods((first, last), kind="month", is_datetime=False) == [
        dt.date(2026, 9, 1),
        dt.date(2026, 10, 1),
        dt.date(2026, 11, 1),
    ]
    days = date_hierarchy_periods((first, dt.date(2026, 10, 1)), kind="day", is_datetime=False)
    assert days == [dt.date(2026, 9, 28) + dt.timedelta(days=n) for n in range(4)]
    years = date_hierarchy_periods((dt.date(2025, 12, 31), last), kind="year", is_datetime=False)
    assert years == [dt.date(2025, 1, 1), dt.date(2026, 1, 1)]
    assert date_hierarchy_periods((None, None), kind="year", is_datetime=False) == []


def test_date_range_reads_the_first_and_last_values():
    zone = timezone.get_current_timezone()
    store = _orders(2, placed_at=dt.datetime(2026, 9, 3, 10, tzinfo=zone))
    _orders(1, store=store, placed_at=dt.datetime(2026, 11, 20, 10, tzinfo=zone))
    first, last = date_range(Order.objects.filter(store=store), "placed_at")
    assert (first.date(), last.date()) == (dt.date(2026, 9, 3), dt.date(2026, 11, 20))


def test_order_changelist_date_hierarchy_lists_the_months_without_a_distinct(client, hq_user):
    zone = timezone.get_current_timezone()
    store = _orders(2, placed_at=dt.datetime(2026, 9, 3, 10, tzinfo=zone))
    _orders(1, store=store, placed_at=dt.datetime(2026, 11, 20, 10, tzinfo=zone))
    client.force_login(hq_user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("admin:stores_order_changelist"))
    page = response.content.decode()
    for month in (9, 10, 11):
        assert f"placed_at__month={month}" in page
    assert "placed_at__month=8" not in page
    assert "placed_at__month=12" not in page
    assert not [q for q in captured.captured_queries if "DISTINCT" in q["sql"].upper()]
    assert _counts(captured.captured_queries)  # the capped count, not a full one
    assert all("LIMIT" in sql.upper() for sql in _counts(captured.captured_queries))


def test_exact_key_search_matches_keys_and_resolved_relations_only():
    store = StoreFactory(code="HZ7001")
    member = MemberFactory(member_no="M-77")
    _orders(2, store=store)
    other = _orders(1)
    Order.objects.filter(store=other).update(member=member)
    target = Order.objects.filter(store=store).first()

    def search(term: str) -> set[int]:
        found = exact_key_search(
            Order.objects.all(),
            term,
            fields=["reference"],
            integer_fields=["pk"],
            related={
                "store_id": (Store.objects.all(), lambda t: Q(code=t)),
                "member_id": (type(member).objects.all(), lambda t: Q(member_no=t)),
            },
        )
        return set(found.values_list("pk", flat=True))

    store_orders = set(Order.objects.filter(store=store).values_list("pk", flat=True))
    assert search("HZ7001") == store_orders
    assert search("HZ700") == set()  # exact, not contains
    assert search("M-77") == set(Order.objects.filter(store=other).values_list("pk", flat=True))
    assert search(str(target.pk)) == {target.pk}
    assert search(target.reference) == {target.pk}
    assert search("  ") == set(Order.objects.values_list("pk", flat=True))
    # Only ASCII digits are a number: "²" passes str.isdigit() but not int() (a 500), and
    # the order's id in Arabic-Indic digits is not its id.
    assert search("²") == set()
    assert search(str(target.pk).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))) == set()


@pytest.mark.parametrize(
    "changelist", ["admin:stores_order_changelist", "admin:stores_orderline_changelist"]
)
@pytest.mark.parametrize("term", ["²", "١٢"])
def test_order_changelists_search_a_superscript_or_arabic_indic_number_without_error(
    client, hq_user, changelist, term
):
    _orders(2)
    client.force_login(hq_user)
    response = client.get(reverse(changelist), {"q": term})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 0


def test_truncated_text_cuts_long_text_and_keeps_it_whole_in_the_tooltip():
    assert truncated_text("短评") == "短评"
    assert truncated_text(None) == ""
    long = "冷柜温度偏高" * 10 + "<b>"
    shown = truncated_text(long, length=10)
    assert shown.startswith('<span class="truncated" title="冷柜温度偏高冷柜温度偏高')
    assert "&lt;b&gt;" in shown  # escaped
    visible = shown.split('">', 1)[1].removesuffix("</span>")
    assert visible.startswith("冷柜温度偏高")
    assert len(visible) <= 10
