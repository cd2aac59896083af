"""Demo purchasing: recent group-buy pickup orders consolidated into purchase orders in every
state, for several suppliers (the demo supplier user's among them), so that the supplier pages,
HQ's purchasing admin and (later) the stores' receiving have something to show.

Deterministic (its own seeded random stream) and fast: a few hundred orders, five real
consolidation runs through `purchase_orders_consolidate`, then the states set directly (demo
history, like the order history: confirmation dates lie in the past, which the supplier
service would refuse today). Each order is a member's of the store (so the pickup counter names
who collects, and the shortage and "ready" notifications reach someone), drawn from members
whose planted scenes allow every product in it (`scenes.member_may_buy`), so the ground truth
of `docs/demo-data.md` holds; an order no member of the store may place stays anonymous. The
KPI snapshots of their days are computed again to count them.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from apps.campaigns.models import Notification
from apps.catalog.models import Product
from apps.customers.models import Member
from apps.ops.demo.scenes import member_may_buy
from apps.procurement.models import (
    ConsolidationRun,
    PurchaseOrder,
    PurchaseOrderAllocation,
    PurchaseOrderException,
    PurchaseOrderLine,
    PurchaseOrderSource,
    Supplier,
    SupplierProduct,
)
from apps.procurement.selectors.aftersales import refunds_by_store
from apps.procurement.services.allocations import allocations_scaled, allocations_short_update
from apps.procurement.services.consolidation import (
    order_cancelled_for_supply,
    purchase_orders_consolidate,
)
from apps.stores.models import Order, OrderLine, Store
from apps.stores.services.kpis import store_kpi_snapshots_compute

DAYS = 5
STORES = 12
SUPPLIERS = 4
PRODUCTS_PER_SUPPLIER = 3
ORDERS_PER_STORE_AND_DAY = 4
CUTOFF = dt.time(22)
# How long a demo day's consolidation run is shown to have taken.
RUN_SECONDS = 2
# State of every supplier's purchase order of day d (oldest first): STATES[d], so each supplier
# has one in every state across the five days, and the oldest orders (due first) are the ones
# shipped and received, the newest still waiting for the supplier's confirmation.
STATES = ("shipped", "cancelled", "shortage", "confirmed", "sent")
# When the demo's member cancels: an hour after the run sent the purchase order (it shrinks),
# or two hours after the supplier confirmed it (an exception for HQ).
CANCELLED_AFTER_SENT = dt.timedelta(hours=1)
CANCELLED_AFTER_CONFIRMED = dt.timedelta(hours=2)


def demo_purchasing_seed(
    *, stores: list[Store], supplier: Supplier, today: dt.date, seed: int = 2026
) -> dict[str, int]:
    """Write the demo's supply orders and purchase orders; returns row counts.

    `supplier` (the demo supplier user's) is always among the suppliers. Preconditions: the
    catalogue, suppliers and offers exist, and the demo accounts too (so that the supplier
    user is notified of the new purchase orders, like in production).
    """
    rng = random.Random(seed)
    suppliers = _suppliers(supplier)
    products = {
        sup.pk: list(
            SupplierProduct.objects.filter(supplier=sup, is_preferred=True, product__is_active=True)
            .order_by("product__sku")
            .values_list("product_id", "product__price")[:PRODUCTS_PER_SUPPLIER]
        )
        for sup in suppliers
    }
    chosen = stores[:STORES]
    tz = timezone.get_current_timezone()
    buyers = _Buyers(stores=chosen, products=products, seed=seed)
    orders_by_day: dict[dt.date, list[Order]] = {}
    for offset in range(DAYS, 0, -1):
        day = today - dt.timedelta(days=offset)
        orders_by_day[day] = _day_orders(
            day=day, stores=chosen, products=products, rng=rng, tz=tz, buyers=buyers
        )
        consolidated_at_cutoff(cutoff=dt.datetime.combine(day, CUTOFF, tzinfo=tz))
    _states(suppliers=suppliers, days=sorted(orders_by_day), tz=tz, rng=rng)
    _cancellations(orders_by_day=orders_by_day)
    drafts = _drafts(
        suppliers=suppliers, products=products, today=today, orders_by_day=orders_by_day
    )
    for day in orders_by_day:
        store_kpi_snapshots_compute(day=day, refunds=refunds_by_store)
    return {
        "supply orders": sum(len(orders) for orders in orders_by_day.values()),
        "purchase orders": PurchaseOrder.objects.count(),
        "draft purchase orders": drafts,
    }


def consolidated_at_cutoff(*, cutoff: dt.datetime) -> ConsolidationRun:
    """A run at `cutoff` (a day's 22:00 here, the pre-order's settlement in `presale.py`),
    dated as if it had run then: the run, the purchase orders it made (created and sent) and
    those it added to (updated) carry its cut-off, not the moment the demo was loaded —
    otherwise every demo purchase order read "sent" after it was confirmed and shipped
    (`_states` dates those steps by the day). The suppliers' "new / updated purchase order"
    notifications it enqueued carry the run's end."""
    loaded = timezone.now()
    run = purchase_orders_consolidate(cutoff=cutoff)
    finished = cutoff + dt.timedelta(seconds=RUN_SECONDS)
    ConsolidationRun.objects.filter(pk=run.pk).update(started_at=cutoff, finished_at=finished)
    PurchaseOrder.objects.filter(run=run).update(created_at=cutoff, sent_at=cutoff)
    PurchaseOrder.objects.filter(updated_at__gte=loaded).update(updated_at=cutoff)
    notifications_dated(since=loaded, at=finished)
    run.refresh_from_db()
    return run


def notifications_dated(*, since: dt.datetime, at: dt.datetime) -> int:
    """The notifications enqueued since `since` (by the demo step just run) carry `at`, the
    moment of the event they tell, instead of the moment the demo was loaded: created at it,
    and sent at it when sent (portal rows). Returns how many."""
    ids = list(Notification.objects.filter(created_at__gte=since).values_list("pk", flat=True))
    Notification.objects.filter(pk__in=ids).update(created_at=at)
    Notification.objects.filter(pk__in=ids, sent_at__isnull=False).update(sent_at=at)
    return len(ids)


def _suppliers(supplier: Supplier) -> list[Supplier]:
    """The demo supplier first, then the next suppliers (by code) that have preferred offers."""
    others = (
        Supplier.objects.filter(offers__is_preferred=True, is_active=True)
        .exclude(pk=supplier.pk)
        .distinct()
        .order_by("code")[: SUPPLIERS - 1]
    )
    return [supplier, *others]


class _Buyers:
    """Who places a demo supply order: a member of the store whose planted scenes allow every
    product of it (`scenes.member_may_buy`). Its own random stream, so the orders and purchase
    orders are drawn as without it."""

    def __init__(
        self, *, stores: list[Store], products: dict[int, list[tuple[int, Decimal]]], seed: int
    ) -> None:
        self.rng = random.Random(seed + 1)
        product_ids = [product_id for offers in products.values() for product_id, _ in offers]
        self.category = dict(
            Product.objects.filter(pk__in=product_ids).values_list("pk", "category__code")
        )
        self.members: dict[int, list[tuple[int, str, dt.datetime]]] = {
            store.pk: [] for store in stores
        }
        for pk, member_no, joined_at, store_id in (
            Member.objects.filter(home_store__in=stores, is_erased=False)
            .order_by("pk")
            .values_list("pk", "member_no", "joined_at", "home_store_id")
        ):
            self.members[store_id].append((pk, member_no, joined_at))

    def member_id(
        self, *, store: Store, product_ids: list[int], placed_at: dt.datetime
    ) -> int | None:
        """A member of the store, joined by `placed_at`, whose planted scenes allow all these
        products, tried in a random order; None when none does (the order stays anonymous)."""
        pool = self.members[store.pk]
        codes = {self.category[product_id] for product_id in product_ids}
        for pk, member_no, joined_at in self.rng.sample(pool, k=len(pool)):
            if joined_at <= placed_at and member_may_buy(member_no, codes):
                return pk
        return None


def _day_orders(
    *,
    day: dt.date,
    stores: list[Store],
    products: dict[int, list[tuple[int, Decimal]]],
    rng: random.Random,
    tz: dt.tzinfo,
    buyers: _Buyers,
) -> list[Order]:
    offers = [offer for supplier_offers in products.values() for offer in supplier_offers]
    orders: list[Order] = []
    basket: list[list[tuple[int, Decimal, int]]] = []
    for store in stores:
        for number in range(ORDERS_PER_STORE_AND_DAY):
            picked = rng.sample(offers, k=min(len(offers), rng.randint(1, 3)))
            lines = [(product_id, price, rng.randint(1, 4)) for product_id, price in picked]
            total = sum((price * quantity for _id, price, quantity in lines), Decimal("0.00"))
            placed = dt.datetime.combine(day, dt.time(rng.randint(9, 20), rng.randint(0, 59)))
            orders.append(
                Order(
                    store=store,
                    member_id=buyers.member_id(
                        store=store,
                        product_ids=[product_id for product_id, _p, _q in lines],
                        placed_at=placed.replace(tzinfo=tz),
                    ),
                    channel=Order.Channel.GROUP_BUY,
                    fulfilment=Order.Fulfilment.PICKUP,
                    status=Order.Status.PAID,
                    idempotency_key=f"demo-supply-{day:%Y%m%d}-{number}",
                    reference=f"GB{day:%Y%m%d}-{store.code}-{number:02d}",
                    total=total,
                    placed_at=placed.replace(tzinfo=tz),
                )
            )
            basket.append(lines)
    Order.objects.bulk_create(orders)
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                product_id=product_id,
                quantity=quantity,
                unit_price=price,
                line_total=price * quantity,
            )
            for order, lines in zip(orders, basket, strict=True)
            for product_id, price, quantity in lines
        ]
    )
    return orders


