"""The one place that answers "may this user do X at this store" (suppliers:
`apps.procurement.access`). The policy, in prose and as a table: `docs/access.md`.

Every portal view, API view, export, file download and websocket connect asks here, naming
one of the actions below; no view writes a role rule of its own.

- Store staff (owner, clerk, inspector) get an action at a store through a `StoreStaff` row at
  *that* store whose role is in the action's roles.
- HQ (active staff users) get an action at every store only if they hold the action's admin
  permission (superusers hold all): the portal asks what the admin asks, so an HQ group refused
  members in the admin is refused them here too. An action without an HQ permission (inspecting,
  rectifying) is not HQ's in the portal: HQ reviews those in the admin.
- Inactive and anonymous users get nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from apps.stores.models import Store, StoreStaff

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    UserLike = AbstractBaseUser | AnonymousUser

OWNER = StoreStaff.Role.OWNER.value
CLERK = StoreStaff.Role.CLERK.value
INSPECTOR = StoreStaff.Role.INSPECTOR.value
ALL_STAFF = frozenset({OWNER, CLERK, INSPECTOR})


@dataclass(frozen=True)
class StoreAction:
    """Something a user does at a store: which staff roles there may, and which admin
    permission an HQ user needs for it (None: not available to HQ in the portal)."""

    name: str
    roles: frozenset[str]
    hq_permission: str | None


VIEW_STORE = StoreAction("view_store", ALL_STAFF, "stores.view_store")
MEMBER_DATA = StoreAction("member_data", frozenset({OWNER}), "customers.view_member")
VIEW_DECISIONS = StoreAction("view_decisions", ALL_STAFF, "catalog.view_insightcard")
# Accepting a card drafts a campaign: HQ needs the permission to make campaigns (the admin's
# "accept" action, on the cards' list, asks the same), not only to read the cards.
ACCEPT_INSIGHT = StoreAction("accept_insight", frozenset({OWNER}), "campaigns.add_campaign")
VIEW_DEVICES = StoreAction("view_devices", ALL_STAFF, "devices.view_device")
ACT_ON_ALERTS = StoreAction(
    "act_on_alerts", frozenset({OWNER, CLERK}), "devices.change_devicealert"
)
VIEW_STOCK = StoreAction("view_stock", ALL_STAFF, "stores.view_stocklevel")
VIEW_INSPECTIONS = StoreAction(
    "view_inspections", frozenset({OWNER, INSPECTOR}), "stores.view_inspection"
)
INSPECT = StoreAction("inspect", frozenset({INSPECTOR}), None)
RECTIFY = StoreAction("rectify", frozenset({OWNER}), None)
# Campaigns, broadcasts and group buys: the staff see their store's campaigns and live
# dashboard; the owner confirms packs, starts and ends broadcasts and enters 接龙 lines.
# Target lists name members: they are MEMBER_DATA.
VIEW_CAMPAIGNS = StoreAction(
    "view_campaigns", frozenset({OWNER, CLERK}), "campaigns.view_storecampaign"
)
RUN_CAMPAIGNS = StoreAction("run_campaigns", frozenset({OWNER}), "campaigns.change_storecampaign")
# Goods in and orders out are store acts: the owner and clerks receive deliveries, hand over
# pickup orders and record loss; after-sales cases name the member's order, so only the owner
# opens them. HQ does none of these in the portal: it reads receipts, movements and cases and
# decides the cases in the admin.
RECEIVE_GOODS = StoreAction("receive_goods", frozenset({OWNER, CLERK}), None)
HAND_OVER = StoreAction("hand_over", frozenset({OWNER, CLERK}), None)
RECORD_LOSS = StoreAction("record_loss", frozenset({OWNER, CLERK}), None)
AFTER_SALES = StoreAction("after_sales", frozenset({OWNER}), None)
# Training (apps/training): the owner and clerks train for their store; HQ with the admin's
# enrolment permission sees a store's training page (recommendations, completion) but does not
# enrol or take quizzes there. Inspectors train as HQ field staff, not for a store.
VIEW_TRAINING = StoreAction("view_training", frozenset({OWNER, CLERK}), "training.view_enrolment")
TRAIN = StoreAction("train", frozenset({OWNER, CLERK}), None)

STORE_ACTIONS: tuple[StoreAction, ...] = (
    VIEW_STORE,
    MEMBER_DATA,
    VIEW_DECISIONS,
    ACCEPT_INSIGHT,
    VIEW_DEVICES,
    ACT_ON_ALERTS,
    VIEW_STOCK,
    VIEW_INSPECTIONS,
    INSPECT,
    RECTIFY,
    VIEW_CAMPAIGNS,
    RUN_CAMPAIGNS,
    RECEIVE_GOODS,
    HAND_OVER,
    RECORD_LOSS,
    AFTER_SALES,
    VIEW_TRAINING,
    TRAIN,
)


def user_is_hq(user: UserLike) -> bool:
    """HQ staff: active staff users. What they may do is their admin permissions."""
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def hq_may(user: UserLike, action: StoreAction) -> bool:
    """True when the user is HQ and holds the action's admin permission: the action at every
    store."""
    return (
        action.hq_permission is not None
        and user_is_hq(user)
        and user.has_perm(action.hq_permission)
    )


def stores_for(user: UserLike, action: StoreAction = VIEW_STORE) -> QuerySet[Store]:
    """The stores at which this user may take `action`."""
    if not user.is_authenticated or not user.is_active:
        return Store.objects.none()
    if hq_may(user, action):
        return Store.objects.all()
    staffing = StoreStaff.objects.filter(user=user, role__in=action.roles)
    return Store.objects.filter(pk__in=staffing.values("store_id"))


def may_at_every_store_listed(user: UserLike, action: StoreAction) -> bool:
    """Whether `user` may take `action` at every store `stores_for(user)` lists, without a
    query: HQ by its permission; store staff when the action's roles include VIEW_STORE's
    (they see a store only through such a role). The portal home uses it to link each listed
    store's page for `action`."""
    if hq_may(user, action):
        return True
    return not hq_may(user, VIEW_STORE) and action.roles >= VIEW_STORE.roles


