"""The published demo logins (password for all: `DEMO_PASSWORD`)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.procurement.models import Supplier, SupplierUser
from apps.stores.models import Store, StoreStaff
from linli import roles

DEMO_PASSWORD = "linli-demo-2026"  # noqa: S105 - a published demo credential
INSPECTED_STORES = 10


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    url_path: str


@dataclass(frozen=True)
class _AccountSpec:
    username: str
    group: str
    role: str
    url_path: str
    is_staff: bool = False
    is_superuser: bool = False


# The demo people's display names: what the admin and the pages call them (`get_full_name()`),
# instead of their logins. A Chinese name is one word, family name first, so it is kept whole
# in `first_name`: Django's get_full_name() joins "first last" with a space ("丽华 王").
DEMO_NAMES = {
    "hq": "陈志远",
    "hq_buyer": "刘芳",
    "hq_inspect": "赵建国",
    "owner": "王丽华",
    "owner2": "张伟",
    "clerk": "周小红",
    "inspector": "李明",
    "supplier": "杨春燕",
}


def demo_accounts_create(*, stores: list[Store], supplier: Supplier) -> list[DemoAccount]:
    """Create (or reset) the demo users with their groups, store roles and supplier link.

    Precondition: `roles.roles_sync()` has run. `owner` owns the first store, `owner2` the
    second (when there is one), `clerk` is a clerk (店员) at the first, `inspector` inspects the
    first ten, `supplier` acts for `supplier`. Each has a Chinese display name (`DEMO_NAMES`).
    One password hash serves every account (hashing is deliberately slow).
    """
    inspected = stores[:INSPECTED_STORES]
    # The role labels are printed by seed_demo: operator output, in English.
    with translation.override("en"):
        specs = [
            _AccountSpec(
                "hq", roles.HQ_OPERATIONS, _("HQ operations, superuser"), "/admin/", True, True
            ),
            _AccountSpec("hq_buyer", roles.HQ_PROCUREMENT, _("HQ procurement"), "/admin/", True),
            _AccountSpec("hq_inspect", roles.HQ_INSPECTION, _("HQ inspection"), "/admin/", True),
            _AccountSpec(
                "owner",
                roles.STORE_OWNERS,
                _("owner of %(store)s") % {"store": stores[0].name},
                "/portal/",
            ),
        ]
        if len(stores) > 1:
            specs.append(
                _AccountSpec(
                    "owner2",
                    roles.STORE_OWNERS,
                    _("owner of %(store)s") % {"store": stores[1].name},
                    "/portal/",
                )
            )
        specs.append(
            _AccountSpec(
                "clerk",
                roles.STORE_CLERKS,
                _("clerk of %(store)s") % {"store": stores[0].name},
                "/portal/",
            )
        )
        specs.append(
            _AccountSpec(
                "inspector",
                roles.INSPECTORS,
                ngettext(
                    "inspector of %(count)d store", "inspector of %(count)d stores", len(inspected)
                )
                % {"count": len(inspected)},
                "/portal/",
            )
        )
        specs.append(
            _AccountSpec(
                "supplier",
                roles.SUPPLIER_USERS,
                _("supplier user of %(supplier)s") % {"supplier": supplier.name},
                "/supplier/",
            )
        )
    password = make_password(DEMO_PASSWORD)
    groups = {
        group.name: group for group in Group.objects.filter(name__in={s.group for s in specs})
    }
    users = {}
    for spec in specs:
        user, _created = get_user_model().objects.update_or_create(
            username=spec.username,
            defaults={
                "email": f"{spec.username}@example.com",
                "first_name": DEMO_NAMES[spec.username],
                "last_name": "",
                "password": password,
                "is_staff": spec.is_staff,
                "is_superuser": spec.is_superuser,
                "is_active": True,
            },
        )
        user.groups.set([groups[spec.group]])
        users[spec.username] = user
    staff = [StoreStaff(user=users["owner"], store=stores[0], role=StoreStaff.Role.OWNER)]
    if "owner2" in users:
        staff.append(StoreStaff(user=users["owner2"], store=stores[1], role=StoreStaff.Role.OWNER))
    staff.append(StoreStaff(user=users["clerk"], store=stores[0], role=StoreStaff.Role.CLERK))
    staff += [
        StoreStaff(user=users["inspector"], store=store, role=StoreStaff.Role.INSPECTOR)
        for store in inspected
    ]
    StoreStaff.objects.bulk_create(staff, ignore_conflicts=True)
    SupplierUser.objects.get_or_create(user=users["supplier"], supplier=supplier)
    return [DemoAccount(spec.username, spec.role, spec.url_path) for spec in specs]
