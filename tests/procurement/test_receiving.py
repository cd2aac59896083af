"""Store receiving (`receipt_record`) and its portal pages: stock through the ledger, shortage
spread to the latest member orders, one notification per affected member, refusals."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from apps.campaigns.notifications.models import Notification
from apps.procurement.models import (
    PurchaseOrder,
    PurchaseOrderAllocation,
    PurchaseOrderLine,
    PurchaseOrderSource,
    Receipt,
    ReceiptLine,
    SupplierProduct,
)
from apps.procurement.services.consolidation import (
    order_cancelled_for_supply,
    purchase_orders_consolidate,
)
from apps.procurement.services.purchase_orders import purchase_order_cancel
from apps.procurement.services.receiving import ReceiptRefused, receipt_record
from apps.stores.models import (
    Order,
    OrderFulfilment,
    OrderLine,
    StockLevel,
    StockMovement,
    StoreStaff,
)
from tests.factories import (
    ProductFactory,
    StoreFactory,
    SupplierFactory,
    SupplierUserFactory,
    UserFactory,
    clerk_of,
    owner_of,
)
from tests.procurement.factories import supply_order
from tests.procurement.factories_supply import SupplyWorld, purchase_order_move, supply_world

pytestmark = pytest.mark.django_db


def _full(world: SupplyWorld, store: object) -> dict[int, tuple[int, int, int]]:
    return {
        world.allocation(store, product).pk: (world.allocation(store, product).quantity, 0, 0)
        for product in world.products
    }


def _nothing_written() -> tuple[int, int, int, int, int]:
    return (
        Receipt.objects.count(),
        ReceiptLine.objects.count(),
        StockMovement.objects.count(),
        Notification.objects.filter(kind="order_short").count(),
        PurchaseOrderSource.objects.filter(short_quantity__gt=0).count(),
    )


# --- the service --------------------------------------------------------------------------------


def test_world_allocations_are_what_the_member_orders_asked_for():
    world = supply_world()
    blueberries, grapes = world.products
    assert world.allocation(world.store_a, blueberries).quantity == 6
    assert world.allocation(world.store_a, grapes).quantity == 4
    assert world.allocation(world.store_b, blueberries).quantity == 4
    assert world.allocation(world.store_b, grapes).quantity == 2


def test_full_receipt_writes_one_receipt_movement_per_product_and_stock():
    world = supply_world()
    blueberries, grapes = world.products
    user = owner_of(world.store_a)
    receipt = receipt_record(
        purchase_order=world.purchase_order,
        store=world.store_a,
        lines=_full(world, world.store_a),
        by=user,
        note="all fine",
    )
    assert receipt.note == "all fine"
    assert receipt.received_by == user
    lines = sorted(
        receipt.lines.values_list(
            "allocated_quantity", "received_quantity", "short_quantity", "damaged_quantity"
        )
    )
    assert lines == [(4, 4, 0, 0), (6, 6, 0, 0)]
    movements = sorted(
        StockMovement.objects.filter(store=world.store_a).values_list(
            "product_id", "kind", "quantity", "note", "created_by_id"
        )
    )
    assert movements == sorted(
        [
            (blueberries.pk, "receipt", 6, world.purchase_order.number, user.pk),
            (grapes.pk, "receipt", 4, world.purchase_order.number, user.pk),
        ]
    )
    assert StockLevel.objects.get(store=world.store_a, product=blueberries).on_hand == 6
    assert StockLevel.objects.get(store=world.store_a, product=grapes).on_hand == 4
    assert not StockMovement.objects.filter(store=world.store_b).exists()
    assert not Notification.objects.filter(kind="order_short").exists()
    assert not PurchaseOrderSource.objects.filter(short_quantity__gt=0).exists()
    assert set(
        PurchaseOrderLine.objects.filter(purchase_order=world.purchase_order).values_list(
            "shortage_quantity", flat=True
        )
    ) == {0}


def test_receipt_hands_the_stores_member_orders_to_pickup_as_ready():
    world = supply_world()
    receipt_record(
        purchase_order=world.purchase_order,
        store=world.store_a,
        lines=_full(world, world.store_a),
        by=None,
    )
    a_orders = {order.pk for order in world.orders[world.store_a.pk]}
    ready = set(
        OrderFulfilment.objects.filter(status=OrderFulfilment.Status.READY).values_list(
            "order_id", flat=True
        )
    )
    assert ready == a_orders


def _two_supplier_order(store, *, late_product=None):
    """A paid pickup order at `store` with a line from each of two suppliers, consolidated
    into one purchase order per supplier, both shipped; with `late_product` (offered by the
    first supplier) a third line placed after that cut-off, so not consolidated yet."""
    suppliers = [SupplierFactory(), SupplierFactory()]
    products = [ProductFactory(), ProductFactory()]
    for supplier, product in zip(suppliers, products, strict=True):
        SupplierProduct.objects.create(
            supplier=supplier, product=product, cost=Decimal("5.00"), lead_time_days=1
        )
    lines = [(products[0], 2), (products[1], 1)]
    order = supply_order(store=store, lines=lines)
    run = purchase_orders_consolidate(cutoff=timezone.now().replace(microsecond=0))
    if late_product is not None:
        SupplierProduct.objects.create(
            supplier=suppliers[0], product=late_product, cost=Decimal("5.00"), lead_time_days=1
        )
        OrderLine.objects.create(
            order=order,
            product=late_product,
            quantity=1,
            unit_price=Decimal("10.00"),
            line_total=Decimal("10.00"),
        )
    orders = [
        purchase_order_move(
            PurchaseOrder.objects.get(run=run, supplier=supplier),
            status=PurchaseOrder.Status.SHIPPED,
        )
        for supplier in suppliers
    ]
    return order, orders


def _receive_all(purchase_order, store):
    lines = {
        allocation.pk: (allocation.quantity, 0, 0)
        for allocation in PurchaseOrderAllocation.objects.filter(
            line__purchase_order=purchase_order, store=store
        )
    }
    receipt_record(purchase_order=purchase_order, store=store, lines=lines, by=None)


def _status(order) -> str | None:
    return OrderFulfilment.objects.filter(order=order).values_list("status", flat=True).first()


def test_an_order_from_two_suppliers_is_ready_only_when_both_deliveries_arrived():
    store = StoreFactory()
    order, (first, second) = _two_supplier_order(store)
    _receive_all(first, store)
    assert _status(order) != OrderFulfilment.Status.READY  # the second supplier's goods are due
    assert not Notification.objects.filter(kind="order_ready").exists()
    _receive_all(second, store)
    assert _status(order) == OrderFulfilment.Status.READY
    assert Order.objects.get(pk=order.pk).status == Order.Status.READY


def test_an_order_with_a_line_not_consolidated_yet_is_not_ready():
    store = StoreFactory()
    order, (first, second) = _two_supplier_order(store, late_product=ProductFactory())
    _receive_all(first, store)
    _receive_all(second, store)
    assert _status(order) != OrderFulfilment.Status.READY
    # Consolidated and received, the last line completes the order.
    run = purchase_orders_consolidate(
        cutoff=timezone.now().replace(microsecond=0) + dt.timedelta(seconds=1)
    )
    late = purchase_order_move(
        PurchaseOrder.objects.get(run=run), status=PurchaseOrder.Status.SHIPPED
    )
    _receive_all(late, store)
    assert _status(order) == OrderFulfilment.Status.READY


def test_shortage_is_borne_by_the_latest_orders_first_with_one_notification_per_member():
    # Store A's orders, oldest first: (blueberries, grapes) = (2, 1), (3, 2), (1, 1).
    world = supply_world()
    blueberries, grapes = world.products
    first, second, third = world.orders[world.store_a.pk]
    lines = {
        world.allocation(world.store_a, blueberries).pk: (2, 3, 1),  # 4 missing of 6
        world.allocation(world.store_a, grapes).pk: (3, 1, 0),  # 1 missing of 4
    }
    receipt = receipt_record(
        purchase_order=world.purchase_order, store=world.store_a, lines=lines, by=None
    )
    shorts = {
        (source.order_line.order_id, source.order_line.product_id): source.short_quantity
        for source in PurchaseOrderSource.objects.select_related("order_line").filter(
            order_line__order__store=world.store_a
        )
    }
    assert shorts == {
        (first.pk, blueberries.pk): 0,
        (first.pk, grapes.pk): 0,
        (second.pk, blueberries.pk): 3,
        (second.pk, grapes.pk): 0,
        (third.pk, blueberries.pk): 1,
        (third.pk, grapes.pk): 1,
    }
    # Of the second order's 3, 2 did not arrive and 1 arrived damaged (short units are spread
    # before damaged ones, latest order first).
    assert list(
        PurchaseOrderSource.objects.filter(damaged_quantity__gt=0).values_list(
            "order_line__order_id", "damaged_quantity"
        )
    ) == [(second.pk, 1)]
    # Damaged units never enter stock: 2 blueberries and 3 grapes arrived in a sellable state.
    assert StockLevel.objects.get(store=world.store_a, product=blueberries).on_hand == 2
    assert StockLevel.objects.get(store=world.store_a, product=grapes).on_hand == 3
    # The purchase-order lines count each unit once, under its kind.
    assert {
        product_id: (short, damaged)
        for product_id, short, damaged in PurchaseOrderLine.objects.filter(
            purchase_order=world.purchase_order
        ).values_list("product_id", "shortage_quantity", "damaged_quantity")
    } == {blueberries.pk: (3, 1), grapes.pk: (1, 0)}
    # The second order is partly short: told what is missing, on SMS (no WeChat identity),
    # pending for the dispatcher. The third lost everything: cancelled as not delivered, and
    # told that instead.
    notifications = Notification.objects.filter(member__in=world.members.values())
    assert sorted(
        (note.kind, note.member_id, note.store_id, note.channel, note.status)
        for note in notifications
        if note.kind != "order_ready"
    ) == [
        ("order_not_delivered", world.members[third.pk].pk, world.store_a.pk, "sms", "pending"),
        ("order_short", world.members[second.pk].pk, world.store_a.pk, "sms", "pending"),
    ]
    second_note = notifications.get(kind="order_short")
    assert second_note.dedupe_key == f"receipt:{receipt.pk}:order:{second.pk}:short"
    assert second_note.payload == {
        "order_id": second.pk,
        "receipt_id": receipt.pk,
        "short": [{"product": "云南蓝莓 125g", "units": 2}],
        "damaged": [{"product": "云南蓝莓 125g", "units": 1}],
        # Receiving opened a missing case for the 2 units (a refund) and a damaged case for
        # the third (a replacement, by the default policy): both are being arranged.
        "compensation": {"amount": "30.00", "remedy": ""},
        "compensation_by_kind": {
            "damaged": {"amount": "10.00", "remedy": "replacement"},
            "missing": {"amount": "20.00", "remedy": "refund"},
        },
    }
    assert "云南蓝莓 125g × 2" in second_note.body
    assert "云南蓝莓 125g × 1" in second_note.body
    assert dict(
        Order.objects.filter(pk__in=[first.pk, second.pk, third.pk]).values_list("pk", "status")
    ) == {first.pk: "ready", second.pk: "ready", third.pk: "cancelled"}


def test_shortage_skips_cancelled_member_orders():
    world = supply_world()
    blueberries, _grapes = world.products
    _first, second, third = world.orders[world.store_a.pk]
    # Cancelled after the supplier confirmed: the purchase order stands, so the store's
    # allocation still holds the cancelled order's blueberry (1), which nobody waits for.
    Order.objects.filter(pk=third.pk).update(status=Order.Status.CANCELLED)
    third.refresh_from_db()
    assert order_cancelled_for_supply(order=third).recorded == 2
    lines = _full(world, world.store_a)
    lines[world.allocation(world.store_a, blueberries).pk] = (3, 3, 0)
    receipt_record(purchase_order=world.purchase_order, store=world.store_a, lines=lines, by=None)
    # 3 short: the cancelled order's unit first, then the latest waiting order bears 2.
    assert list(
        PurchaseOrderSource.objects.filter(short_quantity__gt=0).values_list(
            "order_line__order_id", "short_quantity"
        )
    ) == [(second.pk, 2)]
    assert list(
        Notification.objects.filter(kind="order_short").values_list("member_id", flat=True)
    ) == [world.members[second.pk].pk]


def test_second_receipt_is_refused_and_writes_nothing():
    world = supply_world()
    lines = _full(world, world.store_a)
    receipt_record(purchase_order=world.purchase_order, store=world.store_a, lines=lines, by=None)
    before = _nothing_written()
    levels = list(StockLevel.objects.order_by("pk").values_list("on_hand", flat=True))
    with pytest.raises(ReceiptRefused) as refused:
        receipt_record(
            purchase_order=world.purchase_order, store=world.store_a, lines=lines, by=None
        )
    assert refused.value.code == "already_received"
    assert _nothing_written() == before
    assert list(StockLevel.objects.order_by("pk").values_list("on_hand", flat=True)) == levels


def test_sums_that_do_not_add_up_are_refused_and_nothing_is_written():
    world = supply_world()
    blueberries, _grapes = world.products
    lines = _full(world, world.store_a)
    lines[world.allocation(world.store_a, blueberries).pk] = (5, 0, 0)  # 6 allocated
    with pytest.raises(ReceiptRefused) as refused:
        receipt_record(
            purchase_order=world.purchase_order, store=world.store_a, lines=lines, by=None
        )
    assert refused.value.code == "sum_mismatch"
    assert _nothing_written() == (0, 0, 0, 0, 0)
    assert not StockLevel.objects.exists()


def test_every_line_that_does_not_add_up_is_named_by_its_product():
    world = supply_world()
    blueberries, grapes = world.products
    lines = _full(world, world.store_a)
    lines[world.allocation(world.store_a, blueberries).pk] = (5, 0, 0)  # 6 allocated
    lines[world.allocation(world.store_a, grapes).pk] = (4, 1, 1)  # 4 allocated
    with pytest.raises(ReceiptRefused) as refused:
        receipt_record(
            purchase_order=world.purchase_order, store=world.store_a, lines=lines, by=None
        )
    assert refused.value.code == "sum_mismatch"
    problems = refused.value.problems
    assert len(problems) == 2
    assert problems[0].startswith("云南蓝莓 125g")
    assert problems[1].startswith("阳光玫瑰葡萄")
    # allocated, then what was entered
    numbers = [[int(n) for n in re.findall(r"\d+", p)][-2:] for p in problems]
    assert numbers == [[6, 5], [4, 6]]
    assert refused.value.message == " ".join(problems)
    assert _nothing_written() == (0, 0, 0, 0, 0)


def test_every_left_out_line_is_named():
    world = supply_world()
    with pytest.raises(ReceiptRefused) as refused:
        receipt_record(purchase_order=world.purchase_order, store=world.store_a, lines={}, by=None)
    assert refused.value.code == "missing_allocation"
    assert [("云南蓝莓" in p, "阳光玫瑰葡萄" in p) for p in refused.value.problems] == [
        (True, False),
        (False, True),
    ]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (PurchaseOrder.Status.SENT, "not_receivable"),
        (PurchaseOrder.Status.CANCELLED, "not_receivable"),
    ],
)
def test_purchase_order_not_confirmed_or_shipped_is_refused(status, code):
    world = supply_world(status=status)
    with pytest.raises(ReceiptRefused) as refused:
        receipt_record(
            purchase_order=world.purchase_order,
            store=world.store_a,
            lines=_full(world, world.store_a),
            by=None,
        )
    assert refused.value.code == code
    assert _nothing_written() == (0, 0, 0, 0, 0)


def test_confirmed_purchase_order_can_be_received():
    world = supply_world(status=PurchaseOrder.Status.CONFIRMED)
    receipt = receipt_record(
        purchase_order=world.purchase_order,
        store=world.store_a,
        lines=_full(world, world.store_a),
        by=None,
    )
    assert receipt.lines.count() == 2


def test_another_stores_allocation_is_refused():
    world = supply_world()
    lines = _full(world, world.store_a)
    lines.update(_full(world, world.store_b))
    with pytest.raises(ReceiptRefused) as refused:
        receipt_record(
            purchase_order=world.purchase_order, store=world.store_a, lines=lines, by=None
        )
    assert refused.value.code == "unknown_allocation"
    assert _nothing_written() == (0, 0, 0, 0, 0)


def test_a_left_out_allocation_and_negative_numbers_are_refused():
    world = supply_world()
    blueberries, grapes = world.products
    lines = _full(world, world.store_a)
    del lines[world.allocation(world.store_a, grapes).pk]
    with pytest.raises(ReceiptRefused) as refused:
        receipt_record(
            purchase_order=world.purchase_order, store=world.store_a, lines=lines, by=None
        )
    assert refused.value.code == "missing_allocation"
    lines = _full(world, world.store_a)
    lines[world.allocation(world.store_a, blueberries).pk] = (7, -1, 0)
    with pytest.raises(ReceiptRefused) as refused:
        receipt_record(
            purchase_order=world.purchase_order, store=world.store_a, lines=lines, by=None
        )
    assert refused.value.code == "negative"
    with pytest.raises(ReceiptRefused) as refused:
        receipt_record(
            purchase_order=world.purchase_order, store=world.other_store, lines={}, by=None
        )
    assert refused.value.code == "no_allocation"
    assert _nothing_written() == (0, 0, 0, 0, 0)


# --- the pages ----------------------------------------------------------------------------------


def _routes(world: SupplyWorld) -> list[str]:
    store_id = world.store_a.pk
    return [
        reverse("supply:receiving", args=[store_id]),
        reverse("supply:receive", args=[store_id, world.purchase_order.pk]),
        reverse(
            "supply:delivery_plan",
            args=[store_id, world.purchase_order.delivery_date.isoformat()],
        ),
    ]


def test_receiving_list_shows_due_and_received_deliveries(client):
    world = supply_world()
    other = supply_world(region=world.region)  # a second supplier's order, received already
    receipt_record(
        purchase_order=other.purchase_order,
        store=other.store_a,
        lines=_full(other, other.store_a),
        by=None,
    )
    client.force_login(owner_of(world.store_a))
    response = client.get(reverse("supply:receiving", args=[world.store_a.pk]))
    assert response.status_code == 200
    due = response.context["deliveries"].due
    assert [(po.pk, po.units) for po in due] == [(world.purchase_order.pk, 10)]
    assert response.context["deliveries"].received == []
    client.force_login(owner_of(other.store_a))
    response = client.get(reverse("supply:receiving", args=[other.store_a.pk]))
    received = response.context["deliveries"].received
    assert [(r.purchase_order_id, r.received_units) for r in received] == [
        (other.purchase_order.pk, 10)
    ]
    assert response.context["deliveries"].due == []


def test_receive_form_defaults_to_allocated_and_post_records_the_receipt(client):
    world = supply_world()
    blueberries, grapes = world.products
    client.force_login(clerk_of(world.store_a))
    url = reverse("supply:receive", args=[world.store_a.pk, world.purchase_order.pk])
    response = client.get(url)
    assert response.status_code == 200
    allocation = world.allocation(world.store_a, blueberries)
    form = response.context["form"]
    assert form[f"received_{allocation.pk}"].initial == 6
    assert form[f"short_{allocation.pk}"].initial == 0
    assert 'inputmode="numeric"' in response.content.decode()
    grapes_allocation = world.allocation(world.store_a, grapes)
    response = client.post(
        url,
        {
            f"received_{allocation.pk}": 5,
            f"short_{allocation.pk}": 1,
            f"damaged_{allocation.pk}": 0,
            f"received_{grapes_allocation.pk}": 4,
            f"short_{grapes_allocation.pk}": 0,
            f"damaged_{grapes_allocation.pk}": 0,
            "note": "一箱少一盒",
        },
    )
    assert response.status_code == 302
    receipt = Receipt.objects.get()
    assert (receipt.store_id, receipt.note) == (world.store_a.pk, "一箱少一盒")
    assert StockLevel.objects.get(store=world.store_a, product=blueberries).on_hand == 5
    page = client.get(url)
    assert page.context["form"] is None
    assert page.context["sheet"].receipt == receipt


def test_receive_post_with_wrong_sums_re_renders_with_the_message_and_writes_nothing(client):
    world = supply_world()
    client.force_login(owner_of(world.store_a))
    url = reverse("supply:receive", args=[world.store_a.pk, world.purchase_order.pk])
    body = {}
    for allocation_id, (received, _short, _damaged) in _full(world, world.store_a).items():
        body.update(
            {
                f"received_{allocation_id}": received,
                f"short_{allocation_id}": 1,
                f"damaged_{allocation_id}": 0,
            }
        )
    response = client.post(url, body)
    assert response.status_code == 400
    shown = [str(message) for message in response.context["messages"]]
    assert len(shown) == 2
    assert shown[0].startswith("云南蓝莓")
    assert shown[1].startswith("阳光玫瑰葡萄")
    assert "阳光玫瑰葡萄" in response.content.decode()
    assert _nothing_written() == (0, 0, 0, 0, 0)


def test_receive_refuses_a_purchase_order_not_yet_confirmed(client):
    world = supply_world(status=PurchaseOrder.Status.SENT)
    client.force_login(owner_of(world.store_a))
    url = reverse("supply:receive", args=[world.store_a.pk, world.purchase_order.pk])
    assert client.get(url).context["form"] is None
    response = client.post(url, {})
    assert response.status_code == 409
    assert not Receipt.objects.exists()


def test_receive_page_of_a_purchase_order_hq_cancelled_says_so_and_when_and_by_whom(client):
    world = supply_world(status=PurchaseOrder.Status.SENT)
    buyer = UserFactory(username="buyer-li", first_name="采购", last_name="李", is_staff=True)
    po = purchase_order_cancel(po=world.purchase_order, by=buyer)
    client.force_login(owner_of(world.store_a))
    url = reverse("supply:receive", args=[world.store_a.pk, po.pk])

    response = client.get(url)
    page = response.content.decode()
    when = timezone.localtime(po.cancelled_at).strftime("%Y-%m-%d %H:%M")

    assert response.status_code == 200
    assert response.context["form"] is None
    assert "供应商确认后即可收货" not in page
    who = buyer.get_full_name()
    assert f"此采购单已于 {when} 由总部 {who} 取消，不会再发货，无需收货。" in page
    assert client.post(url, {}).status_code == 409
    assert not Receipt.objects.exists()


def test_receive_page_of_a_purchase_order_cancelled_by_consolidation_says_nothing_will_arrive(
    client,
):
    world = supply_world(status=PurchaseOrder.Status.SENT)
    purchase_order_move(world.purchase_order, status=PurchaseOrder.Status.CANCELLED)
    PurchaseOrder.objects.filter(pk=world.purchase_order.pk).update(cancelled_at=timezone.now())
    cancelled_at = PurchaseOrder.objects.get(pk=world.purchase_order.pk).cancelled_at
    client.force_login(owner_of(world.store_a))
    url = reverse("supply:receive", args=[world.store_a.pk, world.purchase_order.pk])

    page = client.get(url).content.decode()
    when = timezone.localtime(cancelled_at).strftime("%Y-%m-%d %H:%M")

    assert "供应商确认后即可收货" not in page
    assert f"此采购单已于 {when} 取消，不会再发货，无需收货。" in page


def test_receive_page_of_a_sent_purchase_order_still_says_it_awaits_confirmation(client):
    world = supply_world(status=PurchaseOrder.Status.SENT)
    client.force_login(owner_of(world.store_a))
    url = reverse("supply:receive", args=[world.store_a.pk, world.purchase_order.pk])

    page = client.get(url).content.decode()

    assert "供应商确认后即可收货。" in page
    assert "此采购单已" not in page


def test_a_purchase_order_without_goods_for_the_store_is_a_404(client):
    world = supply_world()
    client.force_login(owner_of(world.other_store))
    url = reverse("supply:receive", args=[world.other_store.pk, world.purchase_order.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, _full(world, world.store_a)).status_code == 404
    purchase_order_move(world.purchase_order, status=PurchaseOrder.Status.DRAFT)
    client.force_login(owner_of(world.store_a))
    url = reverse("supply:receive", args=[world.store_a.pk, world.purchase_order.pk])
    assert client.get(url).status_code == 404


def test_delivery_plan_page_shows_only_this_stores_drop_list(client):
    from apps.procurement.services.delivery import delivery_plans_build

    world = supply_world()
    delivery_plans_build(day=world.purchase_order.delivery_date)
    client.force_login(owner_of(world.store_b))
    day = world.purchase_order.delivery_date.isoformat()
    response = client.get(reverse("supply:delivery_plan", args=[world.store_b.pk, day]))
    assert response.status_code == 200
    sheet = response.context["sheet"]
    assert [stop.store.pk for stop in sheet.stops] == [world.store_b.pk]
    assert [(item.name, item.quantity) for item in sheet.stops[0].items] == [
        ("云南蓝莓 125g", 4),
        ("阳光玫瑰葡萄", 2),
    ]
    assert (sheet.stops[0].sequence, sheet.stop_count, sheet.total) == (2, 2, 6)
    content = response.content.decode()
    assert world.store_b.name in content
    assert world.store_a.name not in content
    assert world.store_a.address not in content


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", ["4 boxes", "2 packs"]), ("zh-hans", ["4 盒", "2 包"])],
)
def test_delivery_plan_page_writes_each_quantity_with_its_unit(client, language, expected):
    """Each quantity with its unit: "4 boxes", not "4 box"; "4 盒" in Chinese (`with_unit`)."""
    from apps.catalog.models import Product
    from apps.procurement.services.delivery import delivery_plans_build

    world = supply_world()
    blueberries, grapes = world.products
    Product.objects.filter(pk=blueberries.pk).update(unit=Product.Unit.BOX)
    Product.objects.filter(pk=grapes.pk).update(unit=Product.Unit.PACK)
    delivery_plans_build(day=world.purchase_order.delivery_date)
    client.force_login(owner_of(world.store_b))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    day = world.purchase_order.delivery_date.isoformat()
    page = client.get(reverse("supply:delivery_plan", args=[world.store_b.pk, day]))
    cells = re.findall(r"<td>([^<]*?)</td></tr>", page.content.decode())
    assert cells == expected


def test_delivery_plan_page_without_a_plan_and_with_a_bad_date(client):
    world = supply_world()
    client.force_login(owner_of(world.store_a))
    response = client.get(_routes(world)[2])
    assert response.status_code == 200
    assert response.context["plan"] is None
    bad = reverse("supply:delivery_plan", args=[world.store_a.pk, "2026-13-40"])
    assert client.get(bad).status_code == 404


@pytest.mark.parametrize("route", [0, 1, 2])
def test_every_receiving_page_refuses_another_stores_owner(client, route):
    world = supply_world()
    client.force_login(owner_of(world.store_b))
    url = _routes(world)[route]
    assert client.get(url).status_code == 403
    assert client.post(url, _full(world, world.store_a)).status_code in (403, 405)
    assert not Receipt.objects.exists()


@pytest.mark.parametrize("route", [0, 1, 2])
def test_every_receiving_page_refuses_a_supplier_user_even_of_this_supplier(client, route):
    world = supply_world()
    user = SupplierUserFactory(supplier=world.supplier).user
    client.force_login(user)
    url = _routes(world)[route]
    assert client.get(url).status_code == 403
    assert client.post(url, _full(world, world.store_a)).status_code in (403, 405)
    assert not Receipt.objects.exists()


@pytest.mark.parametrize("route", [0, 1, 2])
def test_every_receiving_page_sends_anonymous_users_to_login(client, route):
    world = supply_world()
    url = _routes(world)[route]
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login"))
    assert client.post(url, _full(world, world.store_a)).status_code == 302
    assert not Receipt.objects.exists()


def test_an_inspector_of_the_store_may_not_receive(client):
    world = supply_world()
    inspector = UserFactory()
    StoreStaff.objects.create(user=inspector, store=world.store_a, role=StoreStaff.Role.INSPECTOR)
    client.force_login(inspector)
    for url in _routes(world):
        assert client.get(url).status_code == 403
