"""Demo delivery, receiving, pickup and after-sales, written through the real services on top
of the demo purchasing (`purchasing.py`), so that after `make run` the stores' receiving and
pickup pages, HQ's delivery plans and after-sales admin and the supplier quality scores have
something to show.

- every paid demo group-buy order gets its pickup code (`fulfilments_open`);
- each shipped purchase order is received at its stores (the first store of each order a
  unit short on its first line, so a shortage flows back to member orders); confirmed ones
  stay to be received in the portal;
- of the orders made ready, every other one is handed over at the pickup counter;
- the region delivery plans of today and tomorrow are built;
- a few after-sales cases: one approved as proposed, one rejected, one left for HQ.

Deterministic: rows are taken in store, product-SKU or primary-key order.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from apps.ops.demo.purchasing import notifications_dated
from apps.procurement.models import (
    AfterSalesCase,
    PurchaseOrder,
    PurchaseOrderAllocation,
    Receipt,
)
from apps.procurement.selectors.shelf import shelf_quantities
from apps.procurement.services.aftersales import case_approve, case_open, case_reject
from apps.procurement.services.delivery import delivery_plans_build
from apps.procurement.services.pickup import pickup_verify
from apps.procurement.services.receiving import receipt_record
from apps.stores.models import Order, OrderFulfilment, Store, StoreStaff
from apps.stores.services.fulfilment import fulfilments_open

CASES = (
    ("quality", Decimal("12.00"), "蓝莓有几颗软烂", "approve"),
    ("late", Decimal("5.00"), "比约定时间晚到两小时", "reject"),
    ("damaged", Decimal("20.00"), "包装破损，果子压坏", "open"),
)


def demo_fulfilment_seed(*, hq_user: object, today: dt.date) -> dict[str, int]:
    """Write the demo's pickup codes, receipts, handovers, delivery plans and cases; returns
    row counts. Precondition: the demo purchasing exists (`demo_purchasing_seed`)."""
    owners = dict(
        StoreStaff.objects.filter(role=StoreStaff.Role.OWNER).values_list("store_id", "user")
    )
    paid = list(
        Order.objects.filter(channel=Order.Channel.GROUP_BUY, status=Order.Status.PAID)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    fulfilments_open(order_ids=paid)
    _receive_shipped(owners=owners)
    _hand_over_half(owners=owners)
    for day in (today, today + dt.timedelta(days=1)):
        delivery_plans_build(day=day)
    _cases(owners=owners, hq_user=hq_user)
    return {
        "pickup codes": OrderFulfilment.objects.count(),
        "receipts": Receipt.objects.count(),
        "after-sales cases": AfterSalesCase.objects.count(),
    }


def _owner(owners: dict[int, int], store_id: int) -> object | None:
    from django.contrib.auth import get_user_model

    user_id = owners.get(store_id)
    return get_user_model().objects.filter(pk=user_id).first() if user_id else None


def _receive_shipped(*, owners: dict[int, int]) -> None:
    shipped = PurchaseOrder.objects.filter(status=PurchaseOrder.Status.SHIPPED).order_by("pk")
    for purchase_order in shipped:
        allocations = list(
            PurchaseOrderAllocation.objects.filter(line__purchase_order=purchase_order)
            # By product SKU, not line id: consolidation's line order follows product ids.
            .order_by("store_id", "line__product__sku")
            .values_list("pk", "store_id", "quantity")
        )
        # Each store's shelf units of the rounding surplus come with its allocations.
        shelf = shelf_quantities(
            line_ids=PurchaseOrderAllocation.objects.filter(
                line__purchase_order=purchase_order
            ).values("line_id")
        )
        store_ids = sorted({store_id for _pk, store_id, _quantity in allocations})
        for index, store_id in enumerate(store_ids):
            mine = [(pk, quantity) for pk, at, quantity in allocations if at == store_id]
            lines: dict[int, tuple[int, int, int]] = {}
            for number, (pk, quantity) in enumerate(mine):
                # The first store misses one unit a member ordered on its first product (the
                # shelf units, missing first, go with it): the demo's shortage story.
                short = 1 + shelf[pk] if index == 0 and number == 0 and quantity > 1 else 0
                lines[pk] = (quantity + shelf[pk] - short, short, 0)
            before = timezone.now()
            receipt = receipt_record(
                purchase_order=purchase_order,
                store=Store.objects.get(pk=store_id),
                lines=lines,
                by=_owner(owners, store_id),
                note="演示收货",
            )
            # The members' "short" and "ready" notices tell of this receipt: its time.
            notifications_dated(since=before, at=receipt.received_at)


def _hand_over_half(*, owners: dict[int, int]) -> None:
    ready = list(
        OrderFulfilment.objects.filter(status=OrderFulfilment.Status.READY)
        .order_by("store_id", "pk")
        .values_list("store_id", "pickup_code")
    )
    codes: dict[int, list[str]] = {}
    for number, (store_id, code) in enumerate(ready):
        if number % 2 == 0:
            codes.setdefault(store_id, []).append(code)
    for store_id, store_codes in codes.items():
        owner = _owner(owners, store_id)
        if owner is not None:
            pickup_verify(store=Store.objects.get(pk=store_id), codes=store_codes, by=owner)


def _cases(*, owners: dict[int, int], hq_user: object) -> None:
    completed = (
        Order.objects.filter(channel=Order.Channel.GROUP_BUY, status=Order.Status.COMPLETED)
        .select_related("store")
        .order_by("store_id", "pk")
    )
    # One per store first, then any (in the same order), until there is one per case: read
    # only until every case has a store's first order.
    used_stores: set[int] = set()
    picked: list[Order] = []
    others: list[Order] = []
    for order in completed.iterator(chunk_size=200):
        if order.store_id not in used_stores:
            used_stores.add(order.store_id)
            picked.append(order)
            if len(picked) == len(CASES):
                break
        elif len(others) < len(CASES):
            others.append(order)
    picked += others[: len(CASES) - len(picked)]
    for order, (kind, amount, description, decision) in zip(picked, CASES, strict=False):
        owner = _owner(owners, order.store_id) or hq_user  # most demo stores have no login
        case = case_open(
            store=order.store,
            order=order,
            kind=kind,
            quantity=1,
            amount=min(amount, order.total),
            description=description,
            photos=[],
            by=owner,
        )
        before = timezone.now()
        if decision == "approve":
            # As proposed by the policy table (a refund by the store when no row applies).
            case = case_approve(
                case=case,
                by=hq_user,
                remedy=case.proposed_remedy or "refund",
                charged_to=case.charged_to or "store",
                note="按政策处理",
            )
        elif decision == "reject":
            case = case_reject(case=case, by=hq_user, note="已超出售后时限")
        if case.decided_at is not None:
            # The member's notice of the decision carries the decision's time.
            notifications_dated(since=before, at=case.decided_at)
