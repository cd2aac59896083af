"""The one place that answers "which stores may this user see" (suppliers:
`apps.procurement.access`).

Every portal view, API view, export, file download and websocket connect goes through here.
The admin trusts staff users (HQ); the portal trusts no one: a user sees a store only through
a `StoreStaff` row (owner, clerk, inspector) and a supplier only through a `SupplierUser` row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from apps.stores.models import Store, StoreStaff

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    UserLike = AbstractBaseUser | AnonymousUser


def user_is_hq(user: UserLike) -> bool:
    """HQ staff: active staff users. They work in the admin and may see every store."""
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def stores_for(user: UserLike, *, roles: tuple[str, ...] | None = None) -> QuerySet[Store]:
    """Stores this user may see. HQ sees all; others only stores they are staffed at.

    `roles` narrows to particular staff roles (e.g. only stores where the user is inspector).
    """
    if not user.is_authenticated or not user.is_active:
        return Store.objects.none()
    if user_is_hq(user) and roles is None:
        return Store.objects.all()
    staffing = StoreStaff.objects.filter(user=user)
    if roles is not None:
        staffing = staffing.filter(role__in=roles)
    return Store.objects.filter(pk__in=staffing.values("store_id"))


def store_roles(user: UserLike) -> set[str]:
    """The staff roles this user holds at any store (none for inactive users, like stores_for)."""
    if not user.is_authenticated or not user.is_active:
        return set()
    return set(StoreStaff.objects.filter(user=user).values_list("role", flat=True).distinct())


def can_see_store(user: UserLike, store_id: int) -> bool:
    return stores_for(user).filter(pk=store_id).exists()


def store_for_user_or_403(user: UserLike, store_id: int) -> Store:
    """The store if this user may see it; PermissionDenied otherwise (also for unknown ids,
    so probing ids tells nothing)."""
    store = stores_for(user).select_related("region").filter(pk=store_id).first()
    if store is None:
        raise PermissionDenied
    return store
