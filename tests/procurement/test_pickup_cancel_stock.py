"""Cancelling a member order before pickup gives back exactly the units it took from stock and
has not got back, whatever stage its supply is at (docs/pickup.md, "Cancelling before
pickup"): a 接龙 join takes its units when it is made, so a paid order still waiting for its
purchase order owes them as much as a ready one.

The orders here are a stock offer's formed before such orders were made ready at settlement
(`LEGACY_SETTLEMENT`): paid and on a purchase order, as some still are."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.campaigns.models import GroupBuyOffer
from apps.campaigns.services.group_buys import (
    SettleSources,
    group_buy_offers_settle,
    jielong_import,
)
from apps.procurement.models import PurchaseOrder, PurchaseOrderException, PurchaseOrderLine
from apps.procurement.services.consolidation import purchase_orders_consolidate
from apps.procurement.services.pickup import (
    PickupRefused,
    fulfilments_ready,
    order_cancel_before_pickup,
)
from apps.procurement.services.receiving import receipt_record
from apps.stores.models import Order, StockLevel, StockMovement
from apps.stores.services.stock import stock_move
from tests.campaigns.factories import BroadcastFactory, GroupBuyOfferFactory
from tests.factories import ProductFactory, StockLevelFactory, SupplierProductFactory
from tests.procurement.factories import supply_order
from tests.procurement.factories_supply import purchase_order_move

pytestmark = pytest.mark.django_db

ON_HAND = 10
# Settlement as it was before a formed offer that sold from stock had its orders made ready at
# once: such orders stayed paid and were consolidated onto purchase orders, and those purchase
# orders are still received and their orders collected or cancelled. These tests keep that
# handling right; today's settlement is tested in tests/procurement/test_settlement_supply.py.
LEGACY_SETTLEMENT = SettleSources(orders_ready=lambda **_settled: 0)


def _joined_and_formed(store, owner, *, quantity: int = 2) -> tuple[Order, GroupBuyOffer]:
    """The walkthrough: the owner pastes a 接龙 line on the broadcast page (the join takes
    stock), the offer forms at its deadline, and the order is consolidated onto a purchase
    order sent to the supplier."""
    product = ProductFactory(name="蓝莓")
    SupplierProductFactory(product=product, pack_size=1, min_order_qty=1)
    StockLevelFactory(store=store, product=product, on_hand=ON_HAND)
    broadcast = BroadcastFactory(store_campaign__store=store)
    offer = GroupBuyOfferFactory(broadcast=broadcast, product=product, threshold=1, cap=20)
    report = jielong_import(broadcast=broadcast, text=f"1. 李阿姨 蓝莓×{quantity}\n", by=owner)
    assert report.written is True
    assert _on_hand(store, product) == ON_HAND - quantity
    group_buy_offers_settle(sources=LEGACY_SETTLEMENT, now=offer.deadline + dt.timedelta(seconds=1))
    offer.refresh_from_db()
    assert offer.status == GroupBuyOffer.Status.FORMED
    purchase_orders_consolidate(
        cutoff=timezone.now().replace(microsecond=0) + dt.timedelta(seconds=1)
    )
    order = Order.objects.get(channel="group_buy")
    assert order.status == Order.Status.PAID
    return order, offer


def _on_hand(store, product) -> int:
    return StockLevel.objects.get(store=store, product=product).on_hand


def _purchase_order(order: Order) -> PurchaseOrder:
    return PurchaseOrder.objects.get(lines__sources__order_line__order=order)


def _returns(order: Order) -> list[tuple[int, int]]:
    return list(
        StockMovement.objects.filter(order=order, kind="return").values_list(
            "product_id", "quantity"
        )
    )


def _receive(order: Order, store, owner, *, received: int, short: int) -> None:
    purchase_order = purchase_order_move(
        _purchase_order(order), status=PurchaseOrder.Status.SHIPPED
    )
    allocation = purchase_order.lines.get().allocations.get(store=store)
    receipt_record(
        purchase_order=purchase_order,
        store=store,
        lines={allocation.pk: (received, short, 0)},
        by=owner,
    )


def test_cancelling_a_paid_order_still_waiting_for_supply_returns_what_its_join_took(
    client, store, owner
):
    order, offer = _joined_and_formed(store, owner)
    purchase_order = _purchase_order(order)
    assert purchase_order.status == PurchaseOrder.Status.SENT
    client.force_login(owner)
    url = reverse("supply:pickup_cancel", args=[store.pk, order.pk])
    assert client.post(url, {"reason": "不要了"}).status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert _returns(order) == [(offer.product_id, 2)]
    movement = StockMovement.objects.get(order=order, kind="return")
    assert movement.created_by == owner
    assert "不要了" in movement.note
    # The stock is whole again and the purchase order no longer brings the 2 boxes.
    assert _on_hand(store, offer.product) == ON_HAND
    purchase_order.refresh_from_db()
    assert purchase_order.status == PurchaseOrder.Status.CANCELLED


def test_cancelling_after_the_supplier_confirmed_returns_the_units_and_the_delivery_adds_its_own(
    store, owner
):
    order, offer = _joined_and_formed(store, owner)
    purchase_order_move(_purchase_order(order), status=PurchaseOrder.Status.CONFIRMED)
    order_cancel_before_pickup(store=store, order_id=order.pk, by=owner, reason="")
    assert _returns(order) == [(offer.product_id, 2)]
    assert PurchaseOrderException.objects.filter(store=store).count() == 1
    assert _on_hand(store, offer.product) == ON_HAND
    # The purchase order stood: its 2 boxes arrive and go on the shelf too.
    _receive(order, store, owner, received=2, short=0)
    assert _on_hand(store, offer.product) == ON_HAND + 2


def test_cancelling_a_ready_order_returns_what_its_join_took_once(store, owner):
    order, offer = _joined_and_formed(store, owner)
    _receive(order, store, owner, received=2, short=0)
    order.refresh_from_db()
    assert order.status == Order.Status.READY
    assert _on_hand(store, offer.product) == ON_HAND
    order_cancel_before_pickup(store=store, order_id=order.pk, by=owner, reason="")
    assert _returns(order) == [(offer.product_id, 2)]
    assert _on_hand(store, offer.product) == ON_HAND + 2
    with pytest.raises(PickupRefused) as refused:
        order_cancel_before_pickup(store=store, order_id=order.pk, by=owner, reason="")
    assert refused.value.code == "not_cancellable"
    assert _returns(order) == [(offer.product_id, 2)]
    assert _on_hand(store, offer.product) == ON_HAND + 2


def test_cancelling_an_order_its_delivery_came_partly_short_returns_all_it_took(store, owner):
    """The join took 3; 1 came, 2 short. Receiving gave the 2 short units back (the order
    will hand over only the 1 that came); cancelling gives back the last one. On the shelf:
    the 10 from before and the 1 that came, all free again once the order is cancelled."""
    order, offer = _joined_and_formed(store, owner, quantity=3)
    _receive(order, store, owner, received=1, short=2)
    order.refresh_from_db()
    assert order.status == Order.Status.READY
    assert PurchaseOrderLine.objects.get(product=offer.product).shortage_quantity == 2
    assert _returns(order) == [(offer.product_id, 2)]
    assert _on_hand(store, offer.product) == ON_HAND
    order_cancel_before_pickup(store=store, order_id=order.pk, by=owner, reason="")
    assert sorted(_returns(order)) == [(offer.product_id, 1), (offer.product_id, 2)]
    assert _on_hand(store, offer.product) == ON_HAND + 1


def test_cancelling_returns_only_what_was_not_given_back_already(store, owner):
    order, offer = _joined_and_formed(store, owner, quantity=3)
    stock_move(store=store, product=offer.product, kind="return", quantity=1, order=order)
    order_cancel_before_pickup(store=store, order_id=order.pk, by=owner, reason="")
    assert sorted(_returns(order)) == [(offer.product_id, 1), (offer.product_id, 2)]
    assert _on_hand(store, offer.product) == ON_HAND


def test_cancelling_an_order_that_took_no_stock_returns_none(store, owner):
    """An order whose sale never went through the ledger (made without taking stock) owes
    the shelf nothing, even once its goods arrived."""
    product = ProductFactory()
    StockLevelFactory(store=store, product=product, on_hand=ON_HAND)
    order = supply_order(store=store, lines=[(product, 3)])
    fulfilments_ready(store_id=store.pk, order_ids=[order.pk], by=None)
    order_cancel_before_pickup(store=store, order_id=order.pk, by=owner, reason="")
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert StockMovement.objects.filter(order=order).count() == 0
    assert _on_hand(store, product) == ON_HAND


def test_each_product_of_a_many_line_order_gets_back_its_own_units(store, owner):
    first, second = ProductFactory(), ProductFactory()
    for product in (first, second):
        StockLevelFactory(store=store, product=product, on_hand=ON_HAND)
    order = supply_order(store=store, lines=[(first, 2), (second, 4)])
    for product, units in ((first, 2), (second, 4)):
        stock_move(store=store, product=product, kind="sale", quantity=-units, order=order)
    fulfilments_ready(store_id=store.pk, order_ids=[order.pk], by=None)
    order_cancel_before_pickup(store=store, order_id=order.pk, by=owner, reason="")
    assert sorted(_returns(order)) == sorted([(first.pk, 2), (second.pk, 4)])
    assert (_on_hand(store, first), _on_hand(store, second)) == (ON_HAND, ON_HAND)
