"""Store receiving when a member order comes short: an order of which nothing arrived is
cancelled as not delivered (never made ready, never handed over at the counter, the member
told once on SMS or WeChat); a partly short order is ready and its member hears what is
missing on the same channel; the receiving list shows only deliveries with something to
receive (docs/delivery-and-receiving.md, docs/pickup.md)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from apps.campaigns.notifications.dispatch import notifications_dispatch
from apps.campaigns.notifications.models import Notification
from apps.customers.models import MemberIdentity
from apps.procurement.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderSource
from apps.procurement.services.allocations import allocations_short_update
from apps.procurement.services.pickup import (
    CANCELLED,
    COLLECTED,
    orders_not_delivered_cancel,
    pickup_verify,
)
from apps.procurement.services.receiving import receipt_record
from apps.stores.models import Order, OrderFulfilment, StockLevel, StockMovement
from apps.stores.services.fulfilment import fulfilments_open
from apps.stores.services.stock import stock_move
from tests.factories import MemberIdentityFactory, clerk_of, owner_of
from tests.procurement.factories_supply import SupplyWorld, supply_world

pytestmark = pytest.mark.django_db

# 10:00 in Shanghai: outside the default quiet hours, so the dispatcher sends.
DAYTIME = dt.datetime(2026, 7, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _blueberry_world(**kwargs: object) -> SupplyWorld:
    """Store A's members ordered 3, 4 and 1 boxes of blueberries (oldest first): 8 allocated.
    Each order is opened for pickup (it has a code), as group-buy settlement leaves it."""
    world = supply_world(quantities_a=((3, 0), (4, 0), (1, 0)), quantities_b=((4, 0),), **kwargs)
    fulfilments_open(order_ids=[order.pk for order in world.orders[world.store_a.pk]])
    return world


def _blueberries_received(world: SupplyWorld, received: int, short: int, damaged: int) -> None:
    blueberries = world.products[0]
    receipt_record(
        purchase_order=world.purchase_order,
        store=world.store_a,
        lines={world.allocation(world.store_a, blueberries).pk: (received, short, damaged)},
        by=owner_of(world.store_a),
    )


def _member_notes(order: Order) -> list[tuple[str, str]]:
    return sorted(
        Notification.objects.filter(member_id=order.member_id).values_list("kind", "channel")
    )


def test_an_order_of_which_nothing_arrived_is_cancelled_not_made_ready():
    # 7 of 8 arrive and 1 of them is damaged: the latest order (1 box) bears the damaged one.
    world = _blueberry_world()
    first, second, last = world.orders[world.store_a.pk]
    blueberries = world.products[0]
    # The join took its box from the shelf when it was made (the ledger says so).
    stock_move(store=world.store_a, product=blueberries, kind="adjustment", quantity=1)
    stock_move(store=world.store_a, product=blueberries, kind="sale", quantity=-1, order=last)
    last_code = OrderFulfilment.objects.get(pk=last.pk).pickup_code

    _blueberries_received(world, 7, 0, 1)

    assert dict(
        Order.objects.filter(pk__in=[first.pk, second.pk, last.pk]).values_list("pk", "status")
    ) == {first.pk: "ready", second.pk: "ready", last.pk: "cancelled"}
    fulfilment = OrderFulfilment.objects.get(pk=last.pk)
    assert (fulfilment.status, fulfilment.ready_at, fulfilment.ready_notified_at) == (
        "cancelled",
        None,
        None,
    )
    # The damaged unit stays recorded on the order's source link (short, of which damaged);
    # the line counts it as damaged, not as short.
    source = PurchaseOrderSource.objects.get(order_line__order=last)
    assert (source.short_quantity, source.damaged_quantity) == (1, 1)
    line = PurchaseOrderLine.objects.get(purchase_order=world.purchase_order)
    assert (line.shortage_quantity, line.damaged_quantity) == (0, 1)
    # Stock: the 7 received, the damaged one never; the order's box back on the shelf.
    returned = StockMovement.objects.get(order=last, kind="return")
    assert (returned.product_id, returned.quantity) == (blueberries.pk, 1)
    assert StockLevel.objects.get(store=world.store_a, product=blueberries).on_hand == 7 + 1
    # The member hears once that the order could not be delivered, on SMS, nothing else.
    assert _member_notes(last) == [("order_not_delivered", "sms")]
    note = Notification.objects.get(member_id=last.member_id)
    assert note.dedupe_key == f"order-not-delivered:{last.pk}"
    assert note.payload == {"order_id": last.pk}
    assert note.status == Notification.Status.PENDING
    assert str(last.pk) in note.body
    assert world.store_a.name in note.body
    # The counter hands nothing over for that code.
    results = pickup_verify(store=world.store_a, codes=[last_code], by=owner_of(world.store_a))
    assert [result.outcome for result in results] == [CANCELLED]
    assert Order.objects.get(pk=last.pk).status == Order.Status.CANCELLED
    # The dispatcher sends it.
    assert notifications_dispatch(now=DAYTIME).sent >= 1
    assert Notification.objects.get(pk=note.pk).status == Notification.Status.SENT


def test_a_partly_short_order_is_ready_and_told_what_is_missing_on_its_channel():
    # 2 boxes missing: the latest order (1) loses all, the one before it (4) keeps 3.
    world = _blueberry_world()
    first, second, last = world.orders[world.store_a.pk]
    MemberIdentityFactory(
        member=second.member, kind=MemberIdentity.Kind.WECHAT, value="openid-second"
    )

    _blueberries_received(world, 6, 2, 0)

    assert dict(
        Order.objects.filter(pk__in=[first.pk, second.pk, last.pk]).values_list("pk", "status")
    ) == {first.pk: "ready", second.pk: "ready", last.pk: "cancelled"}
    assert _member_notes(second) == [("order_ready", "wechat"), ("order_short", "wechat")]
    assert _member_notes(last) == [("order_not_delivered", "sms")]
    assert _member_notes(first) == [("order_ready", "sms")]
    short = Notification.objects.get(kind="order_short")
    assert short.payload["short"] == [{"product": "云南蓝莓 125g", "units": 1}]
    assert short.status == Notification.Status.PENDING
    code = OrderFulfilment.objects.get(pk=second.pk).pickup_code
    results = pickup_verify(store=world.store_a, codes=[code], by=owner_of(world.store_a))
    assert [result.outcome for result in results] == [COLLECTED]
    # The short notice goes out on WeChat like the ready one (not to a portal inbox).
    notifications_dispatch(now=DAYTIME)
    assert Notification.objects.get(pk=short.pk).status == Notification.Status.SENT


def test_erased_members_and_guests_are_not_told_but_their_orders_are_cancelled():
    world = _blueberry_world()
    _first, second, last = world.orders[world.store_a.pk]
    type(last.member).objects.filter(pk=last.member_id).update(is_erased=True)
    Order.objects.filter(pk=second.pk).update(member=None)

    _blueberries_received(world, 3, 5, 0)  # the last two orders lose all they asked for

    assert set(
        Order.objects.filter(pk__in=[second.pk, last.pk]).values_list("status", flat=True)
    ) == {"cancelled"}
    assert not Notification.objects.filter(kind__in=("order_not_delivered", "order_short")).exists()


def test_cancelling_as_not_delivered_is_idempotent_and_spares_an_order_already_ready():
    world = _blueberry_world()
    first, second, last = world.orders[world.store_a.pk]
    # The owner marked the second order ready from the shelf: the store has its goods.
    OrderFulfilment.objects.filter(pk=second.pk).update(status=OrderFulfilment.Status.READY)
    Order.objects.filter(pk=second.pk).update(status=Order.Status.READY)
    ids = [first.pk, second.pk, last.pk]
    assert orders_not_delivered_cancel(store_id=world.store_a.pk, order_ids=ids, by=None) == [
        first.pk,
        last.pk,
    ]
    written = (Notification.objects.count(), StockMovement.objects.count())
    assert orders_not_delivered_cancel(store_id=world.store_a.pk, order_ids=ids, by=None) == []
    assert (Notification.objects.count(), StockMovement.objects.count()) == written
    assert Order.objects.get(pk=second.pk).status == Order.Status.READY
    # Another store's ids change nothing.
    b_order = world.orders[world.store_b.pk][0]
    assert (
        orders_not_delivered_cancel(store_id=world.store_a.pk, order_ids=[b_order.pk], by=None)
        == []
    )
    assert Order.objects.get(pk=b_order.pk).status == Order.Status.PAID


# --- the receiving list -------------------------------------------------------------------------


def _reported_all_short_for_store_a(world: SupplyWorld) -> None:
    """The supplier reports every blueberry short: no store gets any."""
    line = PurchaseOrderLine.objects.get(purchase_order=world.purchase_order)
    PurchaseOrderLine.objects.filter(pk=line.pk).update(shortage_quantity=line.ordered_quantity)
    allocations_short_update(line_ids=[line.pk])


def test_the_receiving_list_leaves_out_deliveries_with_nothing_for_the_store(client):
    world = _blueberry_world(status=PurchaseOrder.Status.CONFIRMED)
    _reported_all_short_for_store_a(world)
    assert world.allocation(world.store_a, world.products[0]).to_ship_quantity == 0
    client.force_login(clerk_of(world.store_a))
    page = client.get(reverse("supply:receiving", args=[world.store_a.pk]))
    assert page.status_code == 200
    assert [po.pk for po in page.context["deliveries"].due] == []
    # Listed apart, to close out: the member orders it was bought for wait on it.
    assert [po.pk for po in page.context["deliveries"].nothing_coming] == [world.purchase_order.pk]
    content = page.content.decode()
    due_block = content.split('id="due"')[1].split("</ul>")[0]
    assert world.purchase_order.number not in due_block
    assert 'id="nothing-coming"' in content

    # The receive page says nothing will arrive, and its defaults close it out: every order
    # is cancelled as not delivered, nothing enters stock.
    url = reverse("supply:receive", args=[world.store_a.pk, world.purchase_order.pk])
    form_page = client.get(url)
    assert form_page.status_code == 200
    assert 'id="nothing-coming"' in form_page.content.decode()
    allocation = world.allocation(world.store_a, world.products[0])
    response = client.post(
        url,
        {
            f"received_{allocation.pk}": 0,
            f"short_{allocation.pk}": 8,
            f"damaged_{allocation.pk}": 0,
        },
    )
    assert response.status_code == 302
    assert set(Order.objects.filter(store=world.store_a).values_list("status", flat=True)) == {
        "cancelled"
    }
    assert not StockMovement.objects.filter(store=world.store_a, kind="receipt").exists()
    after = client.get(reverse("supply:receiving", args=[world.store_a.pk]))
    assert after.context["deliveries"].nothing_coming == []
    # Store B (nothing shipped to it either) is not touched by store A's page.
    assert set(Order.objects.filter(store=world.store_b).values_list("status", flat=True)) == {
        "paid"
    }


def test_a_store_with_units_to_receive_sees_the_delivery_as_due(client):
    world = _blueberry_world(status=PurchaseOrder.Status.SHIPPED)
    client.force_login(clerk_of(world.store_a))
    page = client.get(reverse("supply:receiving", args=[world.store_a.pk]))
    assert [(po.pk, po.units) for po in page.context["deliveries"].due] == [
        (world.purchase_order.pk, 8)
    ]
    assert page.context["deliveries"].nothing_coming == []
    form_page = client.get(
        reverse("supply:receive", args=[world.store_a.pk, world.purchase_order.pk])
    )
    assert 'id="nothing-coming"' not in form_page.content.decode()
