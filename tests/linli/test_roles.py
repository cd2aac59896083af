"""linli.roles.roles_sync: declared groups with exactly their permissions, idempotently."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from linli.roles import (
    GROUPS,
    HQ_INSPECTION,
    HQ_OPERATIONS,
    HQ_PROCUREMENT,
    INSPECTORS,
    STORE_CLERKS,
    STORE_OWNERS,
    SUPPLIER_USERS,
    roles_sync,
)

pytestmark = pytest.mark.django_db


def _snapshot() -> dict[str, set[str]]:
    return {
        group.name: {
            f"{perm.content_type.app_label}.{perm.codename}"
            for perm in group.permissions.select_related("content_type")
        }
        for group in Group.objects.all()
    }


def test_roles_sync_twice_gives_the_same_groups_and_permissions():
    first_counts = roles_sync()
    first = _snapshot()
    second_counts = roles_sync()
    second = _snapshot()
    assert first_counts == second_counts
    assert first == second
    assert set(first) == {
        HQ_OPERATIONS,
        HQ_PROCUREMENT,
        HQ_INSPECTION,
        STORE_OWNERS,
        STORE_CLERKS,
        INSPECTORS,
        SUPPLIER_USERS,
    }
    assert Group.objects.count() == len(GROUPS) == 7
    assert {name: len(perms) for name, perms in second.items()} == second_counts


def test_portal_groups_get_no_permission_at_all():
    counts = roles_sync()
    assert counts[STORE_OWNERS] == 0
    assert counts[STORE_CLERKS] == 0
    assert counts[INSPECTORS] == 0
    assert counts[SUPPLIER_USERS] == 0


def test_hq_operations_may_see_phones_and_procurement_may_not():
    roles_sync()
    snapshot = _snapshot()
    assert "customers.view_phone" in snapshot[HQ_OPERATIONS]
    assert "customers.view_phone" not in snapshot[HQ_PROCUREMENT]
    assert "customers.view_phone" not in snapshot[HQ_INSPECTION]
    assert {"stores.view_store", "stores.change_store", "stores.add_order"} <= snapshot[
        HQ_OPERATIONS
    ]
    assert "procurement.add_supplier" not in snapshot[HQ_OPERATIONS]
    assert {"procurement.add_supplier", "procurement.view_supplier"} <= snapshot[HQ_PROCUREMENT]
    assert "stores.change_store" not in snapshot[HQ_PROCUREMENT]
    assert "stores.delete_store" not in snapshot[HQ_INSPECTION]
    # Importing sales history is its own permission, held by HQ operations only.
    assert "stores.import_order" in snapshot[HQ_OPERATIONS]
    assert "stores.import_order" not in snapshot[HQ_PROCUREMENT] | snapshot[HQ_INSPECTION]


def test_roles_sync_removes_permissions_added_by_hand():
    roles_sync()
    owners = Group.objects.get(name=STORE_OWNERS)
    owners.permissions.add(Permission.objects.get(codename="view_store"))
    counts = roles_sync()
    assert counts[STORE_OWNERS] == 0
    assert owners.permissions.count() == 0


def test_every_hq_group_permission_exists_for_a_real_model():
    roles_sync()
    for name in (HQ_OPERATIONS, HQ_PROCUREMENT, HQ_INSPECTION):
        group = Group.objects.get(name=name)
        assert group.permissions.filter(content_type__model="").count() == 0
        assert group.permissions.count() > 0


HQ_INSPECTION_MUST_NOT = {
    "stores.change_store",
    "stores.change_order",
    "stores.change_storestaff",
    "stores.change_stocklevel",
    "stores.change_region",
    "stores.view_storeterminal",
    "stores.change_storeterminal",
    "stores.issue_terminal_token",
    # The devices are read only: no registering, editing or removing one (nor its token), no
    # thresholds, no acting on alerts.
    "devices.add_device",
    "devices.change_device",
    "devices.delete_device",
    "devices.change_devicekindthreshold",
    "devices.change_devicealert",
}


def test_hq_inspection_changes_only_what_inspections_need():
    roles_sync()
    inspection = _snapshot()[HQ_INSPECTION]
    assert not inspection & HQ_INSPECTION_MUST_NOT
    changes = {perm for perm in inspection if perm.startswith("stores.change_")}
    assert changes == {
        "stores.change_checklisttemplate",
        "stores.change_checklistitem",
        "stores.change_inspection",
        "stores.change_rectificationitem",
    }
    assert {"stores.view_store", "stores.view_order", "stores.view_storestaff"} <= inspection
    assert {"devices.view_device", "devices.view_devicealert"} <= inspection


def test_only_hq_operations_issues_terminal_tokens():
    roles_sync()
    snapshot = _snapshot()
    holders = {name for name, perms in snapshot.items() if "stores.issue_terminal_token" in perms}
    assert holders == {HQ_OPERATIONS}


def test_setup_roles_takes_the_old_inspection_permissions_away(capsys):
    """A database set up before the role was narrowed: `manage.py setup_roles` again leaves the
    group with exactly what is declared now."""
    roles_sync()
    group = Group.objects.get(name=HQ_INSPECTION)
    old = Permission.objects.filter(
        content_type__app_label="stores", codename__regex=r"^(view|change)_"
    ) | Permission.objects.filter(content_type__app_label="devices")
    group.permissions.add(*old)
    assert {
        "stores.change_order",
        "stores.change_storeterminal",
        "devices.change_device",
    } <= _snapshot()[HQ_INSPECTION]
    call_command("setup_roles")
    assert not _snapshot()[HQ_INSPECTION] & HQ_INSPECTION_MUST_NOT


def _undeletable_in_the_admin() -> set[str]:
    """Every model whose registered admin refuses deleting to anyone (a superuser included),
    read from the admin registry: `has_delete_permission` is False for a superuser."""
    from django.contrib import admin
    from django.test import RequestFactory

    from tests.factories import UserFactory

    request = RequestFactory().get("/admin/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    return {
        f"{model._meta.app_label}.delete_{model._meta.model_name}"
        for model, model_admin in admin.site._registry.items()
        if not model_admin.has_delete_permission(request)
    }


def test_no_hq_group_holds_delete_on_a_model_the_admin_never_deletes():
    undeletable = _undeletable_in_the_admin()
    # The purchase orders and the stock ledger are among them (docs/admin.md).
    assert {"procurement.delete_purchaseorder", "stores.delete_stockmovement"} <= undeletable
    roles_sync()
    snapshot = _snapshot()
    for name in (HQ_OPERATIONS, HQ_PROCUREMENT, HQ_INSPECTION):
        assert not snapshot[name] & undeletable, name
    # Configuration stays deletable by the group that owns it.
    assert "procurement.delete_supplier" in snapshot[HQ_PROCUREMENT]
    assert "stores.delete_store" in snapshot[HQ_OPERATIONS]


def test_setup_roles_takes_delete_on_undeletable_models_away():
    """A database whose groups were set up before: `setup_roles` again removes the `delete_*`
    permissions the admin never honoured."""
    roles_sync()
    group = Group.objects.get(name=HQ_PROCUREMENT)
    group.permissions.add(Permission.objects.get(codename="delete_purchaseorder"))
    call_command("setup_roles", stdout=io.StringIO())
    assert not _snapshot()[HQ_PROCUREMENT] & _undeletable_in_the_admin()