def _states(
    *, suppliers: list[Supplier], days: list[dt.date], tz: dt.tzinfo, rng: random.Random
) -> None:
    for day_index, day in enumerate(days):
        confirmed_at = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(8), tzinfo=tz)
        state = STATES[day_index % len(STATES)]
        for supplier in suppliers:
            ids = list(
                PurchaseOrder.objects.filter(
                    supplier=supplier, run__cutoff__date=day, status=PurchaseOrder.Status.SENT
                ).values_list("pk", flat=True)
            )
            orders = PurchaseOrder.objects.filter(pk__in=ids)
            ship = {"ship_date": day + dt.timedelta(days=1), "confirmed_at": confirmed_at}
            if state == "shipped":
                orders.update(
                    status=PurchaseOrder.Status.SHIPPED,
                    shipped_at=confirmed_at + dt.timedelta(hours=6),
                    **ship,
                )
            elif state in {"confirmed", "shortage"}:
                orders.update(status=PurchaseOrder.Status.CONFIRMED, **ship)
            elif state == "cancelled":
                orders.update(status=PurchaseOrder.Status.CANCELLED, cancelled_at=confirmed_at)
            if state == "shortage":
                line = (
                    PurchaseOrderLine.objects.filter(purchase_order__in=orders)
                    .order_by("pk")
                    .first()
                )
                if line is not None:
                    short = max(1, line.ordered_quantity // rng.choice((3, 4)))
                    PurchaseOrderLine.objects.filter(pk=line.pk).update(shortage_quantity=short)
                    # As the supplier's report does: the stores' part of it, latest orders first.
                    allocations_short_update(line_ids=[line.pk])
                    orders.update(has_shortage=True, shortage_note="天气原因，部分减产")


def _cancellations(*, orders_by_day: dict[dt.date, list[Order]]) -> None:
    """One member order cancelled on a sent purchase order (the line shrinks) and one on a
    confirmed one (an exception for HQ), each at a moment of the story (`_cancelled_at`): the
    sources it cancels, the exceptions it records and the purchase orders it changes carry
    it, not the moment the demo was loaded."""
    done: set[str] = set()
    for orders in reversed(list(orders_by_day.values())):
        for order in orders:
            purchase_order = (
                PurchaseOrder.objects.filter(lines__sources__order_line__order=order)
                .select_related("run")
                .first()
            )
            status = purchase_order.status if purchase_order is not None else None
            if status in {"sent", "confirmed"} and status not in done:
                loaded = timezone.now()
                Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)
                order.status = Order.Status.CANCELLED
                order_cancelled_for_supply(order=order)
                at = _cancelled_at(purchase_order)
                PurchaseOrderSource.objects.filter(
                    order_line__order=order, cancelled_at__gte=loaded
                ).update(cancelled_at=at)
                PurchaseOrderException.objects.filter(order_line__order=order).update(created_at=at)
                PurchaseOrder.objects.filter(updated_at__gte=loaded).update(updated_at=at)
                notifications_dated(since=loaded, at=at)
                done.add(status)
            if len(done) == 2:
                return


