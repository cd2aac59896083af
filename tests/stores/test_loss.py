"""Loss: recording (one and in a batch), loss rates per store and category, the KPI's loss value."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.procurement.selectors.aftersales import refunds_by_store
from apps.stores.models import (
    LossBatch,
    Order,
    OrderLine,
    StockLevel,
    StockMovement,
    StoreKpiSnapshot,
)
from apps.stores.selectors import (
    LossRate,
    loss_rates,
    store_loss_candidates,
    store_loss_rates_by_month,
    store_loss_values,
    store_recent_losses,
    store_stocked_products,
)
from apps.stores.services.kpis import (
    store_kpi_loss_values_refresh,
    store_kpi_snapshots_compute,
)
from apps.stores.services.loss import (
    LossBatchRepeated,
    LossInput,
    LossRefused,
    loss_record,
    losses_record,
)
from apps.stores.services.orders import LineInput, order_create
from apps.stores.services.stock import InsufficientStock, stock_move
from tests.factories import (
    CategoryFactory,
    ProductFactory,
    StockLevelFactory,
    StoreFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 7, 1)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def _level(store=None, *, on_hand: int = 10, **product: object) -> StockLevel:
    return StockLevelFactory(
        store=store or StoreFactory(), product=ProductFactory(**product), on_hand=on_hand
    )


def _lose(level: StockLevel, quantity: int, at: dt.datetime, reason: str = "expired") -> None:
    stock_move(
        store=level.store,
        product=level.product,
        kind=StockMovement.Kind.LOSS,
        quantity=-quantity,
        reason=reason,
        at=at,
    )


def _sell(store, product, quantity: int, at: dt.datetime, *, status=Order.Status.COMPLETED):
    order_create(
        store=store,
        channel=Order.Channel.POS,
        idempotency_key=uuid.uuid4().hex,
        lines=[LineInput(product=product, quantity=quantity, unit_price=Decimal("1.00"))],
        status=status,
        placed_at=at,
        take_stock=False,
    )


# --- loss_record ------------------------------------------------------------------------------


def test_loss_record_writes_a_loss_row_with_its_reason_and_lowers_on_hand():
    level = _level(on_hand=10)
    clerk = UserFactory()
    movement = loss_record(
        store=level.store,
        product=level.product,
        quantity=3,
        reason="spoiled",
        note="冷柜故障",
        by=clerk,
    )
    level.refresh_from_db()
    assert level.on_hand == 7
    assert list(
        StockMovement.objects.values_list("kind", "quantity", "reason", "note", "created_by")
    ) == [("loss", -3, "spoiled", "冷柜故障", clerk.pk)]
    assert movement.reason == "spoiled"


def test_losing_exactly_what_is_on_hand_leaves_zero():
    level = _level(on_hand=4)
    loss_record(store=level.store, product=level.product, quantity=4, reason="expired", by=None)
    level.refresh_from_db()
    assert level.on_hand == 0


def test_losing_more_than_is_on_hand_is_refused_and_writes_nothing():
    level = _level(on_hand=4)
    with pytest.raises(InsufficientStock, match=re.escape(level.product.name)):
        loss_record(store=level.store, product=level.product, quantity=5, reason="expired", by=None)
    level.refresh_from_db()
    assert level.on_hand == 4
    assert not StockMovement.objects.exists()


def test_losing_a_product_the_store_does_not_stock_is_refused():
    level = _level(on_hand=4)
    with pytest.raises(InsufficientStock):
        loss_record(
            store=StoreFactory(), product=level.product, quantity=1, reason="other", by=None
        )
    assert not StockMovement.objects.exists()
    assert StockLevel.objects.get().on_hand == 4


@pytest.mark.parametrize(
    ("quantity", "reason", "note", "code"),
    [
        (0, "expired", "", "quantity"),
        (-2, "expired", "", "quantity"),
        (True, "expired", "", "quantity"),
        (10_000, "expired", "", "quantity"),
        (1, "", "", "reason"),
        (1, "stolen", "", "reason"),
        (1, "expired", "x" * 201, "note"),
    ],
)
def test_loss_record_refuses_bad_input_and_writes_nothing(quantity, reason, note, code):
    level = _level(on_hand=20_000)
    with pytest.raises(ValidationError) as refused:
        loss_record(
            store=level.store,
            product=level.product,
            quantity=quantity,
            reason=reason,
            note=note,
            by=None,
        )
    assert refused.value.code == code
    assert not StockMovement.objects.exists()
    level.refresh_from_db()
    assert level.on_hand == 20_000


def test_loss_record_accepts_the_limits():
    level = _level(on_hand=9_999)
    loss_record(
        store=level.store,
        product=level.product,
        quantity=9_999,
        reason="theft",
        note="x" * 200,
        by=None,
    )
    assert StockMovement.objects.get().quantity == -9_999


def test_the_database_refuses_a_reason_on_anything_but_a_loss():
    level = _level(on_hand=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        stock_move(
            store=level.store,
            product=level.product,
            kind=StockMovement.Kind.SALE,
            quantity=-1,
            reason="expired",
        )
    assert not StockMovement.objects.exists()


def test_stock_move_leaves_the_reason_empty_by_default():
    level = _level(on_hand=5)
    stock_move(store=level.store, product=level.product, kind=StockMovement.Kind.LOSS, quantity=-1)
    assert StockMovement.objects.get().reason == ""


# --- losses_record ----------------------------------------------------------------------------


def test_losses_record_writes_every_row_at_one_time_in_the_callers_order():
    store = StoreFactory()
    milk = _level(store, on_hand=6)
    bread = _level(store, on_hand=3)
    clerk = UserFactory()
    movements = losses_record(
        store=store,
        rows=[
            LossInput(product=bread.product, quantity=3, reason="expired"),
            LossInput(product=milk.product, quantity=2, reason="spoiled", note="胀包"),
            LossInput(product=milk.product, quantity=1, reason="damaged"),
        ],
        by=clerk,
    )
    assert [(m.product_id, m.quantity, m.reason, m.note) for m in movements] == [
        (bread.product_id, -3, "expired", ""),
        (milk.product_id, -2, "spoiled", "胀包"),
        (milk.product_id, -1, "damaged", ""),
    ]
    assert len({movement.created_at for movement in movements}) == 1
    assert set(StockMovement.objects.values_list("created_by", flat=True)) == {clerk.pk}
    assert dict(StockLevel.objects.values_list("product_id", "on_hand")) == {
        milk.product_id: 3,
        bread.product_id: 0,
    }


def test_a_batch_with_a_short_row_names_it_and_writes_nothing():
    store = StoreFactory()
    milk = _level(store, on_hand=6)
    bread = _level(store, on_hand=3)
    with pytest.raises(LossRefused) as refused:
        losses_record(
            store=store,
            rows=[
                LossInput(product=milk.product, quantity=2, reason="expired"),
                LossInput(product=bread.product, quantity=4, reason="expired"),
                LossInput(product=milk.product, quantity=4, reason="expired"),
            ],
            by=None,
        )
    # Row 3 takes exactly the 4 units that row 1 left.
    assert [(error.row, error.field) for error in refused.value.errors] == [(2, "stock")]
    assert not StockMovement.objects.exists()
    assert dict(StockLevel.objects.values_list("product_id", "on_hand")) == {
        milk.product_id: 6,
        bread.product_id: 3,
    }


def test_a_batch_over_what_is_on_hand_in_total_refuses_the_row_that_runs_out():
    store = StoreFactory()
    milk = _level(store, on_hand=5)
    with pytest.raises(LossRefused) as refused:
        losses_record(
            store=store,
            rows=[
                LossInput(product=milk.product, quantity=3, reason="expired"),
                LossInput(product=milk.product, quantity=3, reason="expired"),
            ],
            by=None,
        )
    assert [(error.row, error.field) for error in refused.value.errors] == [(2, "stock")]
    assert milk.product.name in refused.value.errors[0].message
    assert not StockMovement.objects.exists()
    assert StockLevel.objects.get().on_hand == 5


def test_a_batch_with_bad_input_names_every_bad_row_and_writes_nothing():
    store = StoreFactory()
    milk = _level(store, on_hand=5)
    with pytest.raises(LossRefused) as refused:
        losses_record(
            store=store,
            rows=[
                LossInput(product=milk.product, quantity=0, reason="expired"),
                LossInput(product=milk.product, quantity=1, reason="expired"),
                LossInput(product=milk.product, quantity=1, reason="lost", note="x" * 201),
            ],
            by=None,
        )
    assert [(error.row, error.field) for error in refused.value.errors] == [
        (1, "quantity"),
        (3, "reason"),
        (3, "note"),
    ]
    assert not StockMovement.objects.exists()
    assert StockLevel.objects.get().on_hand == 5


def test_an_empty_batch_is_refused():
    with pytest.raises(LossRefused) as refused:
        losses_record(store=StoreFactory(), rows=[], by=None)
    assert [error.field for error in refused.value.errors] == ["rows"]


def test_a_batch_key_is_recorded_once_per_store_and_a_repeat_writes_nothing():
    store = StoreFactory()
    milk = _level(store, on_hand=6)
    key = uuid.uuid4()
    rows = [LossInput(product=milk.product, quantity=2, reason="expired")]
    losses_record(store=store, rows=rows, by=None, key=key)
    with pytest.raises(LossBatchRepeated) as repeated:
        losses_record(store=store, rows=rows, by=None, key=key)
    assert (repeated.value.batch.key, repeated.value.batch.loss_count) == (key, 1)
    assert StockMovement.objects.count() == 1
    assert StockLevel.objects.get().on_hand == 4
    # Another store's list may carry the same key (keys are per store).
    other = _level(StoreFactory(), on_hand=1)
    losses_record(
        store=other.store,
        rows=[LossInput(product=other.product, quantity=1, reason="expired")],
        by=None,
        key=key,
    )
    assert LossBatch.objects.filter(key=key).count() == 2


def test_a_single_loss_with_a_key_is_recorded_once_as_a_batch_of_one():
    level = _level(on_hand=5)
    key = uuid.uuid4()
    loss_record(
        store=level.store, product=level.product, quantity=2, reason="expired", by=None, key=key
    )
    with pytest.raises(LossBatchRepeated) as repeated:
        loss_record(
            store=level.store, product=level.product, quantity=2, reason="expired", by=None, key=key
        )
    assert (repeated.value.batch.key, repeated.value.batch.loss_count) == (key, 1)
    assert list(StockMovement.objects.values_list("quantity", flat=True)) == [-2]
    level.refresh_from_db()
    assert level.on_hand == 3


def test_a_single_loss_over_on_hand_leaves_its_key_free():
    level = _level(on_hand=2)
    key = uuid.uuid4()
    with pytest.raises(InsufficientStock):
        loss_record(
            store=level.store, product=level.product, quantity=3, reason="expired", by=None, key=key
        )
    assert not LossBatch.objects.exists()
    loss_record(
        store=level.store, product=level.product, quantity=2, reason="expired", by=None, key=key
    )
    assert LossBatch.objects.get().key == key


def test_a_refused_batch_leaves_its_key_free_for_the_corrected_list():
    store = StoreFactory()
    milk = _level(store, on_hand=2)
    key = uuid.uuid4()
    with pytest.raises(LossRefused):
        losses_record(
            store=store,
            rows=[LossInput(product=milk.product, quantity=3, reason="expired")],
            by=None,
            key=key,
        )
    assert not LossBatch.objects.exists()
    losses_record(
        store=store,
        rows=[LossInput(product=milk.product, quantity=2, reason="expired")],
        by=None,
        key=key,
    )
    assert LossBatch.objects.get().loss_count == 1
    assert StockLevel.objects.get().on_hand == 0


# --- loss rates -------------------------------------------------------------------------------


@pytest.fixture
def july():
    """Store A: fruit (fresh, ¥10) and rice (¥50) sold and lost in July; store B: fruit lost.
    Rows just outside July, a cancelled order and another store's rows must not count."""
    fruit_cat = CategoryFactory(name="水果", is_fresh=True)
    rice_cat = CategoryFactory(name="大米")
    store_a, store_b = StoreFactory(code="A"), StoreFactory(code="B")
    fruit = ProductFactory(category=fruit_cat, price=Decimal("10.00"))
    berry = ProductFactory(category=fruit_cat, price=Decimal("12.50"))
    rice = ProductFactory(category=rice_cat, price=Decimal("50.00"))
    levels = {
        (store.code, product.pk): StockLevelFactory(store=store, product=product, on_hand=100)
        for store in (store_a, store_b)
        for product in (fruit, berry, rice)
    }
    july_1, july_31 = dt.date(2026, 7, 1), dt.date(2026, 7, 31)
    _lose(levels["A", fruit.pk], 3, _at(july_1, 0, 0))  # first local minute counts
    _lose(levels["A", berry.pk], 2, _at(july_31, 23, 59), "spoiled")
    _lose(levels["A", rice.pk], 1, _at(dt.date(2026, 7, 15), 10), "damaged")
    _lose(levels["A", fruit.pk], 5, _at(dt.date(2026, 6, 30), 23, 59))  # June
    _lose(levels["A", fruit.pk], 7, _at(dt.date(2026, 8, 1), 0, 0))  # August
    _lose(levels["B", fruit.pk], 4, _at(dt.date(2026, 7, 10), 9))
    _sell(store_a, fruit, 20, _at(dt.date(2026, 7, 2), 9))
    _sell(store_a, berry, 4, _at(dt.date(2026, 7, 3), 9))
    _sell(store_a, rice, 9, _at(dt.date(2026, 7, 4), 9))
    _sell(store_a, fruit, 50, _at(dt.date(2026, 7, 5), 9), status=Order.Status.CANCELLED)
    _sell(store_a, fruit, 60, _at(dt.date(2026, 7, 6), 9), status=Order.Status.REFUNDED)
    _sell(store_a, fruit, 30, _at(dt.date(2026, 8, 1), 0, 0))  # August
    _sell(store_b, rice, 2, _at(dt.date(2026, 7, 6), 9))
    return {"a": store_a, "b": store_b, "fruit_cat": fruit_cat, "rice_cat": rice_cat}


