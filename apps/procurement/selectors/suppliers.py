from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING

from django.db.models import Prefetch
from django.utils import timezone

from apps.procurement.access import VIEW_SUPPLIER, suppliers_for
from apps.procurement.models import Supplier, SupplierProduct, SupplierUser

if TYPE_CHECKING:
    import pandas as pd

SUPPLIER_TERMS_COLUMNS = ["product_id", "lead_time_days", "pack_size", "min_order_qty"]


def suppliers_visible(*, user: object) -> list[Supplier]:
    """The suppliers this user acts for, each with its offers (products) prefetched."""
    offers = SupplierProduct.objects.select_related("product").order_by("product__sku")
    return list(
        suppliers_for(user, VIEW_SUPPLIER)
        .prefetch_related(Prefetch("offers", queryset=offers))
        .order_by("code")[:50]
    )


def supplier_user_ids(*, supplier_ids: set[int]) -> dict[int, list[int]]:
    """The active users of each of these suppliers: {supplier id: [user id]}, each list in
    the order the users were linked (the recipients of the supplier's notifications). One
    query."""
    users: dict[int, list[int]] = defaultdict(list)
    for supplier_id, user_id in (
        SupplierUser.objects.filter(supplier_id__in=supplier_ids, user__is_active=True)
        .order_by("pk")
        .values_list("supplier_id", "user_id")
    ):
        users[supplier_id].append(user_id)
    return users


def supplier_terms(*, product_ids: list[int]) -> pd.DataFrame:
    """One row per product that has one: lead time, pack size and minimum order of its
    preferred offer from an active supplier (the cheapest, then the lowest supplier id, when
    there are several), columns SUPPLIER_TERMS_COLUMNS. One query.

    The decision engine reads it through `apps.catalog.sources.planning_sources`."""
    # pandas only where the decision engine's frame is built: the admin imports this module,
    # and every process would otherwise load pandas at django.setup().
    import pandas as pd

    rows = list(
        SupplierProduct.objects.filter(
            product_id__in=product_ids, is_preferred=True, supplier__is_active=True
        )
        .order_by("product_id", "cost", "supplier_id")
        .values_list(*SUPPLIER_TERMS_COLUMNS)
    )
    frame = pd.DataFrame(rows, columns=SUPPLIER_TERMS_COLUMNS)
    return frame.drop_duplicates("product_id", keep="first")


# The daily consolidation's cut-off, local time: the beat "procurement: daily consolidation"
# (linli/schedules.py) runs at this hour and takes every paid line placed before it.
DAILY_CUTOFF_HOUR = 22


def daily_cutoff_after(*, moment: dt.datetime) -> dt.datetime:
    """The daily run's cut-off that takes an order paid at `moment` (a run takes the lines
    placed strictly before its cut-off): that local day at DAILY_CUTOFF_HOUR, or the next
    day's when `moment` is at or past it. An earlier run (a settlement's, HQ's click) may take
    the order sooner; this is the latest day it is bought on."""
    local = timezone.localtime(moment)
    zone = timezone.get_current_timezone()
    cutoff = dt.datetime.combine(local.date(), dt.time(DAILY_CUTOFF_HOUR), tzinfo=zone)
    if local >= cutoff:
        cutoff = dt.datetime.combine(
            local.date() + dt.timedelta(days=1), dt.time(DAILY_CUTOFF_HOUR), tzinfo=zone
        )
    return cutoff


def purchase_order_day(*, cutoff: dt.datetime) -> dt.date:
    """The day a consolidation run with this cut-off places its purchase orders: the cut-off's
    local day (after midnight, the next day)."""
    return timezone.localdate(cutoff)


def delivery_date(*, cutoff: dt.datetime, lead_time_days: int) -> dt.date:
    """The delivery date consolidation gives an order line placed before `cutoff` whose
    product's chosen offer has this lead time: the cut-off's local day + the lead time
    (docs/purchasing.md). `purchase_orders_consolidate` computes the same in its SQL, from
    `purchase_order_day`."""
    return purchase_order_day(cutoff=cutoff) + dt.timedelta(days=lead_time_days)


def supply_delivery_date(*, product_ids: list[int], cutoff: dt.datetime) -> dt.date | None:
    """The day the products of orders placed by `cutoff` are delivered to the stores, as
    consolidation dates them: `delivery_date` with the longest lead time among the products'
    chosen offers (`supplier_terms`: the preferred offer of an active supplier). None when no
    product has one (its lines wait unconsolidated; no day can be promised). One query.

    The campaign pack reads it (the 接龙 copy's pickup day) through
    `apps.campaigns.sources.pack_sources`."""
    terms = supplier_terms(product_ids=product_ids)
    if terms.empty:
        return None
    return delivery_date(cutoff=cutoff, lead_time_days=int(terms["lead_time_days"].max()))
