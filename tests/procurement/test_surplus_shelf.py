"""The rounding surplus goes on the stores' shelves (`apps.procurement.selectors.shelf`): the
units a line orders beyond its demand (pack size, minimum order), less what a reported
shortage absorbs, are shared over the line's stores by largest remainder; pick lists,
delivery plans, the supplier's page, the admin, "on order" and store receiving all count
them, and receiving puts them into stock through the ledger without touching member
orders."""

from __future__ import annotations

import random
import re

import pytest
from django.urls import reverse
from django.utils import translation

from apps.campaigns.notifications.models import Notification
from apps.procurement.models import (
    AfterSalesCase,
    DeliveryPlan,
    DeliveryStop,
    PurchaseOrder,
    PurchaseOrderAllocation,
    PurchaseOrderLine,
    PurchaseOrderSource,
    Receipt,
    ReceiptLine,
)
from apps.procurement.selectors.delivery import delivery_plan_sheet
from apps.procurement.selectors.purchase_orders import purchase_order_pick_lists
from apps.procurement.selectors.shelf import (
    line_shelf_units,
    shelf_quantities,
    shelf_split,
)
from apps.procurement.services.consolidation import order_quantity_rounded
from apps.procurement.services.delivery import delivery_plans_build
from apps.procurement.services.purchase_orders import purchase_order_report_shortage
from apps.procurement.services.receiving import ReceiptRefused, receipt_record
from apps.stores.models import Order, OrderFulfilment, OrderLine, StockLevel, StockMovement
from tests.factories import SupplierUserFactory, owner_of
from tests.procurement.factories_supply import SupplyWorld, supply_world

pytestmark = pytest.mark.django_db

# --- the split, pure ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allocations", "pack", "minimum", "ordered", "shares"),
    [
        # Packs of 6, minimum 12: demand 5 → 12, surplus 7, one store takes it all.
        ({1: 5}, 6, 12, 12, {1: 7}),
        # Demand 3 + 6 + 4 = 13 → 18, surplus 5: 5 × 9/13 = 3.46, 5 × 4/13 = 1.54 by store
        # (1: 3 + 6) → 3 + 1, the unit left to the larger remainder (store 2).
        ({1: 9, 2: 4}, 6, 12, 18, {1: 3, 2: 2}),
        # Demand 10 + 6 + 4 = 20, packs of 6 → 24, surplus 4: 2, 1.2, 0.8 → 2 + 1 + 0, the
        # unit left to the largest remainder (store 3, 0.8).
        ({1: 10, 2: 6, 3: 4}, 6, 1, 24, {1: 2, 2: 1, 3: 1}),
        # Equal remainders (0.5 and 1.5): the unit left goes to the larger allocation...
        ({1: 1, 2: 3}, 6, 1, 6, {1: 0, 2: 2}),
        # ... and between equal allocations to the lower store id.
        ({4: 5, 2: 5}, 11, 1, 11, {4: 0, 2: 1}),
        ({4: 5, 2: 5}, 12, 1, 12, {4: 1, 2: 1}),
    ],
)
def test_pack_rounding_surplus_is_shared_by_largest_remainder(
    allocations, pack, minimum, ordered, shares
):
    demand = sum(allocations.values())
    assert order_quantity_rounded(demanded=demand, pack_size=pack, min_order_qty=minimum) == ordered
    split = shelf_split(units=ordered - demand, allocations=allocations)
    assert split == shares
    assert sum(split.values()) == ordered - demand


def test_a_reported_shortage_eats_the_surplus_first():
    # Ordered 18, demand 13, surplus 5.
    assert line_shelf_units(surplus=5, shortage=0) == 5
    assert line_shelf_units(surplus=5, shortage=3) == 2
    assert line_shelf_units(surplus=5, shortage=5) == 0
    assert line_shelf_units(surplus=5, shortage=9) == 0
    # What stores found at receiving is not the supplier's report: it moves no shelf unit.
    assert line_shelf_units(surplus=5, shortage=4, receiving_short=4) == 5
    assert line_shelf_units(surplus=5, shortage=7, receiving_short=4) == 2