def _july(store_ids, **kwargs) -> list[LossRate]:
    return loss_rates(
        store_ids=store_ids, since=dt.date(2026, 7, 1), until=dt.date(2026, 8, 1), **kwargs
    )


def test_loss_rates_per_store_and_category_are_exact(july):
    a, b = july["a"], july["b"]
    rates = _july([a.pk, b.pk])
    assert [
        (r.store_id, r.category_name, r.lost_units, r.lost_value, r.sold_units, r.sold_value)
        for r in rates
    ] == [
        # fruit: lost 3 × 10 + 2 × 12.50 = 55, sold 20 × 10 + 4 × 12.50 = 250
        (a.pk, "水果", 5, Decimal("55.00"), 24, Decimal("250.00")),
        (a.pk, "大米", 1, Decimal("50.00"), 9, Decimal("450.00")),
        (b.pk, "水果", 4, Decimal("40.00"), 0, Decimal("0.00")),
        (b.pk, "大米", 0, Decimal("0.00"), 2, Decimal("100.00")),
    ]
    assert [rate.rate for rate in rates] == [
        Decimal("0.1803"),  # 55 / 305
        Decimal("0.1000"),  # 50 / 500
        Decimal("1.0000"),
        Decimal("0.0000"),
    ]
    assert rates[0].rate_percent == Decimal("18.03")
    assert (rates[0].is_fresh, rates[1].is_fresh) == (True, False)


