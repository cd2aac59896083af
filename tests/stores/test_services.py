from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from apps.stores.models import Order, OrderLine, StockLevel, StockMovement
from apps.stores.services.orders import LineInput, order_create
from apps.stores.services.stock import InsufficientStock, stock_move
from tests.factories import ProductFactory, StockLevelFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_stock_move_receipt_creates_level_and_ledger_row():
    store = StoreFactory()
    product = ProductFactory()
    stock_move(store=store, product=product, kind=StockMovement.Kind.RECEIPT, quantity=12)
    assert StockLevel.objects.get(store=store, product=product).on_hand == 12
    assert list(StockMovement.objects.values_list("kind", "quantity")) == [("receipt", 12)]


def test_stock_move_refuses_to_go_below_zero_and_writes_nothing():
    level = StockLevelFactory(on_hand=3)
    with pytest.raises(InsufficientStock):
        stock_move(
            store=level.store, product=level.product, kind=StockMovement.Kind.SALE, quantity=-4
        )
    level.refresh_from_db()
    assert level.on_hand == 3
    assert StockMovement.objects.count() == 0


def test_order_create_is_idempotent_per_store_key():
    level = StockLevelFactory(on_hand=10)
    lines = [LineInput(product=level.product, quantity=2, unit_price=Decimal("9.90"))]
    first, created = order_create(
        store=level.store, channel=Order.Channel.POS, idempotency_key="till-1-0001", lines=lines
    )
    again, created_again = order_create(
        store=level.store, channel=Order.Channel.POS, idempotency_key="till-1-0001", lines=lines
    )
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert first.total == Decimal("19.80")
    level.refresh_from_db()
    assert level.on_hand == 8
    assert Order.objects.count() == 1


def test_order_create_with_missing_stock_leaves_nothing_half_written():
    store = StoreFactory()
    stocked = StockLevelFactory(store=store, on_hand=5)
    short = StockLevelFactory(store=store, on_hand=1)
    lines = [
        LineInput(product=stocked.product, quantity=2, unit_price=Decimal("5.00")),
        LineInput(product=short.product, quantity=2, unit_price=Decimal("5.00")),
    ]
    with pytest.raises(InsufficientStock):
        order_create(store=store, channel=Order.Channel.POS, idempotency_key="k", lines=lines)
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0
    assert StockMovement.objects.count() == 0
    stocked.refresh_from_db()
    assert stocked.on_hand == 5


def test_order_create_rejects_non_positive_quantity():
    level = StockLevelFactory(on_hand=5)
    with pytest.raises(ValidationError):
        order_create(
            store=level.store,
            channel=Order.Channel.POS,
            idempotency_key="k",
            lines=[LineInput(product=level.product, quantity=0, unit_price=Decimal("1.00"))],
        )
    assert Order.objects.count() == 0


def test_order_create_refuses_the_imported_orders_key_prefix_even_for_an_existing_order():
    level = StockLevelFactory(on_hand=10)
    imported = Order.objects.create(
        store=level.store, channel=Order.Channel.POS, idempotency_key="import:T1-0001"
    )
    lines = [LineInput(product=level.product, quantity=1, unit_price=Decimal("9.90"))]
    with pytest.raises(ValidationError) as refused:
        order_create(
            store=imported.store,
            channel=Order.Channel.POS,
            idempotency_key="import:T1-0001",
            lines=lines,
        )
    assert "idempotency_key" in refused.value.message_dict
    assert Order.objects.count() == 1
    level.refresh_from_db()
    assert level.on_hand == 10


def test_selling_exactly_the_quantity_on_hand_succeeds_and_leaves_zero():
    level = StockLevelFactory(on_hand=3)
    lines = [LineInput(product=level.product, quantity=3, unit_price=Decimal("2.50"))]
    order, created = order_create(
        store=level.store, channel=Order.Channel.POS, idempotency_key="exact", lines=lines
    )
    assert created is True
    level.refresh_from_db()
    assert level.on_hand == 0
    assert list(StockMovement.objects.values_list("order_id", "kind", "quantity")) == [
        (order.pk, "sale", -3)
    ]


def test_selling_one_more_than_on_hand_is_refused_and_writes_nothing():
    level = StockLevelFactory(on_hand=3)
    lines = [LineInput(product=level.product, quantity=4, unit_price=Decimal("2.50"))]
    with pytest.raises(InsufficientStock):
        order_create(
            store=level.store, channel=Order.Channel.POS, idempotency_key="over", lines=lines
        )
    level.refresh_from_db()
    assert level.on_hand == 3
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0
    assert StockMovement.objects.count() == 0