def test_the_shares_add_up_to_the_surplus_less_the_absorbed_shortage_randomised():
    rng = random.Random(20261206)
    for _case in range(500):
        allocations = {store: rng.randint(1, 30) for store in range(1, rng.randint(1, 7) + 1)}
        demand = sum(allocations.values())
        ordered = order_quantity_rounded(
            demanded=demand, pack_size=rng.randint(1, 24), min_order_qty=rng.randint(1, 60)
        )
        surplus = ordered - demand
        shortage = rng.randint(0, ordered)
        units = line_shelf_units(surplus=surplus, shortage=shortage)
        split = shelf_split(units=units, allocations=allocations)
        assert sum(split.values()) == surplus - min(surplus, shortage)
        # Proportional: no store is more than one unit from its exact share.
        for store, quantity in allocations.items():
            assert abs(split[store] - units * quantity / demand) < 1


# --- a consolidated purchase order ------------------------------------------------------------


def _world(status: str = PurchaseOrder.Status.CONFIRMED) -> SupplyWorld:
    """Packs of 6, minimum 12. Store A's orders (blueberries, grapes): (2, 1), (3, 2),
    (1, 1); store B's (4, 2). Blueberries 6 + 4 = 10 → 12: surplus 2, 1.2 / 0.8 → A 1, B 1.
    Grapes 4 + 2 = 6 → 12: surplus 6, A 4, B 2."""
    return supply_world(status=status, pack_size=6, min_order_qty=12)


def _lines(world: SupplyWorld) -> tuple[PurchaseOrderLine, PurchaseOrderLine]:
    blueberries, grapes = world.products
    lines = {line.product_id: line for line in world.purchase_order.lines.all()}
    return lines[blueberries.pk], lines[grapes.pk]


def _shelf(world: SupplyWorld) -> dict[tuple[str, str], int]:
    """{(store "A" / "B", product name): shelf units} as `shelf_quantities` says."""
    berries, grapes = _lines(world)
    shelf = shelf_quantities(line_ids=[berries.pk, grapes.pk])
    names = {world.store_a.pk: "A", world.store_b.pk: "B"}
    return {
        (names[allocation.store_id], allocation.line.product.name): shelf[allocation.pk]
        for allocation in PurchaseOrderAllocation.objects.filter(
            line__purchase_order=world.purchase_order
        ).select_related("line__product")
    }


def _drop_lists(world: SupplyWorld) -> dict[str, dict[str, tuple[int, int]]]:
    delivery_plans_build(day=world.purchase_order.delivery_date)
    plan = DeliveryPlan.objects.get(
        region=world.region, delivery_date=world.purchase_order.delivery_date
    )
    sheet = delivery_plan_sheet(plan=plan)
    stored = dict(DeliveryStop.objects.filter(plan=plan).values_list("store__code", "units"))
    assert stored == {stop.store.code: stop.total for stop in sheet.stops}
    assert sheet.total == sum(stored.values())
    return {
        stop.store.code: {item.name: (item.quantity, item.shelf) for item in stop.items}
        for stop in sheet.stops
    }


def test_every_reader_counts_the_shelf_units_and_the_totals_are_ordered_less_short():
    world = _world()
    berries, grapes = _lines(world)
    assert (berries.demanded_quantity, berries.ordered_quantity) == (10, 12)
    assert (grapes.demanded_quantity, grapes.ordered_quantity) == (6, 12)
    assert _shelf(world) == {
        ("A", "云南蓝莓 125g"): 1,
        ("B", "云南蓝莓 125g"): 1,
        ("A", "阳光玫瑰葡萄"): 4,
        ("B", "阳光玫瑰葡萄"): 2,
    }
    a, b = world.store_a.code, world.store_b.code
    picks = {
        pick.store_code: {row.name: (row.quantity, row.shelf) for row in pick.rows}
        for pick in purchase_order_pick_lists(purchase_order=world.purchase_order)
    }
    assert picks == {
        a: {"云南蓝莓 125g": (7, 1), "阳光玫瑰葡萄": (8, 4)},
        b: {"云南蓝莓 125g": (5, 1), "阳光玫瑰葡萄": (4, 2)},
    }
    assert _drop_lists(world) == picks
    # Over all stores, each line ships what is ordered.
    for name, line in (("云南蓝莓 125g", berries), ("阳光玫瑰葡萄", grapes)):
        assert sum(pick[name][0] for pick in picks.values()) == line.ordered_quantity


