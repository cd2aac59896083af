"""A shortage the supplier reports is shared out over the stores (`reported_short_quantity`):
the part beyond the rounding surplus, the latest member orders first; pick lists, delivery
plans, "on order", the supplier's page and store receiving show what will actually ship, and
receiving does not count the reported units twice."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from apps.campaigns.notifications.models import Notification
from apps.procurement.models import (
    DeliveryPlan,
    DeliveryStop,
    PurchaseOrder,
    PurchaseOrderAllocation,
    PurchaseOrderLine,
    PurchaseOrderSource,
    SupplierProduct,
)
from apps.procurement.selectors.delivery import delivery_plan_sheet
from apps.procurement.selectors.purchase_orders import (
    on_order_quantities,
    purchase_order_pick_lists,
    store_on_order,
)
from apps.procurement.services.allocations import (
    ShortageBearer,
    allocations_short_update,
    reported_short_split,
)
from apps.procurement.services.consolidation import (
    order_cancelled_for_supply,
    purchase_orders_consolidate,
)
from apps.procurement.services.delivery import delivery_plans_build
from apps.procurement.services.purchase_orders import (
    PurchaseOrderRefused,
    purchase_order_confirm,
    purchase_order_report_shortage,
)
from apps.procurement.services.receiving import receipt_record
from apps.stores.models import Order
from apps.stores.services.stock import stock_move
from tests.factories import (
    ProductFactory,
    RegionFactory,
    StoreFactory,
    SupplierUserFactory,
    owner_of,
)
from tests.procurement.factories import PurchaseOrderAllocationFactory, supply_order
from tests.procurement.factories_supply import supply_world

T0 = dt.datetime(2026, 6, 1, 8, tzinfo=dt.UTC)


def _at(hours: int) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


# --- the split, pure --------------------------------------------------------------------------


def test_the_latest_orders_bear_it_first_across_stores_each_at_most_its_quantity():
    # Store 1: orders of 3 (first) and 6 (last); store 2: an order of 4 in between.
    bearers = [
        ShortageBearer(store_id=1, placed_at=_at(0), order_id=10, quantity=3),
        ShortageBearer(store_id=2, placed_at=_at(1), order_id=11, quantity=4),
        ShortageBearer(store_id=1, placed_at=_at(2), order_id=12, quantity=6),
    ]
    allocations = {1: 9, 2: 4}
    split = reported_short_split  # the rule, applied to growing shortages
    assert split(units=0, allocations=allocations, bearers=bearers) == {1: 0, 2: 0}
    assert split(units=5, allocations=allocations, bearers=bearers) == {1: 5, 2: 0}
    assert split(units=6, allocations=allocations, bearers=bearers) == {1: 6, 2: 0}
    assert split(units=9, allocations=allocations, bearers=bearers) == {1: 6, 2: 3}
    assert split(units=11, allocations=allocations, bearers=bearers) == {1: 7, 2: 4}
    assert split(units=13, allocations=allocations, bearers=bearers) == {1: 9, 2: 4}
    # Never more than the allocations hold.
    assert split(units=20, allocations=allocations, bearers=bearers) == {1: 9, 2: 4}


def test_orders_placed_at_the_same_time_go_by_order_id_newest_first():
    bearers = [
        ShortageBearer(store_id=1, placed_at=_at(0), order_id=21, quantity=2),
        ShortageBearer(store_id=2, placed_at=_at(0), order_id=20, quantity=2),
    ]
    assert reported_short_split(units=2, allocations={1: 2, 2: 2}, bearers=bearers) == {
        1: 2,
        2: 0,
    }


def test_units_no_waiting_order_accounts_for_are_shared_by_largest_remainder():
    # A replenishment line: allocations without source links.
    # Shares of 2.5, 1.5 and 1: the stores keep 7.5 → 8, 4.5 → 4 (the tie goes to the larger
    # store) and 3.
    assert reported_short_split(units=5, allocations={1: 10, 2: 6, 3: 4}, bearers=[]) == {
        1: 2,
        2: 2,
        3: 1,
    }
    # Units nobody waits for go first (store 2 holds 4 that no live order asked for, as after
    # an order cancelled once the supplier had confirmed); the orders bear only the rest.
    bearers = [ShortageBearer(store_id=1, placed_at=_at(0), order_id=1, quantity=3)]
    assert reported_short_split(units=5, allocations={1: 3, 2: 4}, bearers=bearers) == {
        1: 1,
        2: 4,
    }
    assert reported_short_split(units=3, allocations={1: 3, 2: 4}, bearers=bearers) == {
        1: 0,
        2: 3,
    }
    # Within one store too: 5 allocated, 3 asked for by a waiting order.
    assert reported_short_split(units=2, allocations={1: 5}, bearers=bearers) == {1: 2}
    assert reported_short_split(units=4, allocations={1: 5}, bearers=bearers) == {1: 4}


def test_the_split_adds_up_exactly_and_stays_within_each_allocation_randomised():
    rng = random.Random(20261205)
    for _case in range(500):
        stores = rng.randint(1, 6)
        bearers = []
        for order_id in range(rng.randint(0, 12)):
            bearers.append(
                ShortageBearer(
                    store_id=rng.randint(1, stores),
                    placed_at=_at(rng.randint(0, 5)),
                    order_id=order_id,
                    quantity=rng.randint(1, 9),
                )
            )
        allocations = dict.fromkeys(range(1, stores + 1), 0)
        for bearer in bearers:
            allocations[bearer.store_id] += bearer.quantity
        for store_id in allocations:  # some units without an order (replenishment, cancelled)
            allocations[store_id] += rng.choice((0, 0, rng.randint(1, 5)))
        allocations = {store_id: units for store_id, units in allocations.items() if units}
        total = sum(allocations.values())
        units = rng.randint(0, total + 3)
        split = reported_short_split(units=units, allocations=allocations, bearers=bearers)
        assert set(split) == set(allocations)
        assert sum(split.values()) == min(units, total)
        assert all(0 <= split[store] <= allocations[store] for store in allocations)
        # Units without a waiting order bear first: while they can, the orders bear nothing.
        backed = dict.fromkeys(allocations, 0)
        for bearer in bearers:
            backed[bearer.store_id] += bearer.quantity
        free = {store: allocations[store] - backed[store] for store in allocations}
        if units <= sum(free.values()):
            assert all(split[store] <= free[store] for store in allocations)
        else:
            assert all(split[store] >= free[store] for store in allocations)


# --- a consolidated line ----------------------------------------------------------------------


@pytest.fixture
def short_world(db: None) -> dict[str, object]:
    """One sent purchase order, one line: packs of 6, minimum 12. Store A ordered 3 (first)
    and 6 (last), store B 4 in between: demand 13, ordered 18, surplus 5."""
    region = RegionFactory()
    store_a = StoreFactory(region=region, code="SHORT-A")
    store_b = StoreFactory(region=region, code="SHORT-B")
    supplier_user = SupplierUserFactory()
    product = ProductFactory(name="云南蓝莓 125g")
    SupplierProduct.objects.create(
        supplier=supplier_user.supplier,
        product=product,
        cost=Decimal("8.50"),
        pack_size=6,
        min_order_qty=12,
        lead_time_days=2,
    )
    now = timezone.now()
    first = supply_order(store=store_a, lines=[(product, 3)], placed_at=now - dt.timedelta(hours=5))
    middle = supply_order(
        store=store_b, lines=[(product, 4)], placed_at=now - dt.timedelta(hours=4)
    )
    last = supply_order(store=store_a, lines=[(product, 6)], placed_at=now - dt.timedelta(hours=3))
    run = purchase_orders_consolidate(cutoff=now.replace(microsecond=0))
    po = PurchaseOrder.objects.get(run=run)
    line = po.lines.get()
    assert (line.demanded_quantity, line.ordered_quantity, line.surplus_quantity) == (13, 18, 5)
    return {
        "po": po,
        "line": line,
        "product": product,
        "store_a": store_a,
        "store_b": store_b,
        "supplier_user": supplier_user.user,
        "orders": (first, middle, last),
    }


def _reported(line: PurchaseOrderLine) -> dict[int, tuple[int, int]]:
    return {
        store_id: (quantity, short)
        for store_id, quantity, short in PurchaseOrderAllocation.objects.filter(
            line=line
        ).values_list("store_id", "quantity", "reported_short_quantity")
    }


def _picked(po: PurchaseOrder) -> dict[str, int]:
    return {pick.store_code: pick.total for pick in purchase_order_pick_lists(purchase_order=po)}


def _on_order(world: dict) -> dict[int, int]:
    frame = on_order_quantities(product_ids=[world["product"].pk], today=timezone.localdate())
    return dict(zip(frame["store_id"], frame["on_order"], strict=True))


def _coming(world: dict) -> dict[int, tuple[int, int]]:
    """{store id: (on order for the shelf, coming for member orders)} from the stock pages'
    selector."""
    coming = {}
    for store in (world["store_a"], world["store_b"]):
        for on_order in store_on_order(store_id=store.pk, today=timezone.localdate()).values():
            coming[store.pk] = (on_order.shelf, on_order.for_orders)
    return coming


def _took_stock(order: Order, product: object, *, ready: bool) -> None:
    """The order took its units from the shelf: marked ready from it by hand before the
    delivery (`ready`), or a stock order of before that stays paid until the delivery."""
    store = order.store
    units = order.lines.get().quantity
    stock_move(store=store, product=product, kind="receipt", quantity=units)
    stock_move(store=store, product=product, kind="sale", quantity=-units, order=order)
    if ready:
        Order.objects.filter(pk=order.pk).update(status=Order.Status.READY)


def test_on_order_counts_what_orders_took_from_the_shelf_less_the_shortage_on_them(short_world):
    """A's two orders were marked ready from the shelf before the delivery: their units
    refill it, less what comes short of them. B's order is a pre-order: its units are its
    member's, not the shelf's."""
    world = short_world
    po, line, product = world["po"], world["line"], world["product"]
    first, _middle, last = world["orders"]
    a, b = world["store_a"].pk, world["store_b"].pk
    _took_stock(first, product, ready=True)
    _took_stock(last, product, ready=True)
    # 3 + 6 refill A's shelf, with its 3 shelf units of the surplus; B gets 2 shelf units.
    assert _on_order(world) == {a: 3 + 6 + 3, b: 2}
    assert _coming(world) == {a: (12, 0), b: (2, 4)}

    # 14 short, 9 beyond the surplus: A's last order bears 6 (none of it comes), B's 3.
    purchase_order_report_shortage(po=po, lines={line.pk: 14}, note="", by=None)
    assert _on_order(world) == {a: 3}
    assert _coming(world) == {a: (3, 0), b: (0, 1)}

    # 10 short, 5 beyond: all on A's last order, 1 of its 6 comes.
    purchase_order_report_shortage(po=po, lines={line.pk: 10}, note="", by=None)
    assert _on_order(world) == {a: 3 + 1}
    assert _coming(world) == {a: (4, 0), b: (0, 4)}


def test_an_order_still_waiting_gives_back_what_it_took_for_its_short_units(short_world):
    """B's order took its 4 from the shelf and still waits for the delivery (a stock order
    consolidated before sold-from-stock offers became ready at settlement): 3 of them come
    short, and at receiving the order gives those 3 back (it hands over only the 1 that
    came), so all 4 reach the shelf."""
    world = short_world
    _took_stock(world["orders"][1], world["product"], ready=False)
    purchase_order_report_shortage(po=world["po"], lines={world["line"].pk: 14}, note="", by=None)
    assert _on_order(world) == {world["store_b"].pk: 1 + 3}


def _dropped(world: dict) -> dict[str, int]:
    """The region's plan rebuilt: each stop's drop-list total (its stored units agree)."""
    delivery_plans_build(day=world["po"].delivery_date)
    plan = DeliveryPlan.objects.get(
        region=world["store_a"].region, delivery_date=world["po"].delivery_date
    )
    sheet = delivery_plan_sheet(plan=plan)
    units = dict(DeliveryStop.objects.filter(plan=plan).values_list("store__code", "units"))
    dropped = {stop.store.code: stop.total for stop in sheet.stops}
    assert units == dropped
    return dropped


def test_a_shortage_within_the_surplus_leaves_every_store_its_allocation(short_world):
    world = short_world
    purchase_order_report_shortage(po=world["po"], lines={world["line"].pk: 5}, note="", by=None)
    a, b = world["store_a"].pk, world["store_b"].pk
    assert _reported(world["line"]) == {a: (9, 0), b: (4, 0)}
    assert _picked(world["po"]) == {"SHORT-A": 9, "SHORT-B": 4}


def test_reporting_changing_and_withdrawing_a_shortage_changes_what_ships(short_world):
    world = short_world
    po, line = world["po"], world["line"]
    a, b = world["store_a"].pk, world["store_b"].pk

    # 14 short: 9 beyond the surplus of 5. A's last order (6) first, then B's (4) bears 3.
    purchase_order_report_shortage(po=po, lines={line.pk: 14}, note="冰雹减产", by=None)
    assert _reported(line) == {a: (9, 6), b: (4, 3)}
    assert _picked(po) == {"SHORT-A": 3, "SHORT-B": 1}
    # The orders are pre-orders (they took no stock): what ships goes to their members, and
    # only the shelf units (none left now) are on order for the shelf.
    assert _on_order(world) == {}
    assert _coming(world) == {a: (0, 3), b: (0, 1)}
    assert _dropped(world) == {"SHORT-A": 3, "SHORT-B": 1}

    # Changed to 10: 5 beyond the surplus, all of it on A's last order.
    purchase_order_report_shortage(po=po, lines={line.pk: 10}, note="", by=None)
    assert _reported(line) == {a: (9, 5), b: (4, 0)}
    assert _picked(po) == {"SHORT-A": 4, "SHORT-B": 4}
    assert _on_order(world) == {}
    assert _coming(world) == {a: (0, 4), b: (0, 4)}
    assert _dropped(world) == {"SHORT-A": 4, "SHORT-B": 4}

    # Everything short: no store gets anything, nothing is on order, no stop is made.
    purchase_order_report_shortage(po=po, lines={line.pk: 18}, note="", by=None)
    assert _reported(line) == {a: (9, 9), b: (4, 4)}
    assert _picked(po) == {}
    assert _on_order(world) == {}
    assert _coming(world) == {}
    assert _dropped(world) == {}

    # Withdrawn: the full allocations again, and the surplus of 5 on the shelves: 5 × 9/13
    # = 3.46 and 5 × 4/13 = 1.54 → 3 + 1, the unit left to B's larger remainder: A 9 + 3,
    # B 4 + 2, the 18 ordered.
    purchase_order_report_shortage(po=po, lines={line.pk: 0}, note="", by=None)
    assert _reported(line) == {a: (9, 0), b: (4, 0)}
    assert _picked(po) == {"SHORT-A": 12, "SHORT-B": 6}
    assert _on_order(world) == {a: 3, b: 2}
    assert _coming(world) == {a: (3, 9), b: (2, 4)}
    assert _dropped(world) == {"SHORT-A": 12, "SHORT-B": 6}


def test_a_refused_report_shares_nothing_out(short_world):
    world = short_world
    with pytest.raises(PurchaseOrderRefused):
        purchase_order_report_shortage(
            po=world["po"], lines={world["line"].pk: 19}, note="", by=None
        )
    assert set(_reported(world["line"]).values()) == {(9, 0), (4, 0)}


def test_the_pick_list_csv_shows_what_ships(short_world, client):
    world = short_world
    purchase_order_report_shortage(po=world["po"], lines={world["line"].pk: 14}, note="", by=None)
    client.force_login(world["supplier_user"])
    with translation.override("en"):
        response = client.get(
            reverse("supplier:pick_lists_csv", args=[world["po"].pk]), HTTP_ACCEPT_LANGUAGE="en"
        )
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header = rows.index(
        [
            "Store code",
            "Store",
            "SKU",
            "Product",
            "Unit",
            "Quantity",
            "For member orders",
            "For the shelf (rounding surplus)",
        ]
    )
    # The shortage ate the whole surplus: nothing for the shelves.
    assert sorted((row[0], row[3], *row[5:8]) for row in rows[header + 1 :]) == [
        ("SHORT-A", "云南蓝莓 125g", "3", "3", "0"),
        ("SHORT-B", "云南蓝莓 125g", "1", "1", "0"),
    ]


def test_the_supplier_page_says_what_ships_of_each_allocation(short_world, client):
    world = short_world
    purchase_order_report_shortage(po=world["po"], lines={world["line"].pk: 14}, note="", by=None)
    client.force_login(world["supplier_user"])
    response = client.get(
        reverse("supplier:order", args=[world["po"].pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    html = response.content.decode()
    assert "ships 3 of 9" in html
    assert "ships 1 of 4" in html


def test_another_supplier_can_neither_report_nor_see_the_shares(short_world, client):
    world = short_world
    intruder = SupplierUserFactory().user
    client.force_login(intruder)
    response = client.post(
        reverse("supplier:order_shortage", args=[world["po"].pk]),
        {f"line_{world['line'].pk}": "14", "note": "x"},
    )
    assert response.status_code == 404
    assert client.get(reverse("supplier:pick_lists_csv", args=[world["po"].pk])).status_code == (
        404
    )
    assert set(_reported(world["line"]).values()) == {(9, 0), (4, 0)}


def test_a_recount_after_a_cancellation_shares_the_shortage_out_again(short_world):
    world = short_world
    po, line = world["po"], world["line"]
    a, b = world["store_a"].pk, world["store_b"].pk
    _first, _middle, last = world["orders"]
    purchase_order_report_shortage(po=po, lines={line.pk: 10}, note="", by=None)
    assert _reported(line) == {a: (9, 5), b: (4, 0)}

    # A's last order (6) is cancelled while the order is only sent: demand 7, ordered 12
    # (the minimum), surplus 5; 10 short is 5 beyond: B's order (now the latest) bears 4,
    # A's first order 1.
    Order.objects.filter(pk=last.pk).update(status=Order.Status.CANCELLED)
    last.refresh_from_db()
    order_cancelled_for_supply(order=last)

    line.refresh_from_db()
    assert (line.demanded_quantity, line.ordered_quantity, line.shortage_quantity) == (7, 12, 10)
    assert _reported(line) == {a: (3, 1), b: (4, 4)}
    assert _picked(po) == {"SHORT-A": 2}


def test_allocations_without_source_links_bear_a_shortage_by_largest_remainder(db):
    # A replenishment line sent to the supplier: demand 20 (10 + 6 + 4), packs of 6 → 24.
    stores = [StoreFactory() for _ in range(3)]
    first = PurchaseOrderAllocationFactory(
        store=stores[0],
        quantity=10,
        line__demanded_quantity=20,
        line__ordered_quantity=24,
        line__surplus_quantity=4,
    )
    line = first.line
    PurchaseOrderAllocationFactory(line=line, store=stores[1], quantity=6)
    PurchaseOrderAllocationFactory(line=line, store=stores[2], quantity=4)
    purchase_order_report_shortage(po=line.purchase_order, lines={line.pk: 9}, note="", by=None)
    assert {s: short for s, (_q, short) in _reported(line).items()} == {
        stores[0].pk: 2,
        stores[1].pk: 2,
        stores[2].pk: 1,
    }
    assert allocations_short_update(line_ids=[line.pk]) == 0  # idempotent


def test_an_order_cancelled_after_confirmation_bears_a_reported_shortage_first(short_world):
    world = short_world
    line = world["line"]
    a, b = world["store_a"].pk, world["store_b"].pk
    _first, middle, _last = world["orders"]
    po = purchase_order_confirm(po=world["po"], ship_date=timezone.localdate(), by=None)
    purchase_order_report_shortage(po=po, lines={line.pk: 8}, note="", by=None)
    # 3 beyond the surplus of 5: A's last order (6) bears them.
    assert _reported(line) == {a: (9, 3), b: (4, 0)}

    # B's order (4) is cancelled after confirmation: its units still come and nobody waits
    # for them, so they are the ones short; A's waiting orders get everything.
    Order.objects.filter(pk=middle.pk).update(status=Order.Status.CANCELLED)
    middle.refresh_from_db()
    assert order_cancelled_for_supply(order=middle).recorded == 1
    line.refresh_from_db()
    assert (line.demanded_quantity, line.shortage_quantity) == (13, 8)
    assert _reported(line) == {a: (9, 0), b: (4, 3)}
    # 5 beyond: B's 4 cancelled units, then A's last order 1.
    purchase_order_report_shortage(po=po, lines={line.pk: 10}, note="", by=None)
    assert _reported(line) == {a: (9, 1), b: (4, 4)}
    assert _picked(po) == {"SHORT-A": 8}


def test_receiving_short_falls_first_on_an_order_cancelled_after_confirmation(short_world):
    world = short_world
    po = world["po"]
    first, _middle, last = world["orders"]
    po = purchase_order_confirm(po=po, ship_date=timezone.localdate(), by=None)
    Order.objects.filter(pk=first.pk).update(status=Order.Status.CANCELLED)
    first.refresh_from_db()
    order_cancelled_for_supply(order=first)
    # Store A's allocation (9) still holds the cancelled order's 3, and 3 units of the
    # surplus come for its shelf (12 in all); 5 arrive (7 short): the 3 shelf units and the 3
    # nobody waits for, then 1 on the latest waiting order (the last one, of 6).
    allocation = PurchaseOrderAllocation.objects.get(line=world["line"], store=world["store_a"])
    receipt_record(
        purchase_order=po, store=world["store_a"], lines={allocation.pk: (5, 7, 0)}, by=None
    )
    assert list(
        PurchaseOrderSource.objects.filter(short_quantity__gt=0).values_list(
            "order_line__order_id", "short_quantity"
        )
    ) == [(last.pk, 1)]


# --- receiving --------------------------------------------------------------------------------


def _receiving_world():
    """Store A's orders (blueberries, grapes), oldest first: (2, 1), (3, 2), (1, 1); store B's
    (4, 2), placed with A's first. Packs of 1, no surplus. Blueberries reported 5 short: A's
    latest two orders bear 1 + 3, then of the two first orders (same time) B's, the higher
    order id, bears 1."""
    world = supply_world(status=PurchaseOrder.Status.CONFIRMED)
    blueberries, _grapes = world.products
    line = world.purchase_order.lines.get(product=blueberries)
    purchase_order_report_shortage(po=world.purchase_order, lines={line.pk: 5}, note="", by=None)
    return world, line


def test_the_receiving_page_expects_what_ships_and_prefills_the_reported_short(db, client):
    world, line = _receiving_world()
    blueberries, grapes = world.products
    berries_a = world.allocation(world.store_a, blueberries)
    grapes_a = world.allocation(world.store_a, grapes)
    assert (berries_a.quantity, berries_a.reported_short_quantity) == (6, 4)
    assert world.allocation(world.store_b, blueberries).reported_short_quantity == 1
    client.force_login(owner_of(world.store_a))
    url = reverse("supply:receive", args=[world.store_a.pk, world.purchase_order.pk])
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    form = response.context["form"]
    initial = {name: field.initial for name, field in form.fields.items() if name != "note"}
    assert initial == {
        f"received_{berries_a.pk}": 2,
        f"short_{berries_a.pk}": 4,
        f"damaged_{berries_a.pk}": 0,
        f"received_{grapes_a.pk}": 4,
        f"short_{grapes_a.pk}": 0,
        f"damaged_{grapes_a.pk}": 0,
    }
    assert "expected 2 (4 reported short by the supplier)" in response.content.decode()

    # The clerk got what was announced and submits the form as it stands.
    response = client.post(url, {**initial, "note": ""})
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.shortage_quantity == 5  # the supplier's report, not 5 + 4
    _first, second, third = world.orders[world.store_a.pk]
    assert sorted(
        PurchaseOrderSource.objects.filter(short_quantity__gt=0).values_list(
            "order_line__order_id", "short_quantity"
        )
    ) == sorted([(second.pk, 3), (third.pk, 1)])
    assert sorted(
        Notification.objects.filter(kind="order_short").values_list("member_id", flat=True)
    ) == sorted([world.members[second.pk].pk, world.members[third.pk].pk])


def test_receiving_adds_only_what_a_store_found_beyond_the_report(db):
    world, line = _receiving_world()
    blueberries, grapes = world.products
    berries_b = world.allocation(world.store_b, blueberries)
    grapes_b = world.allocation(world.store_b, grapes)
    # B expected 3 of its 4 (1 reported short), got 2, and one of them damaged.
    receipt_record(
        purchase_order=world.purchase_order,
        store=world.store_b,
        lines={berries_b.pk: (1, 2, 1), grapes_b.pk: (2, 0, 0)},
        by=None,
    )
    line.refresh_from_db()
    # 1 short beyond the report, and the damaged unit apart: each unit counted once.
    assert (line.shortage_quantity, line.damaged_quantity) == (5 + 1, 1)
    # B's only order bears all of the store's short and damaged units.
    [order] = world.orders[world.store_b.pk]
    assert list(
        PurchaseOrderSource.objects.filter(short_quantity__gt=0).values_list(
            "order_line__order_id", "order_line__product_id", "short_quantity"
        )
    ) == [(order.pk, blueberries.pk, 3)]
    # A store that got less short than reported adds nothing.
    berries_a = world.allocation(world.store_a, blueberries)
    grapes_a = world.allocation(world.store_a, grapes)
    receipt_record(
        purchase_order=world.purchase_order,
        store=world.store_a,
        lines={berries_a.pk: (3, 3, 0), grapes_a.pk: (4, 0, 0)},
        by=None,
    )
    line.refresh_from_db()
    assert (line.shortage_quantity, line.damaged_quantity) == (6, 1)


def test_the_receiving_list_counts_the_units_to_expect(db, client):
    world, _line = _receiving_world()
    client.force_login(owner_of(world.store_a))
    response = client.get(reverse("supply:receiving", args=[world.store_a.pk]))
    [due] = response.context["deliveries"].due
    assert due.units == 2 + 4  # blueberries 6 − 4 reported short, grapes 4