def test_stock_move_removing_exactly_the_quantity_on_hand_leaves_zero():
    level = StockLevelFactory(on_hand=7)
    movement = stock_move(
        store=level.store, product=level.product, kind=StockMovement.Kind.SALE, quantity=-7
    )
    level.refresh_from_db()
    assert level.on_hand == 0
    assert (movement.kind, movement.quantity) == ("sale", -7)


def test_stock_move_receipt_of_one_unit_adds_one():
    store = StoreFactory()
    product = ProductFactory()
    stock_move(store=store, product=product, kind=StockMovement.Kind.RECEIPT, quantity=1)
    assert StockLevel.objects.get(store=store, product=product).on_hand == 1


def test_stock_move_refuses_a_zero_quantity_and_writes_nothing():
    level = StockLevelFactory(on_hand=3)
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        stock_move(
            store=level.store, product=level.product, kind=StockMovement.Kind.ADJUSTMENT, quantity=0
        )
    assert refused.value.messages == ["A stock movement needs a non-zero quantity."]
    assert not isinstance(refused.value, InsufficientStock)
    level.refresh_from_db()
    assert level.on_hand == 3
    assert StockMovement.objects.count() == 0


def test_insufficient_stock_names_the_product_the_store_and_what_is_in_stock():
    level = StockLevelFactory(
        on_hand=3,
        product__sku="MILK-1",
        product__name="Fresh milk 1L",
        store__code="S0042",
        store__name="Linli Garden Road",
    )
    with translation.override("en"), pytest.raises(InsufficientStock) as refused:
        stock_move(
            store=level.store, product=level.product, kind=StockMovement.Kind.SALE, quantity=-4
        )
    assert refused.value.messages == [
        "Not enough stock of Fresh milk 1L at Linli Garden Road: 3 in stock, 4 needed."
    ]
    assert (refused.value.available, refused.value.requested) == (3, 4)
    with translation.override("zh-hans"), pytest.raises(InsufficientStock) as in_chinese:
        stock_move(
            store=level.store, product=level.product, kind=StockMovement.Kind.SALE, quantity=-4
        )
    # No space around 的: "邻里优选·翠苑店的云南蓝莓 大果 250g 库存不足".
    assert in_chinese.value.messages == [
        "Linli Garden Road的Fresh milk 1L 库存不足：现有 3，需要 4。"
    ]


def test_stock_move_takes_stock_only_from_its_own_store():
    here = StockLevelFactory(on_hand=5)
    there = StockLevelFactory(product=here.product, on_hand=5)
    stock_move(store=here.store, product=here.product, kind=StockMovement.Kind.SALE, quantity=-2)
    here.refresh_from_db()
    there.refresh_from_db()
    assert (here.on_hand, there.on_hand) == (3, 5)


@pytest.mark.parametrize("quantity", [4, -4])
def test_stock_move_stamps_the_level_as_updated(quantity):
    level = StockLevelFactory(on_hand=10)
    long_ago = timezone.now() - dt.timedelta(days=30)
    StockLevel.objects.filter(pk=level.pk).update(updated_at=long_ago)
    before = timezone.now()
    stock_move(
        store=level.store,
        product=level.product,
        kind=StockMovement.Kind.ADJUSTMENT,
        quantity=quantity,
    )
    level.refresh_from_db()
    assert level.updated_at >= before


def test_stock_move_records_the_order_note_author_and_time():
    level = StockLevelFactory(on_hand=10)
    order = Order.objects.create(store=level.store, channel=Order.Channel.POS, idempotency_key="k")
    clerk = UserFactory()
    at = timezone.now() - dt.timedelta(hours=2)
    stock_move(
        store=level.store,
        product=level.product,
        kind=StockMovement.Kind.SALE,
        quantity=-1,
        order=order,
        note="till 3",
        by=clerk,
        at=at,
    )
    movement = StockMovement.objects.get()
    assert (movement.order, movement.note, movement.created_by, movement.created_at) == (
        order,
        "till 3",
        clerk,
        at,
    )


def test_stock_move_without_details_leaves_them_empty_and_stamps_now():
    level = StockLevelFactory(on_hand=10)
    before = timezone.now()
    stock_move(
        store=level.store, product=level.product, kind=StockMovement.Kind.ADJUSTMENT, quantity=-1
    )
    movement = StockMovement.objects.get()
    assert (movement.order, movement.note, movement.created_by) == (None, "", None)
    assert before <= movement.created_at <= timezone.now()
