"""Reads of the regional delivery plans: each stop's drop list (docs/delivery-and-receiving.md)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from apps.catalog.models import Product
from apps.procurement.models import (
    DeliveryPlan,
    DeliveryStop,
    PurchaseOrder,
    PurchaseOrderAllocation,
    PurchaseOrderLine,
)
from apps.procurement.selectors.shelf import SHELF_FIELDS, shelf_from_rows
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
    unit: str  # the unit's label in the active language (the print sheet's and files' column)
    unit_code: str  # `Product.Unit`, for a quantity with its unit (`with_unit`: "4 boxes")
    quantity: int  # what the truck leaves: for member orders and for the shelf
    shelf: int = 0  # of which for the store's shelf (its share of the rounding surplus)


@dataclass
class DropList:
    """What the truck leaves at one stop: every product of the day's purchase orders allocated
    to the store, summed over the purchase orders, less what the suppliers reported short for
    the store (`reported_short_quantity`), plus the store's shelf units of the lines'
    rounding surplus (`selectors.shelf`); a product with nothing left to drop is left out."""

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

    @property
    def shelf(self) -> int:
        return sum(item.shelf for item in self.items)


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
    every allocation of the day's purchase-order lines that go to these stores (each line's
    stores all count in its shelf split); what will ship (quantity less the reported short,
    plus the shelf units) is summed per store and product.
    """
    stops = list(
        DeliveryStop.objects.filter(plan=plan).select_related("store").order_by("sequence")
    )
    stop_count = len(stops)
    if store_id is not None:
        stops = [stop for stop in stops if stop.store_id == store_id]
    store_ids = {stop.store_id for stop in stops}
    lines = PurchaseOrderLine.objects.filter(
        purchase_order__delivery_date=plan.delivery_date,
        purchase_order__status__in=DELIVERING_STATUSES,
        allocations__store_id__in=store_ids,
    ).values("pk")
    rows = list(
        PurchaseOrderAllocation.objects.filter(line_id__in=lines).values(
            *SHELF_FIELDS,
            "reported_short_quantity",
            "line__product_id",
            "line__product__sku",
            "line__product__name",
            "line__product__unit",
        )
    )
    shelf = shelf_from_rows(rows)
    summed: dict[tuple[int, int], list[int]] = {}
    products: dict[int, dict[str, object]] = {}
    for row in rows:
        if row["store_id"] not in store_ids:
            continue
        key = (row["store_id"], row["line__product_id"])
        units = summed.setdefault(key, [0, 0])
        units[0] += row["quantity"] - row["reported_short_quantity"] + shelf[row["pk"]]
        units[1] += shelf[row["pk"]]
        products[row["line__product_id"]] = row
    unit_labels = dict(Product.Unit.choices)
    items: dict[int, list[DropItem]] = defaultdict(list)
    for (store, product_id), (quantity, shelf_units) in summed.items():
        if quantity <= 0:
            continue
        product = products[product_id]
        unit = product["line__product__unit"]
        items[store].append(
            DropItem(
                product_id=product_id,
                sku=product["line__product__sku"],
                name=product["line__product__name"],
                unit=str(unit_labels.get(unit, unit)),
                unit_code=unit,
                quantity=quantity,
                shelf=shelf_units,
            )
        )
    for store_items in items.values():
        store_items.sort(key=lambda item: (item.sku, item.product_id))
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
