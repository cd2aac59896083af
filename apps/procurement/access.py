"""The one place that answers "may this user act for this supplier" (stores:
`apps.stores.access`; the policy: `docs/access.md`).

A supplier user acts for the suppliers they are linked to (`SupplierUser`); HQ acts for every
supplier only with the action's admin permission, as in the admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from apps.procurement.models import Supplier
from apps.stores.access import user_is_hq

if TYPE_CHECKING:
    from apps.stores.access import UserLike


@dataclass(frozen=True)
class SupplierAction:
    """Something a user does for a supplier, and the admin permission HQ needs for it."""

    name: str
    hq_permission: str


VIEW_SUPPLIER = SupplierAction("view_supplier", "procurement.view_supplier")
# The supplier's purchase orders: list, detail and every download.
VIEW_PURCHASE_ORDERS = SupplierAction("view_purchase_orders", "procurement.view_purchaseorder")
# Confirm with a ship date, mark shipped, report a shortage.
ACT_ON_PURCHASE_ORDERS = SupplierAction(
    "act_on_purchase_orders", "procurement.change_purchaseorder"
)


def suppliers_for(user: UserLike, action: SupplierAction = VIEW_SUPPLIER) -> QuerySet[Supplier]:
    """The suppliers for which this user may take `action`."""
    if not user.is_authenticated or not user.is_active:
        return Supplier.objects.none()
    if user_is_hq(user) and user.has_perm(action.hq_permission):
        return Supplier.objects.all()
    return Supplier.objects.filter(pk__in=Supplier.objects.filter(users__user=user).values("pk"))


def may_act_for(user: UserLike, action: SupplierAction, supplier_id: int) -> bool:
    return suppliers_for(user, action).filter(pk=supplier_id).exists()


def may_see_supplier_phones(user: UserLike) -> bool:
    """A supplier's contact phone whole, not masked: HQ staff with the explicit permission
    `procurement.view_supplier_phone` (HQ procurement and HQ operations, who view suppliers:
    buyers call their own suppliers). It is not `customers.view_phone`, which shows members'
    phones: a supplier's business line is not member data (docs/access.md)."""
    return user_is_hq(user) and user.has_perm("procurement.view_supplier_phone")