def test_loss_rates_for_the_whole_store(july):
    a = july["a"]
    [rate] = _july([a.pk], by_category=False)
    assert (rate.category_id, rate.lost_units, rate.lost_value, rate.sold_value) == (
        None,
        6,
        Decimal("105.00"),
        Decimal("700.00"),
    )
    assert rate.rate == Decimal("0.1304")  # 105 / 805


def test_loss_rates_read_only_the_stores_asked_for(july):
    rates = _july([july["b"].pk])
    assert {rate.store_id for rate in rates} == {july["b"].pk}
    assert _july([]) == []


def test_a_rate_without_sales_or_losses_is_none():
    rate = LossRate(
        store_id=1,
        category_id=None,
        category_name="",
        is_fresh=False,
        lost_units=0,
        lost_value=Decimal("0.00"),
        sold_units=0,
        sold_value=Decimal("0.00"),
    )
    assert rate.rate is None
    assert rate.rate_percent is None


def _plain_rates(store_ids: set[int], start: dt.datetime, end: dt.datetime) -> dict:
    """The same figures from plain Python over every row."""
    figures: dict = defaultdict(lambda: [0, Decimal("0"), 0, Decimal("0")])
    for movement in StockMovement.objects.select_related("product"):
        if (
            movement.kind == "loss"
            and movement.store_id in store_ids
            and start <= movement.created_at < end
        ):
            entry = figures[movement.store_id, movement.product.category_id]
            entry[0] -= movement.quantity
            entry[1] -= movement.quantity * movement.product.price
    for line in OrderLine.objects.select_related("order", "product"):
        order = line.order
        if (
            order.store_id in store_ids
            and start <= order.placed_at < end
            and order.status not in ("cancelled", "refunded")
        ):
            entry = figures[order.store_id, line.product.category_id]
            entry[2] += line.quantity
            entry[3] += line.quantity * line.product.price
    return {key: tuple(value) for key, value in figures.items()}


