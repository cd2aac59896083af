"""The demo's pre-order (apps/ops/demo/presale.py): chapter 6's 以销定产 at the demo owner's store
and the next ones — yesterday's campaign whose group buy of a fruit the store holds none of is a
pre-order, joined by members, formed at its deadline (orders paid), its order lines on the
supplier's purchase order, and not one unit taken from stock. The pack's 接龙 copy promises the
offer's own 截单 and the purchase order's delivery day."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from apps.campaigns.models import GroupBuyJoin, GroupBuyOffer
from apps.campaigns.selectors.campaigns import campaign_cutoff
from apps.ops.demo.presale import presale_product_name
from apps.procurement.models import PurchaseOrderSource
from apps.stores.models import Order, OrderFulfilment, StockLevel, StockMovement, Store

pytestmark = pytest.mark.django_db

END_DAY = dt.date(2026, 12, 5)  # "today" is 6 December: 丹东草莓 is in season
TODAY = END_DAY + dt.timedelta(days=1)


@pytest.fixture
def demo() -> None:
    call_command(
        "seed_demo",
        *("--stores", "3", "--members", "200", "--days", "14"),
        *("--end-day", END_DAY.isoformat(), "--seed", "2026"),
        "--no-compute",
        stdout=StringIO(),
    )


def test_the_owners_store_has_a_formed_pre_order_of_a_fruit_it_holds_none_of(client, demo):
    store = Store.objects.get(code="HZ0001")
    offer = GroupBuyOffer.objects.select_related(
        "product", "broadcast__store_campaign__campaign"
    ).get(broadcast__store=store, presale=True)
    campaign = offer.broadcast.store_campaign.campaign

    assert offer.product.name == presale_product_name(TODAY) == "丹东草莓 500g"
    # Yesterday's one-day campaign: the pre-order's selling day, closed, the goods to come.
    assert campaign.starts_on == campaign.ends_on == END_DAY
    assert offer.status == GroupBuyOffer.Status.FORMED
    assert offer.threshold_reached
    assert StockLevel.objects.get(store=store, product=offer.product).on_hand == 0
    joins = GroupBuyJoin.objects.filter(offer=offer)
    assert joins.count() == offer.participants >= 5
    assert sum(join.quantity for join in joins) == offer.units_joined
    assert set(joins.values_list("status", flat=True)) == {GroupBuyJoin.Status.CONFIRMED}
    assert all(join.member_id is not None for join in joins)
    orders = Order.objects.filter(group_buy_join__offer=offer)
    assert set(orders.values_list("status", flat=True)) == {Order.Status.PAID}
    assert set(orders.values_list("channel", "fulfilment")) == {
        (Order.Channel.GROUP_BUY, Order.Fulfilment.PICKUP)
    }
    assert OrderFulfilment.objects.filter(order__in=orders).count() == orders.count()

    # The owner sees it on the store's broadcast page, marked as a pre-order.
    client.force_login(get_user_model().objects.get(username="owner"))
    response = client.get(
        reverse("campaigns:broadcast", args=[offer.broadcast_id]), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert "丹东草莓 500g" in response.text
    assert "Pre-order" in response.text


def test_the_pre_orders_took_no_stock_and_are_on_the_suppliers_purchase_order(demo):
    offers = GroupBuyOffer.objects.filter(presale=True)
    assert offers.count() == 3  # the demo's three stores (the pre-order goes to four)
    orders = Order.objects.filter(group_buy_join__offer__in=offers)

    assert not StockMovement.objects.filter(order__in=orders).exists()
    for offer in offers:
        store_id, product_id = offer.broadcast.store_id, offer.product_id
        ledger = StockMovement.objects.filter(store_id=store_id, product_id=product_id)
        assert ledger.aggregate(total=Sum("quantity"))["total"] in (None, 0)
        assert StockLevel.objects.get(store_id=store_id, product_id=product_id).on_hand == 0

    sources = PurchaseOrderSource.objects.filter(order_line__order__in=orders).select_related(
        "line__purchase_order__supplier"
    )
    assert sources.count() == orders.count()
    assert {source.line.purchase_order.supplier.name for source in sources} == {"云南高原蓝莓果园"}
    assert {source.line.product_id for source in sources} == {offers[0].product_id}


def test_the_pre_orders_pack_copy_names_the_offers_cut_off_and_the_delivery_day(demo):
    for offer in GroupBuyOffer.objects.filter(presale=True).select_related(
        "broadcast__store_campaign__campaign"
    ):
        store_campaign = offer.broadcast.store_campaign
        deadline = timezone.localtime(offer.deadline)
        assert deadline == campaign_cutoff(
            campaign=store_campaign.campaign, start=offer.broadcast.scheduled_at
        )
        assert (deadline.date(), deadline.hour, deadline.minute) == (END_DAY, 22, 0)
        [delivery] = set(
            PurchaseOrderSource.objects.filter(
                order_line__order__group_buy_join__offer=offer
            ).values_list("line__purchase_order__delivery_date", flat=True)
        )
        copy = store_campaign.jielong_copy
        assert f"{deadline.month}月{deadline.day}日 22:00截单" in copy
        assert f"{delivery.month}月{delivery.day}日起到店自提" in copy
