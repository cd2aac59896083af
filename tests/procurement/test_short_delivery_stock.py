"""A short delivery does not leave the shelf's on-hand low: a 接龙 join takes its units from
stock when it is made, the member collects only what arrived, so receiving gives back what
the order took for the units that came short (or damaged). After pickup the ledger's on-hand
is what is physically there (docs/delivery-and-receiving.md, docs/pickup.md).

The orders here are a stock offer's formed before such orders were made ready at settlement
(`LEGACY_SETTLEMENT`): paid and on a purchase order, as some still are."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.campaigns.models import GroupBuyOffer
from apps.campaigns.services.group_buys import (
    SettleSources,
    group_buy_offers_settle,
    jielong_import,
)
from apps.procurement.models import PurchaseOrder
from apps.procurement.services.consolidation import purchase_orders_consolidate
from apps.procurement.services.pickup import COLLECTED, pickup_verify
from apps.procurement.services.receiving import receipt_record
from apps.stores.models import Order, OrderFulfilment, StockLevel, StockMovement
from tests.campaigns.factories import BroadcastFactory, GroupBuyOfferFactory
from tests.factories import ProductFactory, StockLevelFactory, SupplierProductFactory
from tests.procurement.factories_supply import purchase_order_move

pytestmark = pytest.mark.django_db

ON_HAND = 10
# Settlement as it was before a formed offer that sold from stock had its orders made ready at
# once: such orders stayed paid and were consolidated onto purchase orders, and those purchase
# orders are still received and their orders collected or cancelled. These tests keep that
# handling right; today's settlement is tested in tests/procurement/test_settlement_supply.py.
LEGACY_SETTLEMENT = SettleSources(orders_ready=lambda **_settled: 0)


def _joined(store, owner, *, quantity: int) -> tuple[Order, object]:
    """The owner pastes a 接龙 line (the join takes `quantity` boxes from the shelf), the
    offer forms, the order is consolidated and its purchase order shipped."""
    product = ProductFactory(name="蓝莓")
    SupplierProductFactory(product=product, pack_size=1, min_order_qty=1)
    StockLevelFactory(store=store, product=product, on_hand=ON_HAND)
    broadcast = BroadcastFactory(store_campaign__store=store)
    offer = GroupBuyOfferFactory(broadcast=broadcast, product=product, threshold=1, cap=20)
    assert jielong_import(
        broadcast=broadcast, text=f"1. 李阿姨 蓝莓×{quantity}\n", by=owner
    ).written
    group_buy_offers_settle(sources=LEGACY_SETTLEMENT, now=offer.deadline + dt.timedelta(seconds=1))
    offer.refresh_from_db()
    assert offer.status == GroupBuyOffer.Status.FORMED
    purchase_orders_consolidate(
        cutoff=timezone.now().replace(microsecond=0) + dt.timedelta(seconds=1)
    )
    order = Order.objects.get(channel="group_buy")
    purchase_order = PurchaseOrder.objects.get(lines__sources__order_line__order=order)
    purchase_order_move(purchase_order, status=PurchaseOrder.Status.SHIPPED)
    return order, product


def _on_hand(store, product) -> int:
    return StockLevel.objects.get(store=store, product=product).on_hand


def _receive(order: Order, store, owner, lines: tuple[int, int, int]) -> None:
    purchase_order = PurchaseOrder.objects.get(lines__sources__order_line__order=order)
    allocation = purchase_order.lines.get().allocations.get(store=store)
    receipt_record(
        purchase_order=purchase_order, store=store, lines={allocation.pk: lines}, by=owner
    )


def _collect(order: Order, store, owner) -> None:
    code = OrderFulfilment.objects.get(pk=order.pk).pickup_code
    [result] = pickup_verify(store=store, codes=[code], by=owner)
    assert result.outcome == COLLECTED


def test_a_member_collecting_a_partly_short_order_leaves_on_hand_as_the_shelf_is(store, owner):
    """The join took 3 of the 10; 1 came, 2 short. On the shelf after pickup: the 10 from
    before (the join's 3 never left) and the 1 that came, less the 1 handed over: 10."""
    order, product = _joined(store, owner, quantity=3)
    assert _on_hand(store, product) == ON_HAND - 3

    _receive(order, store, owner, (1, 2, 0))

    order.refresh_from_db()
    assert order.status == Order.Status.READY
    # The 2 short units the order took go back now: it will hand over only the 1 that came.
    returned = StockMovement.objects.get(order=order, kind="return")
    assert (returned.quantity, returned.created_by) == (2, owner)
    assert _on_hand(store, product) == ON_HAND
    _collect(order, store, owner)
    physically_there = ON_HAND + 1 - 1
    assert _on_hand(store, product) == physically_there


def test_damaged_units_count_as_short_for_the_shelf_too(store, owner):
    """The join took 3; 1 came whole, 1 short, 1 damaged (never enters stock). The member
    takes the 1 whole box: 10 left on the shelf."""
    order, product = _joined(store, owner, quantity=3)

    _receive(order, store, owner, (1, 1, 1))
    _collect(order, store, owner)

    assert _on_hand(store, product) == ON_HAND
    assert list(
        StockMovement.objects.filter(order=order, kind="return").values_list("quantity", flat=True)
    ) == [2]


def test_a_full_delivery_returns_nothing(store, owner):
    order, product = _joined(store, owner, quantity=3)
    _receive(order, store, owner, (3, 0, 0))
    _collect(order, store, owner)
    assert not StockMovement.objects.filter(order=order, kind="return").exists()
    assert _on_hand(store, product) == ON_HAND
