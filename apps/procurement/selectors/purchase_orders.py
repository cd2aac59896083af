"""Reads of purchase orders for the supplier pages and downloads, always scoped by
`apps.procurement.access`: a supplier user reads only their own suppliers' orders, and only
once they were sent (drafts are HQ's)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    Prefetch,
    Q,
    QuerySet,
    Sum,
)

from apps.procurement.access import VIEW_PURCHASE_ORDERS, SupplierAction, suppliers_for
from apps.procurement.models import (
    PurchaseOrder,
    PurchaseOrderAllocation,
    PurchaseOrderLine,
    PurchaseOrderSource,
    SupplierProduct,
)
from apps.procurement.selectors.shelf import (
    shelf_attach_loaded,
    shelf_attach_to_lines,
    shelf_quantities,
)
from apps.stores.models import Order, OrderFulfilment
from apps.stores.services.stock import orders_stock_taken

if TYPE_CHECKING:
    import pandas as pd

    from apps.stores.access import UserLike

LIST_LIMIT = 100


def _visible(user: UserLike, action: SupplierAction) -> QuerySet[PurchaseOrder]:
    return PurchaseOrder.objects.filter(
        supplier__in=suppliers_for(user, action), sent_at__isnull=False
    )


def purchase_orders_visible(
    *, user: UserLike, action: SupplierAction = VIEW_PURCHASE_ORDERS
) -> QuerySet[PurchaseOrder]:
    """The purchase orders the user may take `action` on: their suppliers' (`suppliers_for`),
    once sent. The one rule every supplier page, step and download is scoped by."""
    return _visible(user, action)


def purchase_orders_for_user(
    *,
    user: UserLike,
    status: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> list[PurchaseOrder]:
    """The user's suppliers' sent purchase orders, newest delivery first, at most LIST_LIMIT,
    filtered by status and delivery date (both ends included); each annotated as
    `purchase_orders_with_amounts` does. One query."""
    query = _visible(user, VIEW_PURCHASE_ORDERS)
    if status:
        query = query.filter(status=status)
    if date_from:
        query = query.filter(delivery_date__gte=date_from)
    if date_to:
        query = query.filter(delivery_date__lte=date_to)
    return list(
        purchase_orders_with_amounts(query.select_related("supplier")).order_by(
            "-delivery_date", "-pk"
        )[:LIST_LIMIT]
    )


def purchase_orders_with_amounts(query: QuerySet[PurchaseOrder]) -> QuerySet[PurchaseOrder]:
    """`query` annotated with `line_count`, `amount` (Σ ordered × unit cost), `short_quantity`
    (Σ `shortage_quantity`: reported by the supplier and found missing at receiving) and
    `to_deliver_amount` (Σ (ordered − short) × unit cost), in SQL: the one way the supplier
    pages and the admin compute an order's money, the same figures as the order page's
    `OrderSheet`. An order without lines has amounts None."""
    amount = ExpressionWrapper(
        F("lines__ordered_quantity") * F("lines__unit_cost"),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )
    to_deliver_amount = ExpressionWrapper(
        (F("lines__ordered_quantity") - F("lines__shortage_quantity")) * F("lines__unit_cost"),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )
    return query.annotate(
        line_count=Count("lines"),
        amount=Sum(amount),
        short_quantity=Sum("lines__shortage_quantity"),
        to_deliver_amount=Sum(to_deliver_amount),
    )


@dataclass(frozen=True)
class SupplierToDo:
    """What waits for the supplier: orders to confirm, confirmed orders to ship by today,
    and of those, the ones whose ship date has passed."""

    to_confirm: int
    to_ship: int
    overdue: int


def supplier_to_do(*, user: UserLike, today: dt.date) -> SupplierToDo:
    """The user's suppliers' sent orders awaiting confirmation, and confirmed orders whose
    ship date is today or past (`overdue`: past). One query."""
    confirmed = PurchaseOrder.Status.CONFIRMED
    counts = _visible(user, VIEW_PURCHASE_ORDERS).aggregate(
        to_confirm=Count("pk", filter=Q(status=PurchaseOrder.Status.SENT)),
        to_ship=Count("pk", filter=Q(status=confirmed, ship_date__lte=today)),
        overdue=Count("pk", filter=Q(status=confirmed, ship_date__lt=today)),
    )
    return SupplierToDo(**counts)


def purchase_order_for_user(
    *, user: UserLike, pk: int, action: SupplierAction = VIEW_PURCHASE_ORDERS
) -> PurchaseOrder | None:
    """The purchase order if the user may take `action` for its supplier and it was sent;
    otherwise None (the caller answers 404 either way, so ids cannot be probed)."""
    return _visible(user, action).select_related("supplier").filter(pk=pk).first()


def purchase_order_proposed_ship_date(*, purchase_order: PurchaseOrder, today: dt.date) -> dt.date:
    """The ship date the supplier's confirm form proposes: the latest day that still meets the
    delivery date given the supplier's lead time (the longest `SupplierProduct.lead_time_days`
    among the order's products; 0 when none is recorded), never before `today`. Delivery on the
    9th with a lead time of 3 days proposes the 6th; on the 8th that is the 8th itself."""
    lead_days = (
        SupplierProduct.objects.filter(
            supplier_id=purchase_order.supplier_id,
            product_id__in=PurchaseOrderLine.objects.filter(purchase_order=purchase_order).values(
                "product_id"
            ),
        ).aggregate(lead=Max("lead_time_days"))["lead"]
        or 0
    )
    latest = purchase_order.delivery_date - dt.timedelta(days=lead_days)
    return max(latest, today)


@dataclass(frozen=True)
class OrderSheet:
    """A purchase order with its lines (product and store allocations loaded) and totals."""

    purchase_order: PurchaseOrder
    lines: list[PurchaseOrderLine]
    amount: Decimal
    demanded: int
    ordered: int
    surplus: int
    shelf: int  # of the surplus, what arrives for the stores' shelves (less absorbed shortage)
    short: int = 0  # units that will not come (the lines' `shortage_quantity`)
    short_amount: Decimal = Decimal("0.00")
    to_deliver: int = 0  # ordered − short
    to_deliver_amount: Decimal = Decimal("0.00")  # what the supplier delivers and invoices


def purchase_order_sheet(*, purchase_order: PurchaseOrder) -> OrderSheet:
    """Lines by SKU, each with `product` and `allocations` (with `store` and the store's
    `shelf_quantity`; the line with `shelf_units`, `selectors.shelf`). Three queries."""
    allocations = PurchaseOrderAllocation.objects.select_related("store").order_by("store__code")
    lines = list(
        PurchaseOrderLine.objects.filter(purchase_order=purchase_order)
        .select_related("product")
        .prefetch_related(Prefetch("allocations", queryset=allocations))
        .order_by("product__sku")
    )
    shelf_attach_to_lines(lines)
    return OrderSheet(
        purchase_order=purchase_order,
        lines=lines,
        amount=sum((line.amount for line in lines), Decimal("0.00")),
        demanded=sum(line.demanded_quantity for line in lines),
        ordered=sum(line.ordered_quantity for line in lines),
        surplus=sum(line.surplus_quantity for line in lines),
        shelf=sum(line.shelf_units for line in lines),
        short=sum(line.shortage_quantity for line in lines),
        short_amount=sum((line.short_amount for line in lines), Decimal("0.00")),
        to_deliver=sum(line.to_deliver_quantity for line in lines),
        to_deliver_amount=sum((line.to_deliver_amount for line in lines), Decimal("0.00")),
    )


@dataclass(frozen=True)
class PickRow:
    sku: str
    name: str
    unit: str
    quantity: int  # what to pack for the store: its member orders' units and the shelf units
    shelf: int = 0  # of which for the store's shelf (the rounding surplus)

    @property
    def for_orders(self) -> int:
        return self.quantity - self.shelf


@dataclass
class PickList:
    """What one store receives from one purchase order."""

    store_code: str
    store_name: str
    store_address: str
    rows: list[PickRow] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(row.quantity for row in self.rows)

    @property
    def shelf(self) -> int:
        return sum(row.shelf for row in self.rows)


def purchase_order_pick_lists(*, purchase_order: PurchaseOrder) -> list[PickList]:
    """One pick list per store (by store code), its products by SKU, with what will actually
    ship: the allocation less the store's part of a reported shortage, plus the store's shelf
    units of the line's rounding surplus (`selectors.shelf`), shown apart (products with
    nothing to ship are left out, and so is a store with nothing at all). One query."""
    rows = shelf_attach_loaded(
        PurchaseOrderAllocation.objects.filter(line__purchase_order=purchase_order)
        .select_related("store", "line__product")
        .order_by("store__code", "line__product__sku")
    )
    lists: dict[str, PickList] = {}
    for allocation in rows:
        if allocation.delivered_quantity <= 0:
            continue
        store = allocation.store
        pick = lists.setdefault(
            store.code, PickList(store.code, store.name, store.address, rows=[])
        )
        product = allocation.line.product
        pick.rows.append(
            PickRow(
                product.sku,
                product.name,
                product.get_unit_display(),
                allocation.delivered_quantity,
                allocation.shelf_quantity,
            )
        )
    return list(lists.values())


ON_ORDER_COLUMNS = ["store_id", "product_id", "on_order"]
OPEN_STATUSES = (
    PurchaseOrder.Status.SENT,
    PurchaseOrder.Status.CONFIRMED,
    PurchaseOrder.Status.SHIPPED,
)


@dataclass(frozen=True)
class OnOrder:
    """What a store has coming of one product on open purchase orders."""

    shelf: int  # will reach the shelf: "on order", what the decision engine subtracts
    for_orders: int = 0  # comes for member orders that took no stock (pre-orders): not the shelf's


def _member_short_split(*, short: int, free: int, bearers: list[tuple[int, int]]) -> dict[int, int]:
    """{source key: units short} for one allocation's live member order lines: of the
    allocation's reported shortage `short`, the units no waiting member order accounts for
    (`free`) bear it first, then the LATEST member orders (`bearers`, (key, quantity), oldest
    first), each at most its quantity — the split of `services.allocations` within one store
    (docs/purchasing.md "A reported shortage and the allocations")."""
    remaining = max(0, short - free)
    split: dict[int, int] = {}
    for key, quantity in reversed(bearers):
        if remaining <= 0:
            break
        split[key] = min(remaining, quantity)
        remaining -= split[key]
    return split


def _on_order_rows(
    *, today: dt.date, product_ids: list[int] | None = None, store_ids: list[int] | None = None
) -> list[tuple[int, int, int, int]]:
    """(store_id, product_id, on_order, for_orders) per pair with anything to come, by store
    and product: the one definition of "on order" (see `on_order_quantities`), narrowed to
    some products and/or stores. `on_order` is what will reach the shelf; `for_orders` what
    comes for member orders that hold none of the store's stock (pre-orders: each takes its
    units off the shelf again as it becomes ready). Four queries: the allocations, every
    allocation of their lines for the shelf split, their live member order lines, and what
    those orders hold of the stock (`orders_stock_taken`)."""
    allocations = PurchaseOrderAllocation.objects.filter(
        line__purchase_order__status__in=OPEN_STATUSES,
        line__purchase_order__delivery_date__gte=today,
        # Received at the store (on or before the delivery date): on hand now, not on order.
        receipt_line__isnull=True,
    )
    if product_ids is not None:
        allocations = allocations.filter(line__product_id__in=product_ids)
    if store_ids is not None:
        allocations = allocations.filter(store_id__in=store_ids)
    rows = list(
        allocations.values_list(
            "pk", "line_id", "store_id", "line__product_id", "quantity", "reported_short_quantity"
        )
    )
    if not rows:
        return []
    # The store's shelf units of the rounding surplus come with its allocation.
    shelf = shelf_quantities(line_ids=allocations.values("line_id"))
    # The member order lines each allocation was bought for: the live source links whose
    # orders still wait (the bearers of a reported shortage), oldest order first.
    sources = (
        PurchaseOrderSource.objects.filter(
            line_id__in=allocations.values("line_id"), cancelled_at__isnull=True
        )
        .exclude(order_line__order__status__in=Order.SETTLED_STATUSES)
        .order_by("order_line__order__placed_at", "order_line__order_id", "pk")
    )
    if store_ids is not None:
        sources = sources.filter(order_line__order__store_id__in=store_ids)
    source_rows = list(
        sources.values_list(
            "pk",
            "line_id",
            "order_line__order__store_id",
            "order_line__order_id",
            "quantity",
            "order_line__order__status",
            "order_line__order__fulfilment_record__status",
        )
    )
    # What those orders hold of the store's stock (the ledger: sale − return): units they
    # took from the shelf, which their purchase-order units refill on arrival.
    held = orders_stock_taken(order_ids=sources.values("order_line__order_id"))
    bearers: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    orders: dict[int, tuple[int, bool]] = {}
    for pk, line_id, store_id, order_id, quantity, status, fulfilment in source_rows:
        bearers[line_id, store_id].append((pk, quantity))
        # Still paid and waiting for this delivery: at receiving it gives back to the shelf
        # what it took for its short units (`receiving._short_stock_return`).
        waits = status == Order.Status.PAID and fulfilment in (None, OrderFulfilment.Status.WAITING)
        orders[pk] = order_id, waits
    units: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for pk, line_id, store_id, product_id, quantity, reported_short in rows:
        members = bearers.get((line_id, store_id), [])
        # Units no waiting member order accounts for (a replenishment allocation, an order
        # cancelled after the supplier confirmed) go on the shelf, and are short first.
        free = max(0, quantity - sum(asked for _key, asked in members))
        member_short = _member_short_split(short=reported_short, free=free, bearers=members)
        on_shelf = shelf.get(pk, 0) + free - min(reported_short, free)
        for_orders = 0
        for key, asked in members:
            order_id, waits = orders[key]
            taken = min(held.get((order_id, product_id), 0), asked)
            held[order_id, product_id] = held.get((order_id, product_id), 0) - taken
            short = member_short.get(key, 0)
            # The units the shelf gave the order come back to it as they arrive; the rest of
            # what arrives goes to the member (a pre-order takes it off the shelf again).
            refill = max(0, taken - short)
            given_back = min(short, taken) if waits else 0
            on_shelf += refill + given_back
            for_orders += asked - short - refill
        total = units[store_id, product_id]
        total[0] += on_shelf
        total[1] += for_orders
    return [
        (store_id, product_id, on_shelf, for_orders)
        for (store_id, product_id), (on_shelf, for_orders) in sorted(units.items())
        if on_shelf > 0 or for_orders > 0
    ]


def on_order_quantities(*, product_ids: list[int], today: dt.date) -> pd.DataFrame:
    """What is on order per store and product: what will reach the store's SHELF of the
    allocations of purchase orders sent, confirmed or shipped whose delivery date is today or
    later (the delivery date stands in for receiving) and that the store has not received
    yet (an allocation with a receipt line is on hand, not on order). Per allocation:

    - the store's shelf units of the line's rounding surplus (`selectors.shelf`);
    - the units no waiting member order accounts for (a replenishment allocation, a member
      order cancelled after the supplier confirmed), less the part of a reported shortage
      on them;
    - of each live member order line it was bought for, the units its order holds of the
      store's stock (`orders_stock_taken`, sale − return; at most the line's quantity) less
      the part of the reported shortage on it (the latest orders bear it first): the shelf
      gave the order those units, and the delivery refills it. An order still paid and
      waiting for the delivery also gives back at receiving what it took for its short
      units, so for it the shortage takes nothing off the shelf. A pre-order holds none: its
      units go to the member when the order becomes ready, never to the shelf, so they are
      not on order (`store_on_order` shows them apart, for member orders).

    Columns ON_ORDER_COLUMNS, one row per (store, product) with anything to come for the
    shelf; four queries.

    For the decision engine's "on order" (to be passed in through
    `apps.catalog.sources.planning_sources`, like `supplier_terms`)."""
    # pandas only where the decision engine's frame is built: the admin imports this module,
    # and every process would otherwise load pandas at django.setup().
    import pandas as pd

    rows = [
        (store_id, product_id, on_order)
        for store_id, product_id, on_order, _for_orders in _on_order_rows(
            today=today, product_ids=product_ids
        )
        if on_order > 0
    ]
    return pd.DataFrame(rows, columns=ON_ORDER_COLUMNS)


def store_on_order(
    *, store_id: int, today: dt.date, product_ids: list[int] | None = None
) -> dict[int, OnOrder]:
    """{product_id: OnOrder} for one store (and these products, when given), for every
    product with anything to come: `shelf` by the same rule as `on_order_quantities` (what
    the decision engine counts), `for_orders` the units coming for member orders that hold
    none of the stock (pre-orders), which go to them, not to the shelf. For the store's stock
    pages. Four queries."""
    rows = _on_order_rows(today=today, store_ids=[store_id], product_ids=product_ids)
    return {
        product_id: OnOrder(shelf=on_order, for_orders=for_orders)
        for _store_id, product_id, on_order, for_orders in rows
    }
