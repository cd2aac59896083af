"""How a purchase-order line's units are shared among its stores: scaling a draft's
allocations to a new demand, and which stores bear a shortage the supplier reported
(docs/purchasing.md, "A reported shortage and the allocations").

`allocations_scaled` and `reported_short_split` are pure arithmetic; `allocations_short_update`
reads the lines, allocations and source links and writes `reported_short_quantity`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from apps.procurement.models import (
    PurchaseOrderAllocation,
    PurchaseOrderLine,
    PurchaseOrderSource,
)
from apps.procurement.selectors.shelf import shelf_split
from apps.stores.models import Order


def allocations_scaled(*, quantities: dict[int, int], total: int) -> dict[int, int]:
    """`quantities` ({store id: units}) scaled to add up to `total`, by largest remainder:
    each store gets the whole part of its share, and the units left over go one each to the
    largest remainders (ties: the larger original quantity, then the lower store id). Stores
    scaled to nothing are left out. Empty when there is nothing to scale."""
    shares = shelf_split(units=total, allocations=quantities)
    return {store_id: units for store_id, units in shares.items() if units > 0}


@dataclass(frozen=True)
class ShortageBearer:
    """A member order line a purchase-order line was bought for (a live source link)."""

    store_id: int
    placed_at: dt.datetime
    order_id: int
    quantity: int


def reported_short_split(
    *, units: int, allocations: Mapping[int, int], bearers: Sequence[ShortageBearer]
) -> dict[int, int]:
    """Which stores bear `units` missing from a line: {store id: units short} for every store
    of `allocations` ({store id: allocated units}); the values add up to `units` (at most the
    allocations' sum) and no store bears more than its allocation.

    The rule of store receiving: units no waiting member order accounts for (a member order
    cancelled after the supplier confirmed, or a replenishment line's allocations, which have
    no source links) bear it first, shared by largest remainder (`allocations_scaled`): nobody
    waits for them, like the rounding surplus. Then the LATEST member orders (placed time,
    then order id, newest first), each at most what it asked for, summed per store.
    """
    short = dict.fromkeys(allocations, 0)
    remaining = min(max(units, 0), sum(allocations.values()))
    asked = dict.fromkeys(allocations, 0)
    for bearer in bearers:
        if bearer.store_id in asked:
            asked[bearer.store_id] += bearer.quantity
    free = {
        store_id: max(0, quantity - asked[store_id]) for store_id, quantity in allocations.items()
    }
    free_short = min(remaining, sum(free.values()))
    if free_short:
        kept = allocations_scaled(quantities=free, total=sum(free.values()) - free_short)
        for store_id, units_free in free.items():
            short[store_id] += units_free - kept.get(store_id, 0)
        remaining -= free_short
    latest_first = sorted(bearers, key=lambda bearer: (bearer.placed_at, bearer.order_id))
    for bearer in reversed(latest_first):
        if remaining == 0:
            break
        room = allocations.get(bearer.store_id, 0) - short.get(bearer.store_id, 0)
        take = min(remaining, bearer.quantity, room)
        if take <= 0:
            continue
        short[bearer.store_id] += take
        remaining -= take
    if remaining:
        room = {store_id: allocations[store_id] - short[store_id] for store_id in allocations}
        kept = allocations_scaled(quantities=room, total=sum(room.values()) - remaining)
        for store_id, units_left in room.items():
            short[store_id] += units_left - kept.get(store_id, 0)
    return short


def allocations_short_update(*, line_ids: Collection[int]) -> int:
    """Set `reported_short_quantity` on every allocation of these lines: the part of each
    line's reported shortage beyond its rounding surplus, `max(0, shortage − surplus)`,
    split over the stores by `reported_short_split` (latest member orders first, from the
    line's live source links whose orders still wait); every other allocation gets 0.

    The one place this is decided: called whenever a line's shortage, demand or allocations
    change (the supplier's report, a recount after a cancellation, a draft's edit), inside
    the caller's transaction, which holds the purchase orders' row locks. Precondition: the
    lines' numbers and allocations are already written. Idempotent. Three queries and one
    bulk update; returns how many allocations changed.
    """
    line_ids = list(line_ids)
    if not line_ids:
        return 0
    beyond_surplus = {
        pk: max(0, shortage - surplus)
        for pk, shortage, surplus in PurchaseOrderLine.objects.filter(pk__in=line_ids).values_list(
            "pk", "shortage_quantity", "surplus_quantity"
        )
    }
    allocations: dict[int, list[PurchaseOrderAllocation]] = defaultdict(list)
    for allocation in PurchaseOrderAllocation.objects.filter(line_id__in=line_ids).order_by("pk"):
        allocations[allocation.line_id].append(allocation)
    bearers: dict[int, list[ShortageBearer]] = defaultdict(list)
    live = (
        PurchaseOrderSource.objects.filter(
            line_id__in=[pk for pk, units in beyond_surplus.items() if units > 0],
            cancelled_at__isnull=True,
        )
        .exclude(order_line__order__status__in=Order.SETTLED_STATUSES)
        .values_list(
            "line_id",
            "order_line__order__store_id",
            "order_line__order__placed_at",
            "order_line__order_id",
            "quantity",
        )
        .order_by("pk")
    )
    for line_id, store_id, placed_at, order_id, quantity in live:
        bearers[line_id].append(ShortageBearer(store_id, placed_at, order_id, quantity))
    changed = []
    for line_id, rows in allocations.items():
        split = reported_short_split(
            units=beyond_surplus.get(line_id, 0),
            allocations={allocation.store_id: allocation.quantity for allocation in rows},
            bearers=bearers[line_id],
        )
        for allocation in rows:
            if allocation.reported_short_quantity != split[allocation.store_id]:
                allocation.reported_short_quantity = split[allocation.store_id]
                changed.append(allocation)
    PurchaseOrderAllocation.objects.bulk_update(changed, ["reported_short_quantity"])
    return len(changed)