def test_loss_rates_equal_a_plain_python_count_on_the_same_rows(july):
    # More rows on top of the fixture: random-ish but fixed losses and sales.
    stores = [july["a"], july["b"]]
    products = [
        ProductFactory(category=category, price=Decimal(price))
        for category, price in (
            (july["fruit_cat"], "3.30"),
            (july["rice_cat"], "19.90"),
            (CategoryFactory(name="饮料"), "2.50"),
        )
    ]
    for index in range(30):
        store = stores[index % 2]
        product = products[index % 3]
        day = dt.date(2026, 7, 1 + index % 31)
        level, _created = StockLevel.objects.get_or_create(
            store=store, product=product, defaults={"on_hand": 1000}
        )
        _lose(level, 1 + index % 4, _at(day, 8 + index % 12))
        _sell(store, product, 1 + index % 5, _at(day, 9 + index % 10))
    start, end = _at(dt.date(2026, 7, 1), 0), _at(dt.date(2026, 8, 1), 0)
    expected = _plain_rates({july["a"].pk}, start, end)
    got = {
        (rate.store_id, rate.category_id): (
            rate.lost_units,
            rate.lost_value,
            rate.sold_units,
            rate.sold_value,
        )
        for rate in _july([july["a"].pk])
    }
    assert got == expected
    assert len(got) == 3