def _cancelled_at(purchase_order: PurchaseOrder) -> dt.datetime:
    """When the demo's member cancelled an order on `purchase_order`: after the supplier
    confirmed it, or else after its run sent it."""
    if purchase_order.confirmed_at is not None:
        return purchase_order.confirmed_at + CANCELLED_AFTER_CONFIRMED
    return purchase_order.run.cutoff + CANCELLED_AFTER_SENT


def _drafts(
    *,
    suppliers: list[Supplier],
    products: dict[int, list[tuple[int, Decimal]]],
    today: dt.date,
    orders_by_day: dict[dt.date, list[Order]],
) -> int:
    """A hand-made draft per supplier (HQ's; suppliers do not see drafts), allocated to the
    stores like a replenishment draft: each line's demand shared over the stores in proportion
    to what their members ordered of the product in the last days (`allocations_scaled`, so the
    allocations add up to the demand), so that once HQ sends it the supplier's pick list, the
    delivery plan and the stores' receiving show who gets the units."""
    drafts = PurchaseOrder.objects.bulk_create(
        [
            PurchaseOrder(
                number=f"PO{today:%Y%m%d}-{supplier.code}-D",
                supplier=supplier,
                delivery_date=today + dt.timedelta(days=3),
                status=PurchaseOrder.Status.DRAFT,
            )
            for supplier in suppliers
        ]
    )
    offers = {
        (offer.supplier_id, offer.product_id): offer
        for offer in SupplierProduct.objects.filter(supplier__in=suppliers)
    }
    recent: dict[int, dict[int, int]] = {}
    for row in (
        OrderLine.objects.filter(
            order__in=[order for orders in orders_by_day.values() for order in orders],
        )
        .exclude(order__status__in=Order.VOID_STATUSES)
        .values("product_id", "order__store_id")
        .annotate(units=Sum("quantity"))
        .order_by("product_id", "order__store_id")
    ):
        recent.setdefault(row["product_id"], {})[row["order__store_id"]] = row["units"]
    stores = sorted({order.store_id for orders in orders_by_day.values() for order in orders})
    lines = []
    shares = []
    for draft in drafts:
        for product_id, _price in products[draft.supplier_id][:2]:
            offer = offers[(draft.supplier_id, product_id)]
            ordered = offer.pack_size * max(2, -(-offer.min_order_qty // offer.pack_size))
            lines.append(
                PurchaseOrderLine(
                    purchase_order=draft,
                    product_id=product_id,
                    demanded_quantity=ordered,
                    ordered_quantity=ordered,
                    surplus_quantity=0,
                    pack_size=offer.pack_size,
                    min_order_qty=offer.min_order_qty,
                    unit_cost=offer.cost,
                )
            )
            # A product nobody ordered lately is shared evenly over the stores.
            weights = recent.get(product_id) or dict.fromkeys(stores, 1)
            shares.append(allocations_scaled(quantities=weights, total=ordered))
    PurchaseOrderLine.objects.bulk_create(lines)
    PurchaseOrderAllocation.objects.bulk_create(
        [
            PurchaseOrderAllocation(line=line, store_id=store_id, quantity=quantity)
            for line, share in zip(lines, shares, strict=True)
            for store_id, quantity in share.items()
        ]
    )
    return len(drafts)
