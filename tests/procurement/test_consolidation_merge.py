"""One purchase order per supplier and delivery date: a later consolidation run adds to the
open (sent, not yet confirmed) purchase order instead of making another (docs/purchasing.md,
"Consolidation")."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from apps.campaigns.models import Notification
from apps.procurement.models import (
    PurchaseOrder,
    PurchaseOrderAllocation,
    PurchaseOrderLine,
    PurchaseOrderSource,
    SupplierProduct,
)
from apps.procurement.services.consolidation import (
    order_cancelled_for_supply,
    purchase_orders_consolidate,
)
from apps.procurement.services.purchase_orders import (
    PurchaseOrderRefused,
    purchase_order_cancel,
    purchase_order_confirm,
    purchase_order_report_shortage,
    purchase_order_ship,
)
from apps.stores.models import Order
from tests.factories import (
    ProductFactory,
    StoreFactory,
    SupplierFactory,
    SupplierProductFactory,
    SupplierUserFactory,
)
from tests.procurement.factories import (
    ConsolidationRunFactory,
    OrderLineFactory,
    PurchaseOrderAllocationFactory,
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    PurchaseOrderSourceFactory,
    supply_order,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: None) -> SimpleNamespace:
    """An orchard with two products (minimum 6 in units; packs of 6), two stores."""
    farm = SupplierFactory(name="云南蓝莓果园")
    berries = ProductFactory(name="云南蓝莓 125g")
    grapes = ProductFactory(name="阳光玫瑰葡萄")
    SupplierProductFactory(
        supplier=farm,
        product=berries,
        cost=Decimal("8.50"),
        pack_size=1,
        min_order_qty=6,
        lead_time_days=2,
    )
    SupplierProductFactory(
        supplier=farm,
        product=grapes,
        cost=Decimal("12.00"),
        pack_size=6,
        min_order_qty=6,
        lead_time_days=2,
    )
    return SimpleNamespace(
        farm=farm, berries=berries, grapes=grapes, a=StoreFactory(), b=StoreFactory()
    )


class _Clock:
    """Cut-offs one second apart, as a settlement and the 22:00 run of one day."""

    def __init__(self) -> None:
        self.moment = timezone.now().replace(microsecond=0)

    def next(self) -> dt.datetime:
        self.moment += dt.timedelta(seconds=1)
        return self.moment


@pytest.fixture
def clock() -> _Clock:
    return _Clock()


def _cancel(order: Order) -> Order:
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)
    order.refresh_from_db()
    return order


def test_two_runs_on_one_day_give_one_purchase_order_rounded_once_on_the_total(world, clock):
    supply_order(store=world.a, lines=[(world.berries, 4)])
    first = purchase_orders_consolidate(cutoff=clock.next())
    po = PurchaseOrder.objects.get()
    assert (po.lines.get().ordered_quantity, po.revision, po.updated_at) == (6, 1, None)

    supply_order(store=world.b, lines=[(world.berries, 3), (world.grapes, 2)])
    supply_order(store=world.a, lines=[(world.berries, 1)])
    second = purchase_orders_consolidate(cutoff=clock.next())

    po.refresh_from_db()
    assert PurchaseOrder.objects.get() == po
    assert (po.run, po.status, po.revision) == (first, PurchaseOrder.Status.SENT, 2)
    assert po.updated_at is not None
    berries = po.lines.get(product=world.berries)
    # Minimum 6: demand 4 then 4 orders 8 (rounded once on the total), not 6 + 6 = 12.
    assert (berries.demanded_quantity, berries.ordered_quantity, berries.surplus_quantity) == (
        8,
        8,
        0,
    )
    grapes = po.lines.get(product=world.grapes)
    assert (grapes.demanded_quantity, grapes.ordered_quantity, grapes.surplus_quantity) == (
        2,
        6,
        4,
    )
    # Per store, the allocations add the runs up and sum to the line's demand.
    assert dict(berries.allocations.values_list("store_id", "quantity")) == {
        world.a.pk: 5,
        world.b.pk: 3,
    }
    assert dict(grapes.allocations.values_list("store_id", "quantity")) == {world.b.pk: 2}
    for line in (berries, grapes):
        linked = line.sources.aggregate(total=Sum("quantity"))["total"]
        assert linked == line.demanded_quantity
    assert PurchaseOrderSource.objects.count() == 4
    assert (first.purchase_order_count, first.purchase_order_updated_count) == (1, 0)
    assert (
        second.source_line_count,
        second.purchase_order_count,
        second.purchase_order_updated_count,
        second.purchase_order_line_count,
    ) == (3, 0, 1, 2)


def test_a_grown_line_keeps_its_own_pack_minimum_and_cost(world, clock):
    supply_order(store=world.a, lines=[(world.grapes, 4)])
    purchase_orders_consolidate(cutoff=clock.next())
    SupplierProduct.objects.filter(product=world.grapes).update(
        pack_size=10, min_order_qty=20, cost=Decimal("9.90")
    )
    supply_order(store=world.b, lines=[(world.grapes, 5)])
    purchase_orders_consolidate(cutoff=clock.next())
    line = PurchaseOrderLine.objects.get()
    assert (line.demanded_quantity, line.ordered_quantity, line.surplus_quantity) == (9, 12, 3)
    assert (line.pack_size, line.min_order_qty, line.unit_cost) == (6, 6, Decimal("12.00"))


@pytest.mark.parametrize("step", ["confirmed", "shipped", "cancelled"])
def test_a_run_after_the_supplier_confirmed_makes_a_new_purchase_order(world, clock, step):
    supply_order(store=world.a, lines=[(world.berries, 4)])
    purchase_orders_consolidate(cutoff=clock.next())
    first = PurchaseOrder.objects.get()
    if step == "cancelled":
        purchase_order_cancel(po=first, by=None)
    else:
        purchase_order_confirm(po=first, ship_date=timezone.localdate(), by=None)
    if step == "shipped":
        purchase_order_ship(po=first, by=None)

    supply_order(store=world.b, lines=[(world.berries, 4)])
    later = purchase_orders_consolidate(cutoff=clock.next())

    assert (later.purchase_order_count, later.purchase_order_updated_count) == (1, 0)
    assert PurchaseOrder.objects.count() == 2
    new = PurchaseOrder.objects.get(run=later)
    assert (new.delivery_date, new.status) == (first.delivery_date, PurchaseOrder.Status.SENT)
    assert new.lines.get().demanded_quantity == 4
    old_line = first.lines.get()
    assert (old_line.demanded_quantity, old_line.ordered_quantity) == (4, 6)
    first.refresh_from_db()
    assert (first.status, first.revision, first.updated_at) == (step, 1, None)


def test_a_draft_is_never_added_to(world, clock):
    draft = PurchaseOrderFactory(
        supplier=world.farm,
        delivery_date=timezone.localdate() + dt.timedelta(days=2),
        status=PurchaseOrder.Status.DRAFT,
        sent_at=None,
    )
    supply_order(store=world.a, lines=[(world.berries, 4)])
    run = purchase_orders_consolidate(cutoff=clock.next())
    assert run.purchase_order_count == 1
    assert not draft.lines.exists()
    assert PurchaseOrder.objects.get(run=run).delivery_date == draft.delivery_date


def test_the_supplier_users_are_told_what_was_added(world, clock):
    user = SupplierUserFactory(supplier=world.farm).user
    supply_order(store=world.a, lines=[(world.berries, 4)])
    purchase_orders_consolidate(cutoff=clock.next())
    supply_order(store=world.b, lines=[(world.berries, 3), (world.grapes, 2)])
    cutoff = clock.next()
    purchase_orders_consolidate(cutoff=cutoff)
    purchase_orders_consolidate(cutoff=cutoff)  # the same run again: nothing new

    po = PurchaseOrder.objects.get()
    new, updated = Notification.objects.order_by("pk")
    assert new.kind == "purchase_order.new"
    assert (updated.kind, updated.recipient) == ("purchase_order.updated", user)
    assert updated.title == f"采购单 {po.number} 已更新"
    assert updated.body == (
        f"到货日期：{po.delivery_date.isoformat()}。"
        "新增：云南蓝莓 125g +3（共订 7）；阳光玫瑰葡萄 +2（共订 6）。"
    )
    assert updated.payload == {
        "purchase_order_id": po.pk,
        "url": f"/supplier/orders/{po.pk}/",
        "revision": 2,
        # The message's parameters: each reader sees it in their own language.
        "number": po.number,
        "delivery_date": po.delivery_date.isoformat(),
        "added": [
            {"product": "云南蓝莓 125g", "units": 3, "ordered": 7},
            {"product": "阳光玫瑰葡萄", "units": 2, "ordered": 6},
        ],
    }


def test_a_confirmation_of_the_revision_seen_before_a_run_added_to_it_is_refused(world, clock):
    supply_order(store=world.a, lines=[(world.berries, 4)])
    purchase_orders_consolidate(cutoff=clock.next())
    po = PurchaseOrder.objects.get()
    seen = po.revision
    supply_order(store=world.b, lines=[(world.grapes, 2)])
    purchase_orders_consolidate(cutoff=clock.next())

    with pytest.raises(PurchaseOrderRefused) as changed:
        purchase_order_confirm(po=po, ship_date=timezone.localdate(), by=None, revision=seen)

    assert changed.value.code == "changed"
    po.refresh_from_db()
    assert (po.status, po.ship_date, po.confirmed_at) == (PurchaseOrder.Status.SENT, None, None)
    purchase_order_confirm(po=po, ship_date=timezone.localdate(), by=None, revision=po.revision)
    assert po.status == PurchaseOrder.Status.CONFIRMED


def test_a_cancellation_after_a_merge_rerounds_on_the_total(world, clock):
    first = supply_order(store=world.a, lines=[(world.berries, 4)])
    purchase_orders_consolidate(cutoff=clock.next())
    second = supply_order(store=world.b, lines=[(world.berries, 5)])
    supply_order(store=world.b, lines=[(world.berries, 1)])
    purchase_orders_consolidate(cutoff=clock.next())
    line = PurchaseOrderLine.objects.get()
    assert (line.demanded_quantity, line.ordered_quantity) == (10, 10)

    outcome = order_cancelled_for_supply(order=_cancel(second))

    assert outcome.reduced == 1
    line.refresh_from_db()
    assert (line.demanded_quantity, line.ordered_quantity, line.surplus_quantity) == (5, 6, 1)
    assert dict(line.allocations.values_list("store_id", "quantity")) == {
        world.a.pk: 4,
        world.b.pk: 1,
    }
    order_cancelled_for_supply(order=_cancel(first))
    line.refresh_from_db()
    assert (line.demanded_quantity, line.ordered_quantity) == (1, 6)
    assert dict(line.allocations.values_list("store_id", "quantity")) == {world.b.pk: 1}
    assert PurchaseOrder.objects.get().status == PurchaseOrder.Status.SENT


def test_a_reported_shortage_is_shared_out_again_when_a_run_adds_to_the_line(world, clock):
    earlier = timezone.now() - dt.timedelta(hours=2)
    supply_order(store=world.a, lines=[(world.grapes, 4)], placed_at=earlier)
    purchase_orders_consolidate(cutoff=clock.next())
    po = PurchaseOrder.objects.get()
    line = po.lines.get()
    # Ordered 6, surplus 2: 4 short is 2 beyond the surplus, store A's to bear.
    purchase_order_report_shortage(po=po, lines={line.pk: 4}, note="冰雹", by=None)
    assert dict(line.allocations.values_list("store_id", "reported_short_quantity")) == {
        world.a.pk: 2
    }

    supply_order(
        store=world.b, lines=[(world.grapes, 5)], placed_at=earlier + dt.timedelta(hours=1)
    )
    purchase_orders_consolidate(cutoff=clock.next())

    line.refresh_from_db()
    # Demand 9, ordered 12, surplus 3: 1 beyond it, borne by the latest order (store B's).
    assert (line.ordered_quantity, line.surplus_quantity, line.shortage_quantity) == (12, 3, 4)
    assert dict(line.allocations.values_list("store_id", "reported_short_quantity")) == {
        world.a.pk: 0,
        world.b.pk: 1,
    }


def test_the_database_allows_one_open_consolidated_order_per_supplier_and_day(world):
    day = timezone.localdate() + dt.timedelta(days=2)
    PurchaseOrderFactory(supplier=world.farm, delivery_date=day, run=ConsolidationRunFactory())
    # Confirmed, draft and hand-made orders of the same supplier and day are not open ones.
    PurchaseOrderFactory(
        supplier=world.farm,
        delivery_date=day,
        run=ConsolidationRunFactory(),
        status=PurchaseOrder.Status.CONFIRMED,
        ship_date=day,
    )
    PurchaseOrderFactory(supplier=world.farm, delivery_date=day)
    with pytest.raises(IntegrityError), transaction.atomic():
        PurchaseOrderFactory(supplier=world.farm, delivery_date=day, run=ConsolidationRunFactory())
    assert PurchaseOrder.objects.filter(supplier=world.farm).count() == 3


def _merge_migration() -> object:
    return importlib.import_module("apps.procurement.migrations.0006_purchase_order_merge")


def _allocated(line: PurchaseOrderLine, store: object, quantity: int, order_lines: list) -> None:
    PurchaseOrderAllocationFactory(line=line, store=store, quantity=quantity)
    order_line = OrderLineFactory(order__store=store, product=line.product, quantity=quantity)
    PurchaseOrderSourceFactory(line=line, order_line=order_line, quantity=quantity)
    order_lines.append(order_line)


def test_the_migration_merges_the_open_orders_earlier_runs_made(world):
    """What the old consolidation left (two sent orders of one supplier and day) becomes one
    before the constraint: the first keeps its number and takes the other's lines."""
    with connection.cursor() as cursor:  # the test's transaction puts it back
        cursor.execute("DROP INDEX purchase_order_one_open_consolidation")
    day = timezone.localdate() + dt.timedelta(days=2)
    keep, other = (
        PurchaseOrderFactory(supplier=world.farm, delivery_date=day, run=ConsolidationRunFactory())
        for _ in range(2)
    )
    untouched = PurchaseOrderFactory(
        supplier=world.farm, delivery_date=day + dt.timedelta(days=1), run=keep.run
    )
    order_lines: list = []
    terms = {"pack_size": 1, "min_order_qty": 6, "surplus_quantity": 2}
    kept = PurchaseOrderLineFactory(
        purchase_order=keep, product=world.berries, demanded_quantity=4, ordered_quantity=6, **terms
    )
    _allocated(kept, world.a, 4, order_lines)
    grown = PurchaseOrderLineFactory(
        purchase_order=other,
        product=world.berries,
        demanded_quantity=4,
        ordered_quantity=6,
        **terms,
    )
    _allocated(grown, world.a, 1, order_lines)
    _allocated(grown, world.b, 3, order_lines)
    moved = PurchaseOrderLineFactory(
        purchase_order=other,
        product=world.grapes,
        demanded_quantity=2,
        ordered_quantity=6,
        surplus_quantity=4,
    )
    _allocated(moved, world.b, 2, order_lines)

    _merge_migration().merge_open_consolidations(
        django_apps,
        SimpleNamespace(
            connection=connection, execute=lambda sql: connection.cursor().execute(sql)
        ),
    )
    # The migration's next step, in the same transaction: the constraint can now be made.
    constraint = next(
        constraint
        for constraint in PurchaseOrder._meta.constraints
        if constraint.name == "purchase_order_one_open_consolidation"
    )
    with connection.cursor() as cursor:
        cursor.execute(str(constraint.create_sql(PurchaseOrder, connection.schema_editor())))

    assert set(PurchaseOrder.objects.values_list("pk", flat=True)) == {keep.pk, untouched.pk}
    keep.refresh_from_db()
    assert (keep.revision, keep.status) == (2, PurchaseOrder.Status.SENT)
    assert keep.updated_at is not None
    berries = keep.lines.get(product=world.berries)
    assert (berries.demanded_quantity, berries.ordered_quantity, berries.surplus_quantity) == (
        8,
        8,
        0,
    )
    assert dict(berries.allocations.values_list("store_id", "quantity")) == {
        world.a.pk: 5,
        world.b.pk: 3,
    }
    assert keep.lines.get(product=world.grapes).pk == moved.pk
    assert sorted(
        PurchaseOrderSource.objects.filter(line__purchase_order=keep).values_list(
            "order_line_id", flat=True
        )
    ) == sorted(order_line.pk for order_line in order_lines)
    assert PurchaseOrderAllocation.objects.filter(line__purchase_order=keep).count() == 3
