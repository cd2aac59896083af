"""Permission groups: declared here, written to the database by `manage.py setup_roles`.

HQ groups get model permissions for the admin, and the portal asks HQ the same permissions
(`apps.stores.access`: each store action names the one it needs), except `delete_*` on the
models whose admin is undeletable (`linli.admin_helpers.undeletable_models`). Store owners,
clerks, inspectors and supplier users get none: what they see in the portal is decided by their
store roles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from linli.admin_helpers import undeletable_models

HQ_OPERATIONS = "HQ operations"
HQ_PROCUREMENT = "HQ procurement"
HQ_INSPECTION = "HQ inspection"
STORE_OWNERS = "Store owners"
STORE_CLERKS = "Store clerks"
INSPECTORS = "Inspectors"
SUPPLIER_USERS = "Supplier users"

ALL_ACTIONS = ("view", "add", "change", "delete", "import", "export")

# The stores models HQ inspection reads (view only); see its GroupSpec below.
HQ_INSPECTION_READS = (
    "region",
    "store",
    "storestaff",
    "stocklevel",
    "stockmovement",
    "order",
    "orderline",
    "orderfulfilment",
    "storekpisnapshot",
    "kpisnapshot",
)


@dataclass(frozen=True)
class GroupSpec:
    # The group's name in the database: an identifier code looks groups up by; never renamed.
    name: str
    # What HQ reads for it in the admin, in the page's language.
    label: Promise
    description: str
    # app label -> actions granted on every model of that app
    apps: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # "app_label.model" -> actions granted on that model only
    models: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # extra "app_label.codename" permissions
    extra: tuple[str, ...] = ()


GROUPS: tuple[GroupSpec, ...] = (
    GroupSpec(
        HQ_OPERATIONS,
        _("HQ operations"),
        str(_("HQ operations: members, stores, catalog, campaigns, training")),
        apps={
            "customers": ALL_ACTIONS,
            "catalog": ALL_ACTIONS,
            "stores": ALL_ACTIONS,
            "campaigns": ALL_ACTIONS,
            "training": ALL_ACTIONS,
            "devices": ("view", "change"),
            "procurement": ("view",),
        },
        # Registering and removing the stores' devices is HQ operations' (docs/devices.md):
        # with "view" and "change" alone the group could issue a device's token but not add
        # the device. Readings and alerts stay service-written (their admins refuse adding).
        models={"devices.device": ("add", "delete")},
        extra=(
            "customers.view_phone",
            "customers.merge_member",
            "customers.erase_member",
            # Adding POS terminals, re-issuing and revoking their tokens (the admin's actions).
            "stores.issue_terminal_token",
            # The audit trail of HQ edits (django-auditlog), read-only in the admin.
            "auditlog.view_logentry",
        ),
    ),
    GroupSpec(
        HQ_PROCUREMENT,
        _("HQ procurement"),
        str(_("HQ procurement: suppliers, purchase orders, stock")),
        apps={
            "procurement": ALL_ACTIONS,
            "catalog": ("view", "change", "import", "export"),
            "stores": ("view", "export"),
        },
        extra=("procurement.decide_aftersalescase", "procurement.decide_receiptdispute"),
    ),
    GroupSpec(
        HQ_INSPECTION,
        _("HQ inspection"),
        str(_("HQ inspection: stores, inspections, devices")),
        # Inspection supervisors read the stores (and their staff, stock, orders, KPIs) and
        # change only what inspections need: checklists, the review of an inspection,
        # rectification requests (docs/inspections.md). Not the stores, their staff or orders,
        # and not the tills: terminals and their tokens are HQ operations' (docs/access.md).
        # The devices, their readings, thresholds and alerts they only read (a cold-chain check
        # looks at them): registering devices, their tokens, thresholds and acting on alerts
        # are HQ operations' and the stores'.
        apps={"devices": ("view",)},
        models={
            **{f"stores.{model}": ("view",) for model in HQ_INSPECTION_READS},
            "stores.checklisttemplate": ALL_ACTIONS,
            "stores.checklistitem": ALL_ACTIONS,
            "stores.inspection": ("view", "change"),
            "stores.inspectionitemresult": ("view",),
            "stores.inspectionphoto": ("view",),
            "stores.rectificationitem": ("view", "add", "change"),
        },
    ),
    GroupSpec(STORE_OWNERS, _("Store owners"), str(_("Store owners (portal only)"))),
    GroupSpec(STORE_CLERKS, _("Store clerks"), str(_("Store clerks (portal only)"))),
    GroupSpec(INSPECTORS, _("Inspectors"), str(_("Inspectors (portal only)"))),
    GroupSpec(SUPPLIER_USERS, _("Supplier users"), str(_("Supplier users (supplier pages only)"))),
)


def group_label(name: str) -> str:
    """The translated label of a declared group (its name for any other group)."""
    for spec in GROUPS:
        if spec.name == name:
            return str(spec.label)
    return name


def _permissions_for(spec: GroupSpec) -> list[Permission]:
    query = Q(pk__in=[])
    for app_label, actions in spec.apps.items():
        for action in actions:
            query |= Q(content_type__app_label=app_label, codename__startswith=f"{action}_")
    for dotted, actions in spec.models.items():
        app_label, model = dotted.split(".", 1)
        query |= Q(
            content_type__app_label=app_label,
            content_type__model=model,
            codename__in=[f"{action}_{model}" for action in actions],
        )
    for dotted in spec.extra:
        app_label, codename = dotted.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    # No group holds `delete_*` on a model whose admin nobody may delete in
    # (`UndeletableAdminMixin`, docs/admin.md): it would grant nothing, and a permission that
    # reads "may delete purchase orders" misleads whoever audits the groups.
    never_deleted = Q(pk__in=[])
    for app_label, model in undeletable_models():
        never_deleted |= Q(
            content_type__app_label=app_label,
            content_type__model=model,
            codename=f"delete_{model}",
        )
    return list(Permission.objects.filter(query).exclude(never_deleted))


@transaction.atomic
def roles_sync() -> dict[str, int]:
    """Create or update every declared group with exactly its declared permissions.

    Idempotent: running it twice leaves the same groups and permissions.
    Returns permission counts per group.
    """
    counts: dict[str, int] = {}
    for spec in GROUPS:
        group, _created = Group.objects.get_or_create(name=spec.name)
        permissions = _permissions_for(spec)
        group.permissions.set(permissions)
        counts[spec.name] = len(permissions)
    return counts
