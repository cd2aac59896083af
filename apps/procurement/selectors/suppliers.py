from __future__ import annotations

import pandas as pd
from django.db.models import Prefetch

from apps.procurement.access import VIEW_SUPPLIER, suppliers_for
from apps.procurement.models import Supplier, SupplierProduct

SUPPLIER_TERMS_COLUMNS = ["product_id", "lead_time_days", "pack_size", "min_order_qty"]


def suppliers_visible(*, user: object) -> list[Supplier]:
    """The suppliers this user acts for, each with its offers (products) prefetched."""
    offers = SupplierProduct.objects.select_related("product").order_by("product__sku")
    return list(
        suppliers_for(user, VIEW_SUPPLIER)
        .prefetch_related(Prefetch("offers", queryset=offers))
        .order_by("code")[:50]
    )


def supplier_terms(*, product_ids: list[int]) -> pd.DataFrame:
    """One row per product that has one: lead time, pack size and minimum order of its
    preferred offer from an active supplier (the cheapest, then the lowest supplier id, when
    there are several), columns SUPPLIER_TERMS_COLUMNS. One query.

    The decision engine reads it through `apps.catalog.sources.planning_sources`."""
    rows = list(
        SupplierProduct.objects.filter(
            product_id__in=product_ids, is_preferred=True, supplier__is_active=True
        )
        .order_by("product_id", "cost", "supplier_id")
        .values_list(*SUPPLIER_TERMS_COLUMNS)
    )
    frame = pd.DataFrame(rows, columns=SUPPLIER_TERMS_COLUMNS)
    return frame.drop_duplicates("product_id", keep="first")