def may(user: UserLike, action: StoreAction, store_id: int) -> bool:
    return stores_for(user, action).filter(pk=store_id).exists()


def store_or_403(user: UserLike, store_id: int, action: StoreAction = VIEW_STORE) -> Store:
    """The store (with its region) if this user may take `action` there; PermissionDenied
    otherwise, also for an unknown id, so probing ids tells nothing."""
    store = stores_for(user, action).select_related("region").filter(pk=store_id).first()
    if store is None:
        raise PermissionDenied
    return store


def actions_at(user: UserLike, store_id: int) -> frozenset[str]:
    """Names of every action this user may take at this store, in one or two queries: for a
    page that shows a link only when its target would open (`{% if "member_data" in allowed %}`).

    Answers exactly as `may` does for each action (tests hold the two together)."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    roles = set(
        StoreStaff.objects.filter(user=user, store_id=store_id).values_list("role", flat=True)
    )
    hq_here = user_is_hq(user) and Store.objects.filter(pk=store_id).exists()
    return frozenset(
        action.name
        for action in STORE_ACTIONS
        if roles & action.roles or (hq_here and hq_may(user, action))
    )


def store_and_actions_or_403(
    user: UserLike, store_id: int, action: StoreAction = VIEW_STORE
) -> tuple[Store, frozenset[str]]:
    """`store_or_403` and `actions_at` together, in one query for store staff (the user's staff
    rows at this store, with the store and its region) and two for HQ who hold no role there.
    PermissionDenied exactly when `store_or_403` refuses (tests hold the three together)."""
    if not user.is_authenticated or not user.is_active:
        raise PermissionDenied
    staffing = list(
        StoreStaff.objects.filter(user=user, store_id=store_id).select_related("store__region")
    )
    roles = {row.role for row in staffing}
    store = staffing[0].store if staffing else None
    is_hq = user_is_hq(user)
    if store is None and is_hq:
        store = Store.objects.select_related("region").filter(pk=store_id).first()
    if store is None:
        raise PermissionDenied
    allowed = frozenset(
        each.name for each in STORE_ACTIONS if roles & each.roles or (is_hq and hq_may(user, each))
    )
    if action.name not in allowed:
        raise PermissionDenied
    return store, allowed
