from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from apps.stores.models import Order, OrderLine, StockLevel, StockMovement
from apps.stores.services.orders import LineInput, order_create
from apps.stores.services.stock import InsufficientStock, stock_move
from tests.factories import ProductFactory, StockLevelFactory, StoreFactory

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
