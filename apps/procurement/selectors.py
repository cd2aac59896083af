from __future__ import annotations

from django.db.models import Prefetch

from apps.procurement.access import suppliers_for
from apps.procurement.models import Supplier, SupplierProduct


def suppliers_visible(*, user: object) -> list[Supplier]:
    """The suppliers this user acts for, each with its offers (products) prefetched."""
    offers = SupplierProduct.objects.select_related("product").order_by("product__sku")
    return list(
        suppliers_for(user)
        .prefetch_related(Prefetch("offers", queryset=offers))
        .order_by("code")[:50]
    )