def test_loss_rates_by_month_for_the_page(july):
    a = july["a"]
    monthly = store_loss_rates_by_month(store=a, today=dt.date(2026, 7, 20))
    assert (monthly.this_month, monthly.last_month) == (dt.date(2026, 7, 1), dt.date(2026, 6, 1))
    assert [
        (
            row.category_name,
            row.current.lost_value if row.current else None,
            row.previous.lost_value if row.previous else None,
        )
        for row in monthly.rows
    ] == [("水果", Decimal("55.00"), Decimal("50.00")), ("大米", Decimal("50.00"), None)]
    assert monthly.current_total.lost_value == Decimal("105.00")
    assert monthly.previous_total.lost_value == Decimal("50.00")
    assert monthly.previous_total.rate == Decimal("1.0000")


def test_loss_rates_by_month_in_january_look_at_december():
    monthly = store_loss_rates_by_month(store=StoreFactory(), today=dt.date(2027, 1, 31))
    assert (monthly.this_month, monthly.last_month) == (dt.date(2027, 1, 1), dt.date(2026, 12, 1))
    assert monthly.rows == []
    assert (monthly.current_total, monthly.previous_total) == (None, None)


def test_categories_with_sales_but_no_loss_are_left_off_the_page():
    store = StoreFactory()
    level = _level(store, on_hand=5)
    _sell(store, level.product, 2, _at(dt.date(2026, 7, 2), 9))
    monthly = store_loss_rates_by_month(store=store, today=dt.date(2026, 7, 20))
    assert monthly.rows == []
    assert monthly.current_total.rate == Decimal("0.0000")


