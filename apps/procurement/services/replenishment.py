"""Replenishment: the decision engine's suggested order quantities become draft purchase orders
for HQ to approve (send), edit or reject (cancel) in the admin."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import Least
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.catalog.models import DemandForecast
from apps.procurement.models import (
    PurchaseOrder,
    PurchaseOrderAllocation,
    PurchaseOrderLine,
    SupplierProduct,
)
from apps.procurement.services.allocations import allocations_scaled, allocations_short_update
from apps.procurement.services.consolidation import order_quantity_rounded
from apps.procurement.services.purchase_orders import PurchaseOrderRefused
from linli.wording import status_in_sentence


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


# The largest value of the lines' integer columns (PostgreSQL `integer`): what is ordered, the
# demand rounded up to whole packs, must fit.
LINE_UNITS_COLUMN_MAX = 2**31 - 1


def purchase_order_line_demand_check(*, line: PurchaseOrderLine, demanded: int) -> int:
    """What is ordered for `demanded` units on `line` (rounded as `purchase_order_line_edit`
    rounds), or `PurchaseOrderRefused`: `negative`; `too_large`, more than
    `settings.PURCHASE_LINE_MAX_UNITS` units (a typing guard); `overflow`, rounded up to the
    line's packs or minimum order it would not fit the line's columns. The admin's form calls
    it to show the refusal on the field; `purchase_order_line_edit` calls it again."""
    if demanded < 0:
        raise PurchaseOrderRefused("negative", _("The demand cannot be negative."))
    limit = min(settings.PURCHASE_LINE_MAX_UNITS, LINE_UNITS_COLUMN_MAX)
    if demanded > limit:
        raise PurchaseOrderRefused(
            "too_large",
            _(
                "At most %(limit)d units can be asked for on one line; a larger number is most "
                "likely a typing error."
            )
            % {"limit": limit},
        )
    ordered = order_quantity_rounded(
        demanded=demanded, pack_size=line.pack_size, min_order_qty=line.min_order_qty
    )
    if ordered > LINE_UNITS_COLUMN_MAX:
        raise PurchaseOrderRefused(
            "overflow",
            _(
                "Rounded up to whole packs of %(pack)d (minimum %(minimum)d), %(demanded)d units "
                "would order %(ordered)d, more than a line can hold."
            )
            % {
                "pack": line.pack_size,
                "minimum": line.min_order_qty,
                "demanded": demanded,
                "ordered": ordered,
            },
        )
    return ordered


def purchase_order_line_edit(*, line: PurchaseOrderLine, demanded: int) -> PurchaseOrderLine:
    """HQ changes what a draft line asks for. The stores' allocations are scaled to the new
    demand (`allocations_scaled`: they add up to it exactly, as consolidation's allocations
    add up to the line's demand; a store scaled to nothing loses its allocation) and what is
    ordered is rounded again like consolidation (`order_quantity_rounded`; the surplus,
    ordered − demand, is not allocated) and a reported shortage is shared out again
    (`allocations_short_update`). A line without allocations (HQ's own, made by hand)
    only changes its numbers; a line edited to 0 keeps no allocation.

    Only drafts: the purchase order's row is locked (`select_for_update`, as every other
    change to its lines) and must still be a draft; the line and its allocations are then
    written in the same transaction, and the purchase order's `revision` goes up with them:
    a page that showed the order before the edit (HQ's cancel confirmation, the supplier's
    confirmation once it is sent) is refused as `changed`, as after a consolidation run added
    to it. Returns the line, refreshed. Refused (`PurchaseOrderRefused`, nothing written):
    those of `purchase_order_line_demand_check` (`negative`, `too_large`, `overflow`),
    `not_draft`."""
    purchase_order_line_demand_check(line=line, demanded=demanded)
    with transaction.atomic():
        locked = PurchaseOrder.objects.select_for_update().get(pk=line.purchase_order_id)
        if locked.status != PurchaseOrder.Status.DRAFT:
            raise PurchaseOrderRefused(
                "not_draft",
                _("Only a draft's lines can be edited; this purchase order is %(status)s.")
                % {"status": status_in_sentence(locked.get_status_display())},
            )
        ordered = order_quantity_rounded(
            demanded=demanded, pack_size=line.pack_size, min_order_qty=line.min_order_qty
        )
        PurchaseOrderLine.objects.filter(pk=line.pk).update(
            demanded_quantity=demanded,
            ordered_quantity=ordered,
            surplus_quantity=ordered - demanded,
            shortage_quantity=Least(F("shortage_quantity"), ordered),
        )
        allocations = {
            allocation.store_id: allocation
            for allocation in PurchaseOrderAllocation.objects.filter(line_id=line.pk)
        }
        scaled = allocations_scaled(
            quantities={store_id: a.quantity for store_id, a in allocations.items()},
            total=demanded,
        )
        PurchaseOrderAllocation.objects.filter(line_id=line.pk).exclude(
            store_id__in=list(scaled)
        ).delete()
        changed = []
        for store_id, units in scaled.items():
            allocation = allocations[store_id]
            if allocation.quantity != units:
                allocation.quantity = units
                # Within the new quantity until the shortage is shared out again below.
                allocation.reported_short_quantity = min(allocation.reported_short_quantity, units)
                changed.append(allocation)
        PurchaseOrderAllocation.objects.bulk_update(
            changed, ["quantity", "reported_short_quantity"]
        )
        allocations_short_update(line_ids=[line.pk])
        PurchaseOrder.objects.filter(pk=locked.pk).update(revision=F("revision") + 1)
    line.refresh_from_db()
    return line
