"""Reads for store receiving: the deliveries a store expects and has received, and one
purchase order as the store receives it (docs/delivery-and-receiving.md)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Exists, F, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from apps.procurement.models import (
    PurchaseOrder,
    PurchaseOrderAllocation,
    Receipt,
    ReceiptLine,
)
from apps.procurement.selectors.shelf import (
    SHELF_FIELDS,
    shelf_from_rows,
    shelf_quantities_attach,
)
from apps.stores.models import OrderLine

# Deliveries a store waits for: sent (not yet confirmed), confirmed or shipped.
DUE_STATUSES = (
    PurchaseOrder.Status.SENT,
    PurchaseOrder.Status.CONFIRMED,
    PurchaseOrder.Status.SHIPPED,
)
RECEIVABLE_STATUSES = (PurchaseOrder.Status.CONFIRMED, PurchaseOrder.Status.SHIPPED)


def order_line_units_arrived(line: OrderLine) -> int:
    """What of a member order line is there to hand over: its quantity less the units it came
    short at receiving (its live purchase-order source; a cancelled link bore nothing). A line
    without a source (goods from the shelf) is all there. Load the line with
    `select_related("purchase_source")`."""
    source = getattr(line, "purchase_source", None)
    short = source.short_quantity if source is not None and source.cancelled_at is None else 0
    return max(0, line.quantity - short)


def orders_units_short(*, order_ids: list[int]) -> dict[int, int]:
    """{order id: units that came short at store receiving} for those of these orders with a
    line that did not arrive in full (its live purchase-order source's `short_quantity`, at
    most the line's quantity, as `order_line_units_arrived` counts it). One query."""
    if not order_ids:
        return {}
    short: dict[int, int] = {}
    for order_id, quantity, units in (
        OrderLine.objects.filter(
            order_id__in=order_ids,
            purchase_source__cancelled_at__isnull=True,
            purchase_source__short_quantity__gt=0,
        )
        .order_by()
        .values_list("order_id", "quantity", "purchase_source__short_quantity")
    ):
        short[order_id] = short.get(order_id, 0) + min(units, quantity)
    return short


@dataclass(frozen=True)
class StoreDeliveries:
    # Each with `units` (what will ship to the store: allocated less reported short, plus the
    # store's shelf units of the rounding surplus, > 0) and `shelf_units`, by delivery date.
    due: list[PurchaseOrder]
    received: list[Receipt]  # each with `received_units`, `short_units`, `damaged_units`
    # Confirmed or shipped, not received, of which the supplier reported every unit for this
    # store short (`units` 0): nothing comes, but the store closes it out so that the member
    # orders it was bought for are settled (receiving them records the shortage).
    nothing_coming: list[PurchaseOrder] = field(default_factory=list)


def _store_units(store_id: int) -> Subquery:
    return Subquery(
        PurchaseOrderAllocation.objects.filter(
            line__purchase_order=OuterRef("pk"), store_id=store_id
        )
        .values("store_id")
        .annotate(total=Sum(F("quantity") - F("reported_short_quantity")))
        .values("total"),
        output_field=IntegerField(),
    )


def store_deliveries(*, store_id: int, received_limit: int = 30) -> StoreDeliveries:
    """The purchase orders with goods to come to this store that it has not received yet
    (sent, confirmed or shipped, at least one unit that ships to it; by delivery date), the
    confirmed or shipped ones of which nothing ships to it (every unit reported short: to
    close out), and its latest receipts. Each due purchase order has `units` (what ships to
    the store, its shelf units included) and `shelf_units` (of which for the shelf). Three
    queries."""
    allocated_here = PurchaseOrderAllocation.objects.filter(
        line__purchase_order=OuterRef("pk"), store_id=store_id
    )
    received_here = Receipt.objects.filter(purchase_order=OuterRef("pk"), store_id=store_id)
    open_orders = list(
        PurchaseOrder.objects.filter(status__in=DUE_STATUSES)
        .filter(Exists(allocated_here))
        .exclude(Exists(received_here))
        .select_related("supplier")
        .annotate(units=_store_units(store_id))
        .order_by("delivery_date", "pk")
    )
    # The store's shelf units of the rounding surplus come on the same truck.
    shelf_rows = list(
        PurchaseOrderAllocation.objects.filter(
            line__purchase_order__in=[po.pk for po in open_orders]
        ).values(*SHELF_FIELDS, "line__purchase_order_id")
    )
    shelf = shelf_from_rows(shelf_rows)
    shelf_of: dict[int, int] = defaultdict(int)
    for row in shelf_rows:
        if row["store_id"] == store_id:
            shelf_of[row["line__purchase_order_id"]] += shelf[row["pk"]]
    for po in open_orders:
        po.shelf_units = shelf_of[po.pk]
        po.units = (po.units or 0) + po.shelf_units
    due = [po for po in open_orders if po.units > 0]
    nothing_coming = [
        po for po in open_orders if po.units <= 0 and po.status in RECEIVABLE_STATUSES
    ]
    received = list(
        Receipt.objects.filter(store_id=store_id)
        .select_related("purchase_order__supplier")
        .annotate(
            received_units=Coalesce(Sum("lines__received_quantity"), 0),
            short_units=Coalesce(Sum("lines__short_quantity"), 0),
            damaged_units=Coalesce(Sum("lines__damaged_quantity"), 0),
        )
        .order_by("-received_at", "-pk")[:received_limit]
    )
    return StoreDeliveries(due=due, received=received, nothing_coming=nothing_coming)


@dataclass(frozen=True)
class ReceivingRow:
    allocation: PurchaseOrderAllocation  # with line and product
    receipt_line: ReceiptLine | None


@dataclass(frozen=True)
class ReceivingSheet:
    purchase_order: PurchaseOrder
    rows: list[ReceivingRow]
    receipt: Receipt | None

    @property
    def receivable(self) -> bool:
        """The form is offered: confirmed or shipped, and not received yet."""
        return self.receipt is None and self.purchase_order.status in RECEIVABLE_STATUSES

    @property
    def cancelled(self) -> bool:
        """The purchase order was cancelled (by HQ, or by consolidation when every member
        order it was bought for was cancelled): nothing will arrive for it."""
        return self.purchase_order.status == PurchaseOrder.Status.CANCELLED

    @property
    def nothing_coming(self) -> bool:
        """The supplier reported every unit for this store short: receiving it only closes
        it out (received 0), which settles the member orders it was bought for."""
        return self.units == 0

    @property
    def units(self) -> int:
        """What the store should expect: allocated less what the supplier reported short,
        plus its shelf units of the rounding surplus."""
        return sum(row.allocation.delivered_quantity for row in self.rows)

    @property
    def shelf_units(self) -> int:
        """Of what the store should expect, the units for its shelf (no member order)."""
        return sum(row.allocation.shelf_quantity for row in self.rows)


def receiving_sheet(*, store_id: int, purchase_order_id: int) -> ReceivingSheet | None:
    """One purchase order as `store_id` receives it: its allocations to the store (products by
    SKU; each with the store's part of a reported shortage, `reported_short_quantity`, and
    its shelf units of the line's rounding surplus, `shelf_quantity`) and the store's
    receipt with its lines, if any. None when the purchase order has no allocation to this
    store or is a draft (a 404 for the caller, so another store's ids tell nothing). Four
    queries."""
    purchase_order = (
        PurchaseOrder.objects.exclude(status=PurchaseOrder.Status.DRAFT)
        .select_related("supplier", "acted_by")
        .filter(pk=purchase_order_id)
        .first()
    )
    if purchase_order is None:
        return None
    allocations = shelf_quantities_attach(
        PurchaseOrderAllocation.objects.filter(
            line__purchase_order=purchase_order, store_id=store_id
        )
        .select_related("line__product")
        .order_by("line__product__sku")
    )
    if not allocations:
        return None
    receipt = (
        Receipt.objects.filter(purchase_order=purchase_order, store_id=store_id)
        .select_related("received_by")
        .first()
    )
    lines: dict[int, ReceiptLine] = {}
    if receipt is not None:
        lines = {line.allocation_id: line for line in receipt.lines.all()}
    return ReceivingSheet(
        purchase_order=purchase_order,
        rows=[ReceivingRow(allocation, lines.get(allocation.pk)) for allocation in allocations],
        receipt=receipt,
    )