@pytest.mark.parametrize(
    ("short", "berries_a", "berries_b"),
    [
        # Within the surplus of 2: 1 absorbed, 1 left for the shelves (A's larger share).
        (1, (7, 1), (4, 0)),
        (2, (6, 0), (4, 0)),
        # Beyond it: the shelves get nothing, the latest member orders bear the rest (A's
        # third order of 1 blueberry, then its second of 3).
        (4, (4, 0), (4, 0)),
    ],
)
def test_a_reported_shortage_eats_the_shelf_units_first_and_the_totals_still_add_up(
    short, berries_a, berries_b
):
    world = _world()
    berries, _grapes = _lines(world)
    purchase_order_report_shortage(
        po=world.purchase_order, lines={berries.pk: short}, note="", by=None
    )
    drops = _drop_lists(world)
    a, b = world.store_a.code, world.store_b.code
    assert (drops[a]["云南蓝莓 125g"], drops[b]["云南蓝莓 125g"]) == (berries_a, berries_b)
    assert drops[a]["云南蓝莓 125g"][0] + drops[b]["云南蓝莓 125g"][0] == 12 - short
    picks = {
        pick.store_code: pick.rows[0].quantity
        for pick in purchase_order_pick_lists(purchase_order=world.purchase_order)
    }
    assert picks[a] + picks[b] == 12 - short


def _receive_all(world: SupplyWorld, store: object, **counts: tuple[int, int, int]) -> Receipt:
    """Receive everything that ships, except the products named in `counts` (by "berries" or
    "grapes")."""
    berries, grapes = _lines(world)
    lines = {}
    for key, line in (("berries", berries), ("grapes", grapes)):
        allocation = line.allocations.get(store=store)
        shelf = shelf_quantities(line_ids=[line.pk])[allocation.pk]
        lines[allocation.pk] = counts.get(key, (allocation.quantity + shelf, 0, 0))
    return receipt_record(
        purchase_order=world.purchase_order, store=store, lines=lines, by=None, note=""
    )


def test_receiving_puts_the_shelf_units_into_stock_through_the_ledger():
    world = _world()
    blueberries, grapes = world.products
    number = world.purchase_order.number
    receipt = _receive_all(world, world.store_a)
    assert sorted(
        receipt.lines.values_list(
            "allocation__line__product__name",
            "allocated_quantity",
            "shelf_quantity",
            "received_quantity",
        )
    ) == [("云南蓝莓 125g", 6, 1, 7), ("阳光玫瑰葡萄", 4, 4, 8)]
    # The note is stored in the project's language (zh-hans).
    shelf_note = f"{number} · 上架库存（取整余量）"
    assert sorted(
        StockMovement.objects.filter(store=world.store_a).values_list(
            "product_id", "kind", "quantity", "note"
        )
    ) == sorted(
        [
            (blueberries.pk, "receipt", 6, number),
            (blueberries.pk, "receipt", 1, shelf_note),
            (grapes.pk, "receipt", 4, number),
            (grapes.pk, "receipt", 4, shelf_note),
        ]
    )
    assert StockLevel.objects.get(store=world.store_a, product=blueberries).on_hand == 7
    assert StockLevel.objects.get(store=world.store_a, product=grapes).on_hand == 8
    # The member orders are all ready, none short.
    a_orders = {order.pk for order in world.orders[world.store_a.pk]}
    assert (
        set(
            OrderFulfilment.objects.filter(status=OrderFulfilment.Status.READY).values_list(
                "order_id", flat=True
            )
        )
        == a_orders
    )
    assert not PurchaseOrderSource.objects.filter(short_quantity__gt=0).exists()


