"""apps.stores.access: which stores and suppliers each kind of user may see."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from apps.procurement.access import can_see_supplier, suppliers_for
from apps.procurement.models import Supplier
from apps.stores.access import (
    can_see_store,
    store_for_user_or_403,
    store_roles,
    stores_for,
    user_is_hq,
)
from apps.stores.models import Store, StoreStaff
from tests.factories import StoreFactory, SupplierFactory, SupplierUserFactory, UserFactory

pytestmark = pytest.mark.django_db


def _ids(queryset: object) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def test_hq_sees_every_store(hq_user, store, other_store):
    third = StoreFactory()
    assert _ids(stores_for(hq_user)) == {store.pk, other_store.pk, third.pk}
    assert user_is_hq(hq_user) is True


def test_non_superuser_staff_is_hq_and_sees_every_store(store, other_store):
    staff = UserFactory(is_staff=True)
    assert _ids(stores_for(staff)) == {store.pk, other_store.pk}


def test_owner_sees_only_own_store(owner, store, other_store):
    assert _ids(stores_for(owner)) == {store.pk}
    assert can_see_store(owner, store.pk) is True
    assert can_see_store(owner, other_store.pk) is False
    assert user_is_hq(owner) is False


def test_owner_of_two_stores_sees_both_and_no_third(owner, store, other_store):
    StoreStaff.objects.create(user=owner, store=other_store, role=StoreStaff.Role.OWNER)
    StoreFactory()
    assert _ids(stores_for(owner)) == {store.pk, other_store.pk}


def test_inspector_sees_only_assigned_stores(inspector, store, other_store):
    assert _ids(stores_for(inspector)) == {store.pk}
    assert can_see_store(inspector, other_store.pk) is False


def test_supplier_user_sees_no_store_and_only_own_supplier(supplier_user, store):
    other_supplier = SupplierFactory()
    own = Supplier.objects.get(users__user=supplier_user)
    assert stores_for(supplier_user).count() == 0
    assert _ids(suppliers_for(supplier_user)) == {own.pk}
    assert can_see_supplier(supplier_user, own.pk) is True
    assert can_see_supplier(supplier_user, other_supplier.pk) is False


def test_supplier_user_of_two_suppliers_sees_each_once(supplier_user):
    first = Supplier.objects.get(users__user=supplier_user)
    second = SupplierFactory()
    SupplierUserFactory(user=supplier_user, supplier=second)
    SupplierFactory()
    assert sorted(suppliers_for(supplier_user).values_list("pk", flat=True)) == sorted(
        [first.pk, second.pk]
    )


def test_owner_and_inspector_see_no_supplier(owner, inspector):
    SupplierFactory()
    assert suppliers_for(owner).count() == 0
    assert suppliers_for(inspector).count() == 0


def test_hq_sees_every_supplier(hq_user, supplier_user):
    SupplierFactory()
    assert _ids(suppliers_for(hq_user)) == set(Supplier.objects.values_list("pk", flat=True))
    assert suppliers_for(hq_user).count() == 2


def test_anonymous_sees_nothing(store):
    SupplierFactory()
    anonymous = AnonymousUser()
    assert stores_for(anonymous).count() == 0
    assert suppliers_for(anonymous).count() == 0
    assert store_roles(anonymous) == set()
    assert user_is_hq(anonymous) is False
    with pytest.raises(PermissionDenied):
        store_for_user_or_403(anonymous, store.pk)


def test_inactive_owner_sees_nothing(store):
    from tests.factories import owner_of

    user = owner_of(store, is_active=False)
    assert stores_for(user).count() == 0
    assert store_roles(user) == set()
    assert can_see_store(user, store.pk) is False
    with pytest.raises(PermissionDenied):
        store_for_user_or_403(user, store.pk)


def test_inactive_staff_is_not_hq(store):
    user = UserFactory(is_staff=True, is_superuser=True, is_active=False)
    SupplierFactory()
    assert user_is_hq(user) is False
    assert stores_for(user).count() == 0
    assert suppliers_for(user).count() == 0


def test_roles_filter_narrows_to_those_roles(inspector, store, other_store):
    StoreStaff.objects.create(user=inspector, store=other_store, role=StoreStaff.Role.OWNER)
    assert _ids(stores_for(inspector)) == {store.pk, other_store.pk}
    assert _ids(stores_for(inspector, roles=(StoreStaff.Role.INSPECTOR,))) == {store.pk}
    assert _ids(stores_for(inspector, roles=(StoreStaff.Role.OWNER,))) == {other_store.pk}
    assert _ids(stores_for(inspector, roles=(StoreStaff.Role.CLERK,))) == set()
    assert store_roles(inspector) == {"inspector", "owner"}


def test_roles_filter_applies_to_hq_too(hq_user, store, other_store):
    StoreStaff.objects.create(user=hq_user, store=store, role=StoreStaff.Role.INSPECTOR)
    assert _ids(stores_for(hq_user, roles=(StoreStaff.Role.INSPECTOR,))) == {store.pk}
    assert _ids(stores_for(hq_user)) == {store.pk, other_store.pk}


def test_store_for_user_or_403_returns_own_store_with_region(
    owner, store, django_assert_num_queries
):
    with django_assert_num_queries(1):
        found = store_for_user_or_403(owner, store.pk)
        assert found.region.name == store.region.name
    assert found.pk == store.pk


def test_store_for_user_or_403_refuses_foreign_store(owner, other_store):
    with pytest.raises(PermissionDenied):
        store_for_user_or_403(owner, other_store.pk)


def test_store_for_user_or_403_refuses_unknown_id_like_a_foreign_one(owner, hq_user):
    unknown = (Store.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000
    with pytest.raises(PermissionDenied):
        store_for_user_or_403(owner, unknown)
    with pytest.raises(PermissionDenied):
        store_for_user_or_403(hq_user, unknown)
