"""Factories and a ready-made "supply world" for delivery plans, receiving, pickup and
after-sales tests (owned by the delivery/receiving work; other test modules may import it).

`supply_world()` builds, with real consolidation: one region with two stores (codes sorted A
before B), a third store in another region, a supplier, two products, member orders (with
members) at each store, and the resulting purchase order moved to the wanted status and
delivery date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import count

import factory
from django.utils import timezone

from apps.catalog.models import Product
from apps.customers.models import Member
from apps.procurement.models import (
    DeliveryPlan,
    DeliveryStop,
    PurchaseOrder,
    PurchaseOrderAllocation,
    Receipt,
    ReceiptLine,
    Supplier,
    SupplierProduct,
)
from apps.procurement.services.consolidation import purchase_orders_consolidate
from apps.stores.models import Order, Region, Store
from tests.factories import (
    MemberFactory,
    ProductFactory,
    RegionFactory,
    StoreFactory,
    SupplierFactory,
    UserFactory,
)
from tests.procurement.factories import PurchaseOrderAllocationFactory, supply_order

_cutoffs = count(1)
_worlds = count(1)


class DeliveryPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryPlan

    region = factory.SubFactory(RegionFactory)
    delivery_date = factory.Sequence(lambda n: timezone.localdate() + dt.timedelta(days=n + 1))


class DeliveryStopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryStop

    plan = factory.SubFactory(DeliveryPlanFactory)
    store = factory.SubFactory(StoreFactory)
    sequence = factory.Sequence(lambda n: n + 1)
    units = 0


class ReceiptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Receipt

    purchase_order = factory.LazyAttribute(lambda receipt: receipt.allocation.line.purchase_order)
    store = factory.LazyAttribute(lambda receipt: receipt.allocation.store)
    received_by = factory.SubFactory(UserFactory)

    class Params:
        allocation = factory.SubFactory(PurchaseOrderAllocationFactory)


class ReceiptLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReceiptLine

    allocation = factory.SubFactory(PurchaseOrderAllocationFactory)
    receipt = factory.SubFactory(ReceiptFactory, allocation=factory.SelfAttribute("..allocation"))
    allocated_quantity = factory.LazyAttribute(lambda line: line.allocation.quantity)
    received_quantity = factory.LazyAttribute(lambda line: line.allocation.quantity)


@dataclass
class SupplyWorld:
    region: Region
    store_a: Store
    store_b: Store
    other_store: Store  # in another region, no allocation on the purchase order
    supplier: Supplier
    products: list[Product]
    purchase_order: PurchaseOrder
    # store id -> its member orders, oldest first
    orders: dict[int, list[Order]] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)  # order id -> member

    def allocation(self, store: Store, product: Product) -> PurchaseOrderAllocation:
        return PurchaseOrderAllocation.objects.get(
            line__purchase_order=self.purchase_order, line__product=product, store=store
        )


def purchase_order_move(
    purchase_order: PurchaseOrder, *, status: str, delivery_date: dt.date | None = None
) -> PurchaseOrder:
    """Put a purchase order in `status` (test shortcut around the supplier steps)."""
    changes: dict[str, object] = {"status": status}
    if status in (PurchaseOrder.Status.CONFIRMED, PurchaseOrder.Status.SHIPPED):
        changes["ship_date"] = delivery_date or purchase_order.delivery_date
        changes["confirmed_at"] = timezone.now()
    elif status != PurchaseOrder.Status.CANCELLED:
        changes["ship_date"] = None
    if status == PurchaseOrder.Status.SHIPPED:
        changes["shipped_at"] = timezone.now()
    if delivery_date is not None:
        changes["delivery_date"] = delivery_date
    PurchaseOrder.objects.filter(pk=purchase_order.pk).update(**changes)
    purchase_order.refresh_from_db()
    return purchase_order


def supply_world(
    *,
    status: str = PurchaseOrder.Status.SHIPPED,
    delivery_date: dt.date | None = None,
    quantities_a: tuple[tuple[int, int], ...] = ((2, 1), (3, 2), (1, 1)),
    quantities_b: tuple[tuple[int, int], ...] = ((4, 2),),
    region: Region | None = None,
    pack_size: int = 1,
    min_order_qty: int = 1,
) -> SupplyWorld:
    """A consolidated purchase order with allocations to two stores of one region.

    `quantities_a` / `quantities_b`: one (units of product 0, units of product 1) pair per
    member order at that store, oldest order first (placed an hour apart). Product 1 units of 0
    leave that product off the order. The purchase order is moved to `status` with
    `delivery_date` (default tomorrow). `pack_size` and `min_order_qty` are both offers'
    (default 1 and 1: no rounding surplus).
    """
    region = region or RegionFactory()
    n = next(_worlds)
    store_a = StoreFactory(region=region, code=f"W{n:03d}-A", address="杭州市西湖区文三路1号")
    store_b = StoreFactory(region=region, code=f"W{n:03d}-B")
    other_store = StoreFactory()
    supplier = SupplierFactory()
    products = [
        ProductFactory(name="云南蓝莓 125g"),
        ProductFactory(name="阳光玫瑰葡萄"),
    ]
    for product in products:
        SupplierProduct.objects.create(
            supplier=supplier,
            product=product,
            cost=Decimal("8.50"),
            pack_size=pack_size,
            min_order_qty=min_order_qty,
            lead_time_days=1,
        )
    world_orders: dict[int, list[Order]] = {}
    members: dict[int, Member] = {}
    base = timezone.now() - dt.timedelta(hours=12)
    for store, quantities in ((store_a, quantities_a), (store_b, quantities_b)):
        world_orders[store.pk] = []
        for index, (first, second) in enumerate(quantities):
            lines = [
                (product, units)
                for product, units in zip(products, (first, second), strict=True)
                if units
            ]
            order = supply_order(
                store=store, lines=lines, placed_at=base + dt.timedelta(hours=index)
            )
            member = MemberFactory()
            Order.objects.filter(pk=order.pk).update(member=member)
            order.member = member
            world_orders[store.pk].append(order)
            members[order.pk] = member
    cutoff = timezone.now().replace(microsecond=0) + dt.timedelta(seconds=next(_cutoffs))
    run = purchase_orders_consolidate(cutoff=cutoff)
    purchase_order = PurchaseOrder.objects.get(run=run, supplier=supplier)
    purchase_order_move(
        purchase_order,
        status=status,
        delivery_date=delivery_date or timezone.localdate() + dt.timedelta(days=1),
    )
    return SupplyWorld(
        region=region,
        store_a=store_a,
        store_b=store_b,
        other_store=other_store,
        supplier=supplier,
        products=products,
        purchase_order=purchase_order,
        orders=world_orders,
        members=members,
    )
