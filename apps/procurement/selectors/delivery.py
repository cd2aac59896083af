"""Reads of the regional delivery plans: each stop's drop list (docs/delivery-and-receiving.md)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import F, Sum

from apps.catalog.models import Product
from apps.procurement.models import (
    DeliveryPlan,
    DeliveryStop,
    PurchaseOrder,
    PurchaseOrderAllocation,
)
from apps.stores.models import Store

# The purchase orders whose goods a plan carries (the statuses `delivery_plans_build` reads).
DELIVERING_STATUSES = (
    PurchaseOrder.Status.SENT,
    PurchaseOrder.Status.CONFIRMED,
    PurchaseOrder.Status.SHIPPED,
)


@dataclass(frozen=True)
class DropItem:
    product_id: int
    sku: str
    name: str
    unit: str
    quantity: int


@dataclass
class DropList:
    """What the truck leaves at one stop: every product of the day's purchase orders allocated
    to the store, summed over the purchase orders, less what the suppliers reported short for
    the store (`reported_short_quantity`); a product with nothing left to drop is left out."""

    sequence: int
    store: Store
    delivered_at: dt.datetime | None
    items: list[DropItem] = field(default_factory=list)

    @property
    def address(self) -> str:
        return self.store.address

    @property
    def total(self) -> int:
        return sum(item.quantity for item in self.items)


@dataclass
class PlanSheet:
    plan: DeliveryPlan
    stops: list[DropList]
    stop_count: int  # stops on the whole plan (also when the sheet shows one store only)

    @property
    def total(self) -> int:
        return sum(stop.total for stop in self.stops)


def delivery_plan_sheet(*, plan: DeliveryPlan, store_id: int | None = None) -> PlanSheet:
    """The plan's drop lists in drop order; with `store_id`, only that store's (a store sees its
    own list, never another's). Products by SKU.

    Two queries whatever the number of stops and products: the stops with their stores, and
    what will ship of the allocations of the day's purchase orders (quantity less the
    reported short), summed per store and product.
    """
    stops = list(
        DeliveryStop.objects.filter(plan=plan).select_related("store").order_by("sequence")
    )
    stop_count = len(stops)
    if store_id is not None:
        stops = [stop for stop in stops if stop.store_id == store_id]
    rows = (
        PurchaseOrderAllocation.objects.filter(
            line__purchase_order__delivery_date=plan.delivery_date,
            line__purchase_order__status__in=DELIVERING_STATUSES,
            store_id__in=[stop.store_id for stop in stops],
        )
        .values(
            "store_id",
            "line__product_id",
            "line__product__sku",
            "line__product__name",
            "line__product__unit",
        )
        .annotate(quantity=Sum(F("quantity") - F("reported_short_quantity")))
        .filter(quantity__gt=0)
        .order_by("store_id", "line__product__sku")
    )
    units = dict(Product.Unit.choices)
    items: dict[int, list[DropItem]] = defaultdict(list)
    for row in rows:
        items[row["store_id"]].append(
            DropItem(
                product_id=row["line__product_id"],
                sku=row["line__product__sku"],
                name=row["line__product__name"],
                unit=str(units.get(row["line__product__unit"], row["line__product__unit"])),
                quantity=row["quantity"],
            )
        )
    return PlanSheet(
        plan=plan,
        stops=[
            DropList(
                sequence=stop.sequence,
                store=stop.store,
                delivered_at=stop.delivered_at,
                items=items.get(stop.store_id, []),
            )
            for stop in stops
        ],
        stop_count=stop_count,
    )


def delivery_plan_for_store(*, store: Store, day: dt.date) -> DeliveryPlan | None:
    """The plan of the store's region for `day`, if one was made."""
    return (
        DeliveryPlan.objects.filter(region_id=store.region_id, delivery_date=day)
        .select_related("region")
        .first()
    )