def test_receiving_only_the_allocation_is_refused_as_it_leaves_the_shelf_units_out():
    world = _world()
    berries, grapes = _lines(world)
    lines = {
        berries.allocations.get(store=world.store_a).pk: (6, 0, 0),
        grapes.allocations.get(store=world.store_a).pk: (4, 0, 0),
    }
    with translation.override("zh-hans"), pytest.raises(ReceiptRefused) as refused:
        receipt_record(
            purchase_order=world.purchase_order, store=world.store_a, lines=lines, by=None
        )
    assert refused.value.code == "sum_mismatch"
    assert "应到的 7（分配 6，上架 1；当前合计 6）" in refused.value.message
    assert not Receipt.objects.exists()
    assert not StockMovement.objects.exists()


def test_a_shortage_within_the_shelf_units_changes_no_member_order():
    world = _world()
    grapes = world.products[1]
    berries_line, grapes_line = _lines(world)
    lines_before = sorted(
        OrderLine.objects.filter(order__store=world.store_a).values_list(
            "pk", "quantity", "line_total"
        )
    )
    # Grapes: 4 allocated + 4 for the shelf; 5 arrive, 2 short, 1 damaged — all within the
    # shelf units.
    _receive_all(world, world.store_a, grapes=(5, 2, 1))
    assert not PurchaseOrderSource.objects.filter(short_quantity__gt=0).exists()
    assert not Notification.objects.filter(kind="order_short").exists()
    assert not AfterSalesCase.objects.exists()
    assert (
        sorted(
            OrderLine.objects.filter(order__store=world.store_a).values_list(
                "pk", "quantity", "line_total"
            )
        )
        == lines_before
    )
    assert not Order.objects.filter(
        status__in=[Order.Status.CANCELLED, Order.Status.REFUNDED]
    ).exists()
    a_orders = {order.pk for order in world.orders[world.store_a.pk]}
    assert (
        set(
            OrderFulfilment.objects.filter(status=OrderFulfilment.Status.READY).values_list(
                "order_id", flat=True
            )
        )
        == a_orders
    )
    # Stock: the 4 for the orders and 1 of the shelf units (damaged units stay out).
    assert StockLevel.objects.get(store=world.store_a, product=grapes).on_hand == 5
    assert sorted(
        StockMovement.objects.filter(store=world.store_a, product=grapes).values_list(
            "quantity", flat=True
        )
    ) == [1, 4]
    # The supplier delivered 2 fewer and 1 damaged: the line's shortage says so (the short
    # units kept apart as found at receiving, the damaged one under its own kind), and store
    # B's shelf units do not move.
    grapes_line.refresh_from_db()
    assert (
        grapes_line.shortage_quantity,
        grapes_line.receiving_short_quantity,
        grapes_line.damaged_quantity,
    ) == (2, 2, 1)
    assert _shelf(world)[("B", "阳光玫瑰葡萄")] == 2
    assert _shelf(world)[("A", "阳光玫瑰葡萄")] == 4
    assert ReceiptLine.objects.get(allocation__line=grapes_line).shelf_quantity == 4
    assert berries_line.shortage_quantity == 0


def test_a_shortage_beyond_the_shelf_units_falls_on_the_latest_member_order():
    world = _world()
    # Blueberries at A: 6 allocated (orders of 2, 3, 1) + 1 for the shelf; 4 arrive, 3
    # short: the shelf unit, then the latest order's 1 and 1 of the second order's 3.
    _receive_all(world, world.store_a, berries=(4, 3, 0))
    first, second, third = world.orders[world.store_a.pk]
    shorts = dict(
        PurchaseOrderSource.objects.filter(short_quantity__gt=0).values_list(
            "order_line__order_id", "short_quantity"
        )
    )
    assert shorts == {third.pk: 1, second.pk: 1}
    assert first.pk not in shorts


