"""Which suppliers may this user act for. HQ sees all; a supplier user only their own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from apps.procurement.models import Supplier
from apps.stores.access import user_is_hq

if TYPE_CHECKING:
    from apps.stores.access import UserLike


def suppliers_for(user: UserLike) -> QuerySet[Supplier]:
    """Suppliers this user acts for. HQ sees all; supplier users only their own."""
    if not user.is_authenticated or not user.is_active:
        return Supplier.objects.none()
    if user_is_hq(user):
        return Supplier.objects.all()
    return Supplier.objects.filter(users__user=user).distinct()


def can_see_supplier(user: UserLike, supplier_id: int) -> bool:
    return suppliers_for(user).filter(pk=supplier_id).exists()