# --- page reads -------------------------------------------------------------------------------


def test_loss_candidates_are_the_stores_products_in_stock_matching_name_barcode_or_sku():
    store = StoreFactory()
    banana = _level(store, on_hand=3, name="香蕉 1kg", barcode="6901234567890", sku="FRUIT-001")
    _level(store, on_hand=0, name="香蕉片")  # sold out here
    _level(StoreFactory(), on_hand=9, name="香蕉牛奶")  # another store's
    plantain = _level(store, on_hand=1, name="小米蕉香蕉")
    # Ordered by name (the database's collation decides how Chinese names sort).
    assert set(store_loss_candidates(store=store, query=" 香蕉 ")) == {banana, plantain}
    assert store_loss_candidates(store=store, query="690123") == [banana]
    assert store_loss_candidates(store=store, query="fruit-0") == [banana]
    assert store_loss_candidates(store=store, query="4567890") == []
    assert store_loss_candidates(store=store, query="  ") == []


def test_stocked_products_are_the_ones_with_units_here():
    store = StoreFactory()
    kept = _level(store, on_hand=1)
    _level(store, on_hand=0)
    _level(StoreFactory(), on_hand=5)
    assert list(store_stocked_products(store=store)) == [kept.product]


def test_recent_losses_are_this_stores_loss_rows_since_newest_first():
    store = StoreFactory()
    level = _level(store, on_hand=50)
    _lose(level, 1, _at(DAY, 9))
    _lose(level, 2, _at(DAY, 10))
    _lose(level, 3, _at(DAY - dt.timedelta(days=1), 23, 59))  # before `since`
    _lose(_level(on_hand=5), 1, _at(DAY, 11))  # another store
    stock_move(store=store, product=level.product, kind="sale", quantity=-1, at=_at(DAY, 12))
    losses = store_recent_losses(store=store, since=_at(DAY, 0))
    assert [movement.quantity for movement in losses] == [-2, -1]


# --- KPI snapshot -----------------------------------------------------------------------------


def _kpis() -> list[tuple]:
    return list(
        StoreKpiSnapshot.objects.order_by("store__code").values_list(
            "store__code", "day", "order_count", "revenue", "loss_value"
        )
    )


