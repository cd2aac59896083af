"""What is "on order" is what will reach the store's shelf (docs/purchasing.md "Replenishment and
'on order'"): a pre-order's units come for its members, who take them off the shelf again as
their orders become ready, so they are not on order — only its shelf units of the rounding
surplus are; the units of member orders that took stock from the shelf refill it and are."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.campaigns.models import GroupBuyOffer
from apps.campaigns.services.group_buys import (
    SettleSources,
    group_buy_join,
    group_buy_offers_settle,
)
from apps.campaigns.sources import settle_sources
from apps.procurement.models import PurchaseOrder
from apps.procurement.selectors.purchase_orders import (
    OnOrder,
    on_order_quantities,
    store_on_order,
)
from apps.procurement.services.consolidation import purchase_orders_consolidate
from apps.procurement.services.pickup import fulfilments_ready, order_cancel_before_pickup
from apps.procurement.services.purchase_orders import purchase_order_confirm
from apps.stores.models import Order
from tests.campaigns.factories import BroadcastFactory, GroupBuyOfferFactory
from tests.factories import (
    MemberFactory,
    ProductFactory,
    StockLevelFactory,
    SupplierProductFactory,
)

pytestmark = pytest.mark.django_db

# Settlement before sold-from-stock offers were made ready at once: their orders stayed paid
# and were consolidated (tests/procurement/test_short_delivery_stock.py).
LEGACY_SETTLEMENT = SettleSources(orders_ready=lambda **_settled: 0)


def _formed(store, *, presale: bool, quantities: list[int], sources=None) -> GroupBuyOffer:
    """A formed offer of blueberries (packs of 6, minimum 12) at `store`, one member per
    quantity, consolidated onto a sent purchase order."""
    product = ProductFactory(name="蓝莓")
    SupplierProductFactory(product=product, pack_size=6, min_order_qty=12, lead_time_days=1)
    StockLevelFactory(store=store, product=product, on_hand=30)
    offer = GroupBuyOfferFactory(
        broadcast=BroadcastFactory(store_campaign__store=store),
        product=product,
        threshold=1,
        cap=40,
        presale=presale,
    )
    for index, quantity in enumerate(quantities):
        group_buy_join(
            offer=offer,
            quantity=quantity,
            idempotency_key=f"on-order-{index}",
            member=MemberFactory(home_store=store),
        )
    now = offer.deadline + dt.timedelta(seconds=1)
    group_buy_offers_settle(sources=sources or settle_sources(), now=now)
    offer.refresh_from_db()
    assert offer.status == GroupBuyOffer.Status.FORMED
    purchase_orders_consolidate(cutoff=now + dt.timedelta(minutes=1))
    return offer


def _engine(product) -> list[list[int]]:
    frame = on_order_quantities(product_ids=[product.pk], today=timezone.localdate())
    return frame.values.tolist()


def test_a_pre_order_on_an_open_purchase_order_is_not_on_order_for_the_shelf(store):
    """3 + 4 pre-ordered boxes, ordered as 12: the 5 of the surplus come for the shelf; the 7
    come for the members (each order takes its boxes off the shelf as it becomes ready)."""
    offer = _formed(store, presale=True, quantities=[3, 4])
    line = PurchaseOrder.objects.get().lines.get()
    assert (line.demanded_quantity, line.ordered_quantity, line.surplus_quantity) == (7, 12, 5)
    product = offer.product

    assert _engine(product) == [[store.pk, product.pk, 5]]
    today = timezone.localdate()
    assert store_on_order(store_id=store.pk, today=today) == {
        product.pk: OnOrder(shelf=5, for_orders=7)
    }


def test_a_pre_order_marked_ready_from_the_shelf_before_its_delivery_is_on_order(store, owner):
    """The owner hands the first member's 3 boxes over from the shelf before the orchard
    delivers: they left the shelf, and the delivery refills it."""
    offer = _formed(store, presale=True, quantities=[3, 4])
    first, _second = Order.objects.filter(group_buy_join__offer=offer).order_by("pk")
    assert fulfilments_ready(store_id=store.pk, order_ids=[first.pk], by=owner) == 1

    assert _engine(offer.product) == [[store.pk, offer.product.pk, 3 + 5]]
    assert store_on_order(store_id=store.pk, today=timezone.localdate()) == {
        offer.product.pk: OnOrder(shelf=3 + 5, for_orders=4)
    }


def test_a_stock_order_consolidated_before_is_on_order(store):
    """A sold-from-stock offer settled the old way: its joins took the 3 + 4 boxes from the
    shelf and its orders stayed paid and went on the purchase order. The delivery refills the
    shelf: all 12 are on order, nothing comes for member orders."""
    offer = _formed(store, presale=False, quantities=[3, 4], sources=LEGACY_SETTLEMENT)
    assert _engine(offer.product) == [[store.pk, offer.product.pk, 7 + 5]]
    assert store_on_order(store_id=store.pk, today=timezone.localdate()) == {
        offer.product.pk: OnOrder(shelf=12, for_orders=0)
    }


def test_a_pre_order_cancelled_after_confirmation_comes_for_the_shelf(store, owner):
    """The supplier confirmed; then the second member's order (4 boxes) is cancelled. Its
    units still come, and nobody waits for them: they go on the shelf."""
    offer = _formed(store, presale=True, quantities=[3, 4])
    purchase_order_confirm(po=PurchaseOrder.objects.get(), ship_date=timezone.localdate(), by=None)
    _first, second = Order.objects.filter(group_buy_join__offer=offer).order_by("pk")
    order_cancel_before_pickup(store=store, order_id=second.pk, by=owner, reason="不要了")

    assert _engine(offer.product) == [[store.pk, offer.product.pk, 4 + 5]]
    assert store_on_order(store_id=store.pk, today=timezone.localdate()) == {
        offer.product.pk: OnOrder(shelf=4 + 5, for_orders=3)
    }
