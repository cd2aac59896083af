"""What a settlement leaves to the suppliers (docs/group-buys.md "Settlement",
docs/purchasing.md "Which order lines are consolidated"): a formed offer that sold from stock
took its units from the shelf when each member joined, so its orders are ready at settlement
and consolidation does not buy them again; a formed pre-order's orders stay paid and go on the
supplier's purchase order, and become ready at receiving."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.campaigns.models import GroupBuyOffer, Notification
from apps.campaigns.selectors.broadcasts import JoinState, join_state
from apps.campaigns.services.group_buys import group_buy_join, group_buy_offers_settle
from apps.campaigns.sources import orders_units_short, settle_sources
from apps.procurement.models import PurchaseOrderLine, PurchaseOrderSource
from apps.procurement.selectors.purchase_orders import store_on_order
from apps.procurement.services.consolidation import purchase_orders_consolidate
from apps.procurement.services.pickup import order_cancel_before_pickup
from apps.procurement.tasks import purchase_orders_consolidate_task
from apps.stores.models import Order, OrderFulfilment, StockLevel
from tests.campaigns.factories import BroadcastFactory, GroupBuyOfferFactory
from tests.factories import (
    MemberFactory,
    ProductFactory,
    StockLevelFactory,
    SupplierProductFactory,
)

pytestmark = pytest.mark.django_db

ON_HAND = 30


def _offer(store, *, name: str, presale: bool, quantities: list[int]) -> GroupBuyOffer:
    """An offer of a supplied product (packs of 1) at `store`, joined by one member per
    quantity; the store holds `ON_HAND` of it unless the offer is a pre-order."""
    product = ProductFactory(name=name)
    SupplierProductFactory(product=product, pack_size=1, min_order_qty=1, lead_time_days=1)
    if not presale:
        StockLevelFactory(store=store, product=product, on_hand=ON_HAND)
    broadcast = BroadcastFactory(store_campaign__store=store)
    offer = GroupBuyOfferFactory(
        broadcast=broadcast, product=product, threshold=1, cap=40, presale=presale
    )
    for index, quantity in enumerate(quantities):
        group_buy_join(
            offer=offer,
            quantity=quantity,
            idempotency_key=f"{name}-{index}",
            member=MemberFactory(home_store=store),
        )
    return offer


def _orders(offer: GroupBuyOffer) -> list[Order]:
    return list(Order.objects.filter(group_buy_join__offer=offer).order_by("pk"))


def _consolidated_units() -> dict[str, int]:
    return {
        line.product.name: line.demanded_quantity
        for line in PurchaseOrderLine.objects.select_related("product")
    }


def test_a_formed_stock_offer_is_ready_at_settlement_and_consolidation_buys_none_of_it(store):
    offer = _offer(store, name="蓝莓", presale=False, quantities=[2, 3])
    now = offer.deadline + dt.timedelta(seconds=1)
    assert group_buy_offers_settle(sources=settle_sources(), now=now).formed == [offer.pk]
    orders = _orders(offer)
    assert [order.status for order in orders] == [Order.Status.READY, Order.Status.READY]
    fulfilments = OrderFulfilment.objects.filter(pk__in=[order.pk for order in orders])
    assert sorted(fulfilments.values_list("status", flat=True)) == ["ready", "ready"]
    assert all(len(code) == 6 for code in fulfilments.values_list("pickup_code", flat=True))
    assert Notification.objects.filter(kind="order_ready").count() == 2

    run = purchase_orders_consolidate(cutoff=now + dt.timedelta(minutes=1))
    assert run.source_line_count == 0
    assert not PurchaseOrderSource.objects.exists()
    assert not PurchaseOrderLine.objects.exists()
    # The shelf gave the units: it is lower, and nothing is on order for it — the decision
    # engine's suggestion (on-hand + on order) refills it.
    assert StockLevel.objects.get(store=store, product=offer.product).on_hand == ON_HAND - 5
    assert store_on_order(store_id=store.pk, today=timezone.localdate(now)) == {}
    # The join list shows 待自提 at once; nothing comes short at receiving for it.
    assert {join_state(join) for join in offer.joins.select_related("order")} == {JoinState.READY}
    assert orders_units_short(order_ids=[order.pk for order in orders]) == {}


def test_a_formed_pre_order_is_consolidated_and_waits_for_the_delivery(store):
    offer = _offer(store, name="树莓", presale=True, quantities=[2, 3])
    now = offer.deadline + dt.timedelta(seconds=1)
    group_buy_offers_settle(sources=settle_sources(), now=now)
    orders = _orders(offer)
    assert [order.status for order in orders] == [Order.Status.PAID, Order.Status.PAID]
    assert not Notification.objects.filter(kind="order_ready").exists()

    purchase_orders_consolidate(cutoff=now + dt.timedelta(minutes=1))
    assert _consolidated_units() == {"树莓": 5}
    assert {join_state(join) for join in offer.joins.select_related("order")} == {
        JoinState.CONFIRMED
    }


def test_a_mixed_settlement_puts_only_the_pre_order_on_the_purchase_order(
    store, django_capture_on_commit_callbacks, broker_queue
):
    stock = _offer(store, name="蓝莓", presale=False, quantities=[4, 1])
    presale = _offer(store, name="树莓", presale=True, quantities=[3, 2, 2])
    now = max(stock.deadline, presale.deadline) + dt.timedelta(seconds=1)
    with django_capture_on_commit_callbacks() as callbacks:
        result = group_buy_offers_settle(sources=settle_sources(), now=now)
    for callback in callbacks:  # the broker sends, not the live dashboard's notices
        if callback.__qualname__ == "enqueue_on_commit.<locals>.enqueue":
            callback()
    assert sorted(result.formed) == sorted([stock.pk, presale.pk])
    consolidations = [
        (args, kwargs)
        for name, args, kwargs in broker_queue.sent()
        if name == purchase_orders_consolidate_task.name
    ]
    assert consolidations == [([], {"cutoff": now.isoformat()})]
    [(args, kwargs)] = consolidations
    purchase_orders_consolidate_task(*args, **kwargs)  # what the worker runs

    assert _consolidated_units() == {"树莓": 7}
    consolidated = set(PurchaseOrderSource.objects.values_list("order_line__order_id", flat=True))
    assert consolidated == {order.pk for order in _orders(presale)}
    assert {order.status for order in _orders(stock)} == {Order.Status.READY}


def test_cancelling_a_stock_order_ready_at_settlement_puts_its_units_back(store, owner):
    offer = _offer(store, name="蓝莓", presale=False, quantities=[3])
    group_buy_offers_settle(sources=settle_sources(), now=offer.deadline + dt.timedelta(seconds=1))
    [order] = _orders(offer)
    assert StockLevel.objects.get(store=store, product=offer.product).on_hand == ON_HAND - 3
    order_cancel_before_pickup(store=store, order_id=order.pk, by=owner, reason="不要了")
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert StockLevel.objects.get(store=store, product=offer.product).on_hand == ON_HAND
    assert not PurchaseOrderSource.objects.exists()