def test_kpi_snapshot_holds_the_days_loss_value_at_the_products_price():
    selling, idle = StoreFactory(code="K1"), StoreFactory(code="K2")
    StoreFactory(code="K3")  # neither sold nor lost: no row
    fruit = _level(selling, on_hand=20, price=Decimal("7.50"))
    rice = _level(selling, on_hand=20, price=Decimal("49.90"))
    idle_fruit = StockLevelFactory(store=idle, product=fruit.product, on_hand=5)
    _lose(fruit, 2, _at(DAY, 0, 0))
    _lose(rice, 1, _at(DAY, 23, 59))
    _lose(fruit, 9, _at(DAY - dt.timedelta(days=1), 23, 59))  # the day before
    _lose(idle_fruit, 1, _at(DAY, 12))
    stock_move(  # not a loss
        store=selling, product=rice.product, kind="adjustment", quantity=-3, at=_at(DAY, 13)
    )
    _sell(selling, fruit.product, 1, _at(DAY, 9))
    assert store_kpi_snapshots_compute(day=DAY, refunds=refunds_by_store) == 2
    assert _kpis() == [
        ("K1", DAY, 1, Decimal("1.00"), Decimal("64.90")),
        ("K2", DAY, 0, Decimal("0.00"), Decimal("7.50")),
    ]
    # Rerun: the same rows; a loss recorded since is picked up.
    _lose(idle_fruit, 2, _at(DAY, 18))
    assert store_kpi_snapshots_compute(day=DAY, refunds=refunds_by_store) == 2
    assert _kpis()[1] == ("K2", DAY, 0, Decimal("0.00"), Decimal("22.50"))


def test_store_loss_values_sum_per_store_in_sql():
    level = _level(on_hand=10, price=Decimal("3.33"))
    _lose(level, 3, _at(DAY, 9))
    assert store_loss_values(start=_at(DAY, 0), end=_at(DAY + dt.timedelta(days=1), 0)) == {
        level.store_id: Decimal("9.99")
    }
    assert store_loss_values(start=_at(DAY, 10), end=_at(DAY, 11)) == {}


def _all_kpis() -> list[tuple]:
    return list(
        StoreKpiSnapshot.objects.order_by("store__code", "day").values_list(
            "store__code", "day", "order_count", "revenue", "member_count", "loss_value"
        )
    )


def test_loss_values_refresh_leaves_what_the_daily_compute_leaves():
    days = [DAY + dt.timedelta(days=offset) for offset in range(3)]
    selling, idle = StoreFactory(code="R1"), StoreFactory(code="R2")
    fruit = _level(selling, on_hand=50, price=Decimal("4.20"))
    idle_fruit = StockLevelFactory(store=idle, product=fruit.product, on_hand=50)
    for day in days:
        _sell(selling, fruit.product, 2, _at(day, 10))
    for day in days:
        store_kpi_snapshots_compute(day=day, refunds=refunds_by_store)
    # Losses written after the snapshots (as the demo's bulk insert does), some outside.
    _lose(fruit, 1, _at(days[0], 0, 0))
    _lose(fruit, 2, _at(days[2], 23, 59))
    _lose(idle_fruit, 3, _at(days[1], 12))
    _lose(idle_fruit, 4, _at(days[2] + dt.timedelta(days=1), 0, 0))  # after the range
    assert store_kpi_loss_values_refresh(first_day=days[0], last_day=days[2]) == 3
    refreshed = _all_kpis()
    assert store_kpi_loss_values_refresh(first_day=days[0], last_day=days[2]) == 3
    assert _all_kpis() == refreshed
    for day in days:
        store_kpi_snapshots_compute(day=day, refunds=refunds_by_store)
    assert _all_kpis() == refreshed
    assert [row[0:2] + row[5:] for row in refreshed] == [
        ("R1", days[0], Decimal("4.20")),
        ("R1", days[1], Decimal("0.00")),
        ("R1", days[2], Decimal("8.40")),
        ("R2", days[1], Decimal("12.60")),
    ]


def test_loss_values_refresh_drops_a_loss_only_row_whose_loss_is_gone():
    level = _level(on_hand=5, price=Decimal("2.00"))
    _lose(level, 1, _at(DAY, 9))
    store_kpi_snapshots_compute(day=DAY, refunds=refunds_by_store)
    assert StoreKpiSnapshot.objects.get().loss_value == Decimal("2.00")
    StockMovement.objects.all().delete()
    assert store_kpi_loss_values_refresh(first_day=DAY, last_day=DAY) == 0
    assert not StoreKpiSnapshot.objects.exists()