def test_the_receiving_page_shows_the_shelf_units_apart_in_chinese(client):
    world = _world()
    client.force_login(owner_of(world.store_a))
    url = reverse("supply:receive", args=[world.store_a.pk, world.purchase_order.pk])
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    html = response.content.decode()
    # Grapes: 4 allocated, 4 more for the shelf, 8 to count.
    assert "另上架 4（共 8）" in html
    assert 'id="shelf-note"' in html
    berries, grapes = _lines(world)
    allocation = grapes.allocations.get(store=world.store_a)
    form = response.context["form"]
    assert form.fields[f"received_{allocation.pk}"].initial == 8
    # Submitting the form as it stands receives the shelf units too.
    data = {name: field.initial for name, field in form.fields.items() if field.initial is not None}
    assert client.post(url, data).status_code == 302
    assert StockLevel.objects.get(store=world.store_a, product=world.products[1]).on_hand == 8
    listing = client.get(
        reverse("supply:receiving", args=[world.store_b.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert listing.status_code == 403


def test_another_stores_owner_can_neither_see_nor_receive_the_shelf_units(client):
    world = _world()
    url = reverse("supply:receive", args=[world.store_a.pk, world.purchase_order.pk])
    client.force_login(owner_of(world.store_b))
    assert client.get(url).status_code == 403
    berries, grapes = _lines(world)
    data = {}
    for line in (berries, grapes):
        allocation = line.allocations.get(store=world.store_a)
        data[f"received_{allocation.pk}"] = 12
        data[f"short_{allocation.pk}"] = 0
        data[f"damaged_{allocation.pk}"] = 0
    assert client.post(url, data).status_code == 403
    assert not Receipt.objects.exists()
    assert not StockMovement.objects.exists()
    # Its own page lists its own shelf units only (blueberries 1, grapes 2), never A's 4.
    own = client.get(reverse("supply:receive", args=[world.store_b.pk, world.purchase_order.pk]))
    assert own.status_code == 200
    assert [row.allocation.shelf_quantity for row in own.context["sheet"].rows] == [1, 2]
    assert own.context["sheet"].units == 9
    # A store without an allocation on the order gets a 404, shelf units or not.
    client.force_login(owner_of(world.other_store))
    other = reverse("supply:receive", args=[world.other_store.pk, world.purchase_order.pk])
    assert client.get(other).status_code == 404


def test_the_supplier_page_and_the_admin_show_the_shelf_units(client, admin_client):
    world = _world()
    _berries, grapes = _lines(world)
    response = admin_client.get(
        reverse("admin:procurement_purchaseorderline_change", args=[grapes.pk]),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "For the shelf (rounding surplus)" in html
    # The allocation inline: store A 4 allocated, 4 for the shelf; store B 2 and 2.
    cells = re.findall(r'<td class="field-for_the_shelf">\s*<p>(\d+)</p>', html)
    assert sorted(cells) == ["2", "4"]
    supplier_user = SupplierUserFactory(supplier=world.supplier).user
    client.force_login(supplier_user)
    html = client.get(
        reverse("supplier:order", args=[world.purchase_order.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "+ 4 for the shelf" in html
    assert "+ 2 for the shelf" in html


def test_the_supplier_received_totals_name_the_shelf_units_as_the_rows_do(client):
    """The Received section's total row said "6 + 6" under rows of "4 另上架 4": it names the
    shelf units the same way."""
    world = _world()
    _receive_all(world, world.store_a)
    _receive_all(world, world.store_b)
    client.force_login(SupplierUserFactory(supplier=world.supplier).user)
    url = reverse("supplier:order", args=[world.purchase_order.pk])

    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    totals = (
        r'<tr class="received-total"><th>[^<]+</th>'
        r'<th[^>]*>(\d+) <span class="shelf">([^<]+)</span>'
    )
    # Blueberries 6 + 4 allocated, 1 + 1 for the shelf; grapes 4 + 2 and 4 + 2.
    assert re.findall(totals, english) == [("10", "+ 2 for the shelf"), ("6", "+ 6 for the shelf")]
    assert re.findall(totals, chinese) == [("10", "另上架 2"), ("6", "另上架 6")]
