"""Replenishment: the decision engine's suggested order quantities become draft purchase orders
for HQ to approve (send), edit or reject (cancel) in the admin."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from apps.catalog.models import DemandForecast
from apps.procurement.models import (
    PurchaseOrder,
    PurchaseOrderAllocation,
    PurchaseOrderLine,
    SupplierProduct,
)
from apps.procurement.services.consolidation import order_quantity_rounded


@dataclass(frozen=True)
class ReplenishmentResult:
    purchase_orders: int = 0
    lines: int = 0
    unsupplied_products: int = 0


def _preferred_offers(product_ids: set[int]) -> dict[int, SupplierProduct]:
    """The consolidation's choice: preferred, active supplier, cheapest, then lowest id."""
    offers: dict[int, SupplierProduct] = {}
    for offer in (
        SupplierProduct.objects.filter(
            product_id__in=product_ids, is_preferred=True, supplier__is_active=True
        )
        .select_related("supplier")
        .order_by("product_id", "cost", "supplier_id")
    ):
        offers.setdefault(offer.product_id, offer)
    return offers


def purchase_orders_replenish(*, issued_on: dt.date) -> ReplenishmentResult:
    """Draft purchase orders from the forecasts issued on `issued_on` with a positive suggested
    quantity: one per supplier and delivery date (`issued_on` + lead time), a line per product
    (the stores' suggestions summed, rounded per pack and minimum), an allocation per store.

    Idempotent: drafts are unique per (supplier, delivery date, issue day); a second call for the
    same day adds nothing. Drafts are not sent: HQ approves (sends), edits or rejects them.
    """
    rows = list(
        DemandForecast.objects.filter(issued_on=issued_on, suggested_qty__gt=0)
        .values("product_id", "store_id")
        .annotate(quantity=Sum("suggested_qty"))
        .order_by("product_id", "store_id")
    )
    offers = _preferred_offers({row["product_id"] for row in rows})
    groups: dict[tuple[int, dt.date], dict[int, dict[int, int]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    unsupplied = set()
    for row in rows:
        offer = offers.get(row["product_id"])
        if offer is None:
            unsupplied.add(row["product_id"])
            continue
        day = issued_on + dt.timedelta(days=offer.lead_time_days)
        groups[(offer.supplier_id, day)][row["product_id"]][row["store_id"]] = row["quantity"]
    with transaction.atomic():
        present = set(
            PurchaseOrder.objects.filter(replenishment_of=issued_on).values_list(
                "supplier_id", "delivery_date"
            )
        )
        fresh = [key for key in sorted(groups) if key not in present]
        codes = {offer.supplier_id: offer.supplier.code for offer in offers.values()}
        now = timezone.now()
        PurchaseOrder.objects.bulk_create(
            [
                PurchaseOrder(
                    number=f"PO{day:%Y%m%d}-{codes[supplier_id]}-R{issued_on:%Y%m%d}",
                    supplier_id=supplier_id,
                    delivery_date=day,
                    replenishment_of=issued_on,
                    status=PurchaseOrder.Status.DRAFT,
                    created_at=now,
                )
                for supplier_id, day in fresh
            ],
            ignore_conflicts=True,
        )
        made = {
            (po.supplier_id, po.delivery_date): po
            for po in PurchaseOrder.objects.filter(
                replenishment_of=issued_on, created_at=now, status=PurchaseOrder.Status.DRAFT
            )
        }
        lines = []
        per_store = []
        for key, products in groups.items():
            po = made.get(key)
            if po is None:
                continue
            for product_id, stores in products.items():
                offer = offers[product_id]
                demanded = sum(stores.values())
                ordered = order_quantity_rounded(
                    demanded=demanded, pack_size=offer.pack_size, min_order_qty=offer.min_order_qty
                )
                lines.append(
                    PurchaseOrderLine(
                        purchase_order=po,
                        product_id=product_id,
                        demanded_quantity=demanded,
                        ordered_quantity=ordered,
                        surplus_quantity=ordered - demanded,
                        pack_size=offer.pack_size,
                        min_order_qty=offer.min_order_qty,
                        unit_cost=offer.cost,
                    )
                )
                per_store.append(stores)
        PurchaseOrderLine.objects.bulk_create(lines)
        PurchaseOrderAllocation.objects.bulk_create(
            [
                PurchaseOrderAllocation(line=line, store_id=store_id, quantity=quantity)
                for line, stores in zip(lines, per_store, strict=True)
                for store_id, quantity in stores.items()
            ]
        )
    return ReplenishmentResult(
        purchase_orders=len(made), lines=len(lines), unsupplied_products=len(unsupplied)
    )


def purchase_order_line_edit(*, line: PurchaseOrderLine, demanded: int) -> PurchaseOrderLine:
    """HQ changes what a draft line asks for; what is ordered is rounded again (the store
    allocations keep the stores' suggestions). Only drafts (a conditional UPDATE on the
    purchase order's status); returns the line, refreshed. Raises ValueError when the order is
    no longer a draft or `demanded` is negative."""
    if demanded < 0:
        raise ValueError("demanded must not be negative")
    ordered = order_quantity_rounded(
        demanded=demanded, pack_size=line.pack_size, min_order_qty=line.min_order_qty
    )
    changed = PurchaseOrderLine.objects.filter(
        pk=line.pk, purchase_order__status=PurchaseOrder.Status.DRAFT
    ).update(
        demanded_quantity=demanded, ordered_quantity=ordered, surplus_quantity=ordered - demanded
    )
    if changed != 1:
        raise ValueError("only a draft purchase order's lines can be edited")
    line.refresh_from_db()
    return line
