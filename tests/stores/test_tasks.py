"""store_kpi_snapshots_task: exact per-store numbers for a local day, idempotent on rerun."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from apps.stores.models import Order, StoreKpiSnapshot
from apps.stores.services.orders import LineInput, order_create
from apps.stores.tasks import store_kpi_snapshots_task
from tests.factories import MemberFactory, ProductFactory, StoreFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 7, 1)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def _order(store, placed_at, amount: str, *, member=None, status=Order.Status.PAID) -> Order:
    order, _created = order_create(
        store=store,
        channel=Order.Channel.POS,
        idempotency_key=uuid.uuid4().hex,
        lines=[LineInput(product=ProductFactory(), quantity=1, unit_price=Decimal(amount))],
        member=member,
        status=status,
        placed_at=placed_at,
        take_stock=False,
    )
    return order


def _snapshots() -> list[tuple]:
    return list(
        StoreKpiSnapshot.objects.order_by("store__code", "day").values_list(
            "store__code", "day", "order_count", "revenue", "member_count", "average_basket"
        )
    )


@pytest.fixture
def july_orders():
    """Store A: 3 counted orders on DAY (two by the same member) plus a cancelled and a
    refunded one, and orders just outside DAY in local time. Store B: one anonymous order."""
    store_a = StoreFactory(code="A001")
    store_b = StoreFactory(code="B001")
    regular, newcomer = MemberFactory(), MemberFactory()
    _order(store_a, _at(DAY, 0, 0), "10.00", member=regular)  # first local minute counts
    _order(store_a, _at(DAY, 12), "20.50", member=regular)
    _order(store_a, _at(DAY, 23, 59), "5.00", member=newcomer)
    _order(store_a, _at(DAY, 13), "99.00", member=newcomer, status=Order.Status.CANCELLED)
    _order(store_a, _at(DAY, 14), "77.00", member=regular, status=Order.Status.REFUNDED)
    _order(store_a, _at(DAY - dt.timedelta(days=1), 23, 59), "1000.00")  # previous local day
    _order(store_a, _at(DAY + dt.timedelta(days=1), 0, 0), "2000.00")  # next local day
    _order(store_b, _at(DAY, 9), "8.00")
    StoreFactory(code="C001")  # no orders: no snapshot
    return store_a, store_b


def test_kpi_task_writes_exact_numbers_for_the_local_day(july_orders):
    written = store_kpi_snapshots_task(DAY.isoformat())
    assert written == 2
    assert _snapshots() == [
        ("A001", DAY, 3, Decimal("35.50"), 2, Decimal("11.83")),
        ("B001", DAY, 1, Decimal("8.00"), 0, Decimal("8.00")),
    ]


def test_kpi_task_twice_gives_the_same_rows(july_orders):
    store_kpi_snapshots_task(DAY.isoformat())
    first = _snapshots()
    ids = set(StoreKpiSnapshot.objects.values_list("pk", flat=True))
    assert store_kpi_snapshots_task(DAY.isoformat()) == 2
    assert _snapshots() == first
    assert set(StoreKpiSnapshot.objects.values_list("pk", flat=True)) == ids


def test_kpi_task_rerun_follows_a_cancellation(july_orders):
    store_a, store_b = july_orders
    store_kpi_snapshots_task(DAY.isoformat())
    Order.objects.filter(store=store_a, total=Decimal("20.50")).update(
        status=Order.Status.CANCELLED
    )
    Order.objects.filter(store=store_b).update(status=Order.Status.CANCELLED)
    store_kpi_snapshots_task(DAY.isoformat())
    assert _snapshots() == [("A001", DAY, 2, Decimal("15.00"), 2, Decimal("7.50"))]


def test_kpi_task_for_a_day_leaves_other_days_alone(july_orders):
    store_kpi_snapshots_task((DAY - dt.timedelta(days=1)).isoformat())
    store_kpi_snapshots_task(DAY.isoformat())
    assert [row[:3] for row in _snapshots()] == [
        ("A001", DAY - dt.timedelta(days=1), 1),
        ("A001", DAY, 3),
        ("B001", DAY, 1),
    ]


def test_kpi_task_without_a_day_covers_yesterday_and_today(settings):
    store = StoreFactory(code="T001")
    today = dt.datetime.now(tz=SHANGHAI).date()
    yesterday = today - dt.timedelta(days=1)
    _order(store, _at(yesterday, 10), "3.00")
    _order(store, dt.datetime.now(tz=SHANGHAI) - dt.timedelta(seconds=1), "4.00")
    assert store_kpi_snapshots_task() == 2
    assert store_kpi_snapshots_task() == 2
    assert [row[1:4] for row in _snapshots()] == [
        (yesterday, 1, Decimal("3.00")),
        (today, 1, Decimal("4.00")),
    ]


def test_kpi_task_on_a_day_without_orders_writes_nothing():
    StoreFactory()
    assert store_kpi_snapshots_task(DAY.isoformat()) == 0
    assert StoreKpiSnapshot.objects.count() == 0
