"""apps.stores.access and apps.procurement.access: the named actions of docs/access.md, each
against every kind of user, and the pages that ask them (members, alerts, the store page)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser, Group
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone, translation

from apps.devices.models import DeviceAlert
from apps.devices.services import alert_open
from apps.procurement.access import VIEW_SUPPLIER, SupplierAction, may_act_for, suppliers_for
from apps.procurement.models import Supplier
from apps.stores.access import (
    ACCEPT_INSIGHT,
    ACT_ON_ALERTS,
    AFTER_SALES,
    HAND_OVER,
    INSPECT,
    MEMBER_DATA,
    RECEIVE_GOODS,
    RECORD_LOSS,
    RECTIFY,
    RUN_CAMPAIGNS,
    STORE_ACTIONS,
    TRAIN,
    VIEW_CAMPAIGNS,
    VIEW_DECISIONS,
    VIEW_DEVICES,
    VIEW_INSPECTIONS,
    VIEW_STOCK,
    VIEW_STORE,
    VIEW_TRAINING,
    StoreAction,
    actions_at,
    hq_may,
    may,
    store_and_actions_or_403,
    store_or_403,
    stores_for,
    user_is_hq,
)
from apps.stores.models import Order, Store, StoreStaff
from linli.roles import GROUPS, HQ_INSPECTION, HQ_OPERATIONS, HQ_PROCUREMENT
from tests.devices.factories import DeviceFactory, hot_facts
from tests.factories import (
    MemberFactory,
    ProductFactory,
    StockLevelFactory,
    StoreFactory,
    SupplierFactory,
    SupplierUserFactory,
    UserFactory,
    owner_of,
)
from tests.stores.test_inspections_support import submitted_inspection

pytestmark = pytest.mark.django_db

HQ_GROUP_USERS = {
    "hq_operations": HQ_OPERATIONS,
    "hq_procurement": HQ_PROCUREMENT,
    "hq_inspection": HQ_INSPECTION,
}


def _ids(queryset: object) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def _hq(name: str, group: str) -> object:
    user = UserFactory(is_staff=True, username=name)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def hq_operations(roles: None) -> object:
    return _hq("hq_ops", HQ_OPERATIONS)


@pytest.fixture
def hq_procurement(roles: None) -> object:
    return _hq("hq_buyer", HQ_PROCUREMENT)


@pytest.fixture
def hq_inspection(roles: None) -> object:
    return _hq("hq_inspect", HQ_INSPECTION)


@pytest.fixture
def inactive_owner(store: object) -> object:
    return owner_of(store, is_active=False)


@pytest.fixture
def anonymous() -> AnonymousUser:
    return AnonymousUser()


# Who may take each action at `store` (docs/access.md). Everyone not listed is refused:
# other_owner, inactive_owner, anonymous, supplier_user always.
WHO = [
    "owner",
    "clerk",
    "inspector",
    "other_owner",
    "hq_user",
    "hq_operations",
    "hq_procurement",
    "hq_inspection",
    "inactive_owner",
    "anonymous",
    "supplier_user",
]
ALLOWED = {
    VIEW_STORE: {
        "owner",
        "clerk",
        "inspector",
        "hq_user",
        "hq_operations",
        "hq_procurement",
        "hq_inspection",
    },
    MEMBER_DATA: {"owner", "hq_user", "hq_operations"},
    VIEW_DECISIONS: {"owner", "clerk", "inspector", "hq_user", "hq_operations", "hq_procurement"},
    # Accepting drafts a campaign: HQ procurement reads the cards but makes no campaigns.
    ACCEPT_INSIGHT: {"owner", "hq_user", "hq_operations"},
    VIEW_DEVICES: {"owner", "clerk", "inspector", "hq_user", "hq_operations", "hq_inspection"},
    # HQ inspection reads the devices only: it acts on alerts neither in the admin nor here.
    ACT_ON_ALERTS: {"owner", "clerk", "hq_user", "hq_operations"},
    VIEW_STOCK: {
        "owner",
        "clerk",
        "inspector",
        "hq_user",
        "hq_operations",
        "hq_procurement",
        "hq_inspection",
    },
    VIEW_INSPECTIONS: {
        "owner",
        "inspector",
        "hq_user",
        "hq_operations",
        "hq_procurement",
        "hq_inspection",
    },
    INSPECT: {"inspector"},
    RECTIFY: {"owner"},
    VIEW_CAMPAIGNS: {"owner", "clerk", "hq_user", "hq_operations"},
    RUN_CAMPAIGNS: {"owner", "hq_user", "hq_operations"},
    # Store acts: HQ reads receipts, movements and cases in the admin, not here.
    RECEIVE_GOODS: {"owner", "clerk"},
    HAND_OVER: {"owner", "clerk"},
    RECORD_LOSS: {"owner", "clerk"},
    AFTER_SALES: {"owner"},
    # Training: the store's owner and clerks; HQ with the enrolment permission sees the page.
    VIEW_TRAINING: {"owner", "clerk", "hq_user", "hq_operations"},
    TRAIN: {"owner", "clerk"},
}


def _user(who: str, request: pytest.FixtureRequest) -> object:
    return request.getfixturevalue(who)


def test_the_table_names_every_action_once():
    assert set(ALLOWED) == set(STORE_ACTIONS)
    assert len({action.name for action in STORE_ACTIONS}) == len(STORE_ACTIONS)


@pytest.mark.parametrize("who", WHO)
def test_each_action_for_each_kind_of_user(who, request, store, other_store):
    user = _user(who, request)
    for action in STORE_ACTIONS:
        expected = who in ALLOWED[action]
        assert may(user, action, store.pk) is expected, action.name
        assert (store.pk in _ids(stores_for(user, action))) is expected, action.name
        if expected:
            assert store_or_403(user, store.pk, action) == store
        else:
            with pytest.raises(PermissionDenied):
                store_or_403(user, store.pk, action)
    assert actions_at(user, store.pk) == {
        action.name for action in STORE_ACTIONS if who in ALLOWED[action]
    }


@pytest.mark.parametrize("who", WHO)
def test_the_same_users_at_another_store(who, request, store, other_store):
    """Store staff hold their roles at their own store only; HQ's answer is the same everywhere."""
    user = _user(who, request)
    for action in STORE_ACTIONS:
        if who.startswith("hq_"):
            expected = who in ALLOWED[action]
        elif who == "other_owner":
            expected = "owner" in ALLOWED[action]
        else:
            expected = False
        assert may(user, action, other_store.pk) is expected, action.name
        assert (other_store.pk in _ids(stores_for(user, action))) is expected, action.name
        assert (action.name in actions_at(user, other_store.pk)) is expected, action.name
    unknown = other_store.pk + 1000
    assert actions_at(user, unknown) == frozenset()
    assert not any(may(user, action, unknown) for action in STORE_ACTIONS)


def _both_or_refusal(user: object, store_id: int, action: StoreAction) -> object:
    """(store_or_403, actions_at) as the store page used to ask them, or "refused"."""
    try:
        return store_or_403(user, store_id, action), actions_at(user, store_id)
    except PermissionDenied:
        return "refused"


def _combined_or_refusal(user: object, store_id: int, action: StoreAction) -> object:
    try:
        return store_and_actions_or_403(user, store_id, action)
    except PermissionDenied:
        return "refused"


@pytest.mark.parametrize("who", WHO)
def test_store_and_actions_or_403_answers_as_store_or_403_and_actions_at(
    who, request, store, other_store
):
    user = _user(who, request)
    StoreStaff.objects.create(
        user=UserFactory(), store=other_store, role=StoreStaff.Role.OWNER
    )  # someone else's role there opens nothing
    unknown = other_store.pk + 1000
    for store_id in (store.pk, other_store.pk, unknown):
        for action in STORE_ACTIONS:
            expected = _both_or_refusal(user, store_id, action)
            assert _combined_or_refusal(user, store_id, action) == expected, (store_id, action)
            if expected != "refused":
                assert expected[0].region.name  # region fetched with the store


def test_store_and_actions_or_403_for_an_hq_user_staffed_at_the_store(hq_user, store):
    StoreStaff.objects.create(user=hq_user, store=store, role=StoreStaff.Role.INSPECTOR)
    found, allowed = store_and_actions_or_403(hq_user, store.pk, INSPECT)
    assert found == store
    assert allowed == actions_at(hq_user, store.pk)
    assert INSPECT.name in allowed


def test_store_and_actions_or_403_takes_one_query_for_store_staff(
    owner, store, django_assert_num_queries
):
    with django_assert_num_queries(1):
        found, allowed = store_and_actions_or_403(owner, store.pk, VIEW_STORE)
        assert found.region.name == store.region.name
    assert found == store
    assert allowed == {action.name for action in STORE_ACTIONS if "owner" in ALLOWED[action]}


@pytest.mark.parametrize("who", ["hq_user", "hq_operations", "hq_inspection"])
def test_hq_gets_every_store_for_an_action_it_holds(who, request, store, other_store):
    third = StoreFactory()
    user = _user(who, request)
    assert _ids(stores_for(user, VIEW_DEVICES)) == {store.pk, other_store.pk, third.pk}
    assert user_is_hq(user) is True


@pytest.mark.parametrize(
    ("who", "action"),
    [
        ("hq_procurement", MEMBER_DATA),
        ("hq_inspection", MEMBER_DATA),
        ("hq_procurement", VIEW_DEVICES),
        ("hq_procurement", ACT_ON_ALERTS),
        ("hq_inspection", VIEW_DECISIONS),
    ],
)
def test_hq_gets_no_store_for_an_action_its_group_lacks(who, action, request, store):
    user = _user(who, request)
    assert hq_may(user, action) is False
    assert stores_for(user, action).count() == 0


@pytest.mark.parametrize("action", [INSPECT, RECTIFY], ids=lambda action: action.name)
def test_actions_without_hq_permission_are_not_hqs_even_for_a_superuser(action, hq_user, store):
    assert action.hq_permission is None
    assert hq_may(hq_user, action) is False
    assert stores_for(hq_user, action).count() == 0


def test_hq_staffed_at_a_store_also_gets_the_staff_role_there(hq_user, store, other_store):
    StoreStaff.objects.create(user=hq_user, store=store, role=StoreStaff.Role.INSPECTOR)
    assert _ids(stores_for(hq_user, INSPECT)) == {store.pk}
    assert _ids(stores_for(hq_user, VIEW_STORE)) == {store.pk, other_store.pk}


def test_staff_without_any_group_sees_no_store(store, other_store):
    staff = UserFactory(is_staff=True)
    assert user_is_hq(staff) is True
    assert stores_for(staff).count() == 0
    assert actions_at(staff, store.pk) == frozenset()


def test_permissions_without_staff_give_a_store_user_nothing_more(clerk, store, other_store, roles):
    clerk.groups.add(Group.objects.get(name=HQ_OPERATIONS))
    assert user_is_hq(clerk) is False
    assert may(clerk, MEMBER_DATA, store.pk) is False
    assert _ids(stores_for(clerk, VIEW_STORE)) == {store.pk}


def test_inactive_superuser_is_not_hq_and_sees_nothing(store):
    user = UserFactory(is_staff=True, is_superuser=True, is_active=False)
    SupplierFactory()
    assert user_is_hq(user) is False
    assert stores_for(user).count() == 0
    assert suppliers_for(user).count() == 0
    assert actions_at(user, store.pk) == frozenset()


def test_owner_of_two_stores_sees_both_and_no_third(owner, store, other_store):
    StoreStaff.objects.create(user=owner, store=other_store, role=StoreStaff.Role.OWNER)
    StoreFactory()
    assert _ids(stores_for(owner)) == {store.pk, other_store.pk}


def test_a_user_with_two_roles_at_two_stores_gets_each_roles_actions_there(
    inspector, store, other_store
):
    StoreStaff.objects.create(user=inspector, store=other_store, role=StoreStaff.Role.OWNER)
    assert _ids(stores_for(inspector)) == {store.pk, other_store.pk}
    assert _ids(stores_for(inspector, INSPECT)) == {store.pk}
    assert _ids(stores_for(inspector, MEMBER_DATA)) == {other_store.pk}
    assert _ids(stores_for(inspector, ACT_ON_ALERTS)) == {other_store.pk}
    assert _ids(stores_for(inspector, RECTIFY)) == {other_store.pk}


def test_store_or_403_returns_the_store_with_its_region_in_one_query(
    owner, store, django_assert_num_queries
):
    with django_assert_num_queries(1):
        found = store_or_403(owner, store.pk, MEMBER_DATA)
        assert found.region.name == store.region.name
    assert found.pk == store.pk


def test_a_role_held_by_someone_else_at_another_store_gives_nothing_there(
    owner, other_owner, store, other_store
):
    """The staff rows counted are the user's own: another store's owner opens no door."""
    for action in (VIEW_STORE, MEMBER_DATA, RECTIFY):
        assert _ids(stores_for(owner, action)) == {store.pk}, action.name
        assert may(owner, action, other_store.pk) is False, action.name
        with pytest.raises(PermissionDenied):
            store_or_403(owner, other_store.pk, action)
    assert _ids(stores_for(other_owner)) == {other_store.pk}


def test_store_or_403_refuses_an_unknown_id_like_a_foreign_one(owner, hq_user, other_store):
    unknown = (Store.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000
    for user, store_id in ((owner, unknown), (owner, other_store.pk), (hq_user, unknown)):
        with pytest.raises(PermissionDenied):
            store_or_403(user, store_id)
        assert may(user, VIEW_STORE, store_id) is False
        assert actions_at(user, store_id) == frozenset()


def _admin_allows(user: object, action: StoreAction) -> bool:
    """What the admin answers the same user for the same thing: the model admin's view
    permission, or whether it offers the action that does it."""
    model_name, admin_action = ADMIN_EQUIVALENT[action]
    model_admin = admin.site._registry[django_apps.get_model(model_name)]
    request = RequestFactory().get("/admin/")
    request.user = user
    if admin_action is None:
        return model_admin.has_view_permission(request)
    return admin_action in model_admin.get_actions(request)


ADMIN_EQUIVALENT = {
    VIEW_STORE: ("stores.Store", None),
    MEMBER_DATA: ("customers.Member", None),
    VIEW_DECISIONS: ("catalog.InsightCard", None),
    ACCEPT_INSIGHT: ("catalog.InsightCard", "accept_cards"),
    VIEW_DEVICES: ("devices.Device", None),
    ACT_ON_ALERTS: ("devices.DeviceAlert", "acknowledge"),
    VIEW_STOCK: ("stores.StockLevel", None),
    VIEW_INSPECTIONS: ("stores.Inspection", None),
    VIEW_CAMPAIGNS: ("campaigns.StoreCampaign", None),
    RUN_CAMPAIGNS: ("campaigns.StoreCampaign", "regenerate_packs"),
    VIEW_TRAINING: ("training.Enrolment", None),
}


def test_every_action_hq_may_take_has_its_admin_equivalent():
    assert set(ADMIN_EQUIVALENT) == {a for a in STORE_ACTIONS if a.hq_permission is not None}


@pytest.mark.parametrize("who", [*HQ_GROUP_USERS, "hq_user"])
def test_the_portal_asks_hq_what_the_admin_asks(who, request, store):
    user = _user(who, request)
    for action in ADMIN_EQUIVALENT:
        assert may(user, action, store.pk) is _admin_allows(user, action), action.name


def test_every_hq_group_with_a_portal_action_may_also_open_the_store_page(roles, store):
    """Pages link back to the store page; no HQ group may reach one and be refused the other."""
    for spec in GROUPS:
        user = _hq(spec.name.replace(" ", "_"), spec.name)
        if actions_at(user, store.pk):
            assert VIEW_STORE.name in actions_at(user, store.pk), spec.name


# --- suppliers --------------------------------------------------------------------------------


def test_supplier_user_sees_no_store_and_only_own_supplier(supplier_user, store):
    other_supplier = SupplierFactory()
    own = Supplier.objects.get(users__user=supplier_user)
    assert stores_for(supplier_user).count() == 0
    assert _ids(suppliers_for(supplier_user, VIEW_SUPPLIER)) == {own.pk}
    assert may_act_for(supplier_user, VIEW_SUPPLIER, own.pk) is True
    assert may_act_for(supplier_user, VIEW_SUPPLIER, other_supplier.pk) is False


def test_supplier_user_of_two_suppliers_sees_each_once(supplier_user):
    first = Supplier.objects.get(users__user=supplier_user)
    second = SupplierFactory()
    SupplierUserFactory(user=supplier_user, supplier=second)
    SupplierFactory()
    assert sorted(suppliers_for(supplier_user).values_list("pk", flat=True)) == sorted(
        [first.pk, second.pk]
    )


def test_store_users_see_no_supplier(owner, clerk, inspector):
    SupplierFactory()
    for user in (owner, clerk, inspector):
        assert suppliers_for(user).count() == 0


@pytest.mark.parametrize(
    ("who", "sees_all"),
    [
        ("hq_user", True),
        ("hq_operations", True),
        ("hq_procurement", True),
        ("hq_inspection", False),
        ("anonymous", False),
    ],
)
def test_hq_sees_every_supplier_only_with_the_admins_permission(
    who, sees_all, request, supplier_user
):
    SupplierFactory()
    user = _user(who, request)
    expected = set(Supplier.objects.values_list("pk", flat=True)) if sees_all else set()
    assert _ids(suppliers_for(user)) == expected
    assert len(expected) == (2 if sees_all else 0)


def test_an_inactive_supplier_user_acts_for_no_supplier(supplier_user):
    own = Supplier.objects.get(users__user=supplier_user)
    supplier_user.is_active = False
    supplier_user.save(update_fields=["is_active"])
    assert suppliers_for(supplier_user).count() == 0
    assert may_act_for(supplier_user, VIEW_SUPPLIER, own.pk) is False


def test_may_act_for_asks_hq_for_the_given_actions_permission(
    hq_operations, hq_procurement, supplier_user
):
    """HQ operations may view suppliers but not change them; HQ procurement may do both."""
    own = Supplier.objects.get(users__user=supplier_user)
    change = SupplierAction("change_supplier", "procurement.change_supplier")
    assert may_act_for(hq_procurement, VIEW_SUPPLIER, own.pk) is True
    assert may_act_for(hq_procurement, change, own.pk) is True
    assert may_act_for(hq_operations, VIEW_SUPPLIER, own.pk) is True
    assert may_act_for(hq_operations, change, own.pk) is False
    assert suppliers_for(hq_operations, change).count() == 0
    # A supplier's own user acts for it whatever the action: the link is the grant.
    assert may_act_for(supplier_user, change, own.pk) is True


def test_supplier_pages_follow_view_supplier(client, hq_procurement, hq_inspection, supplier_user):
    client.force_login(hq_procurement)
    assert client.get(reverse("supplier:home")).status_code == 200
    client.force_login(hq_inspection)
    assert client.get(reverse("supplier:home")).status_code == 403


# --- the next-products leak: member data through the API --------------------------------------


@pytest.fixture
def home_member(store: object) -> object:
    return MemberFactory(name="王芳", phone="+8613800138000", home_store=store)


def _next_products(store: object, member: object) -> str:
    return f"/api/v1/stores/{store.pk}/members/{member.pk}/next-products/"


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("owner", 200),
        ("hq_operations", 200),
        ("clerk", 403),
        ("inspector", 403),
        ("hq_procurement", 403),
        ("hq_inspection", 403),
        ("other_owner", 403),
        ("supplier_user", 403),
    ],
)
def test_next_products_api_is_member_data(who, status, request, store, home_member):
    client = Client()
    client.force_login(_user(who, request))
    response = client.get(_next_products(store, home_member))
    assert response.status_code == status
    if status == 200:
        assert response.json() == []
    else:
        assert "王芳" not in response.content.decode()


def test_next_products_api_sends_anonymous_a_401(store, home_member):
    assert Client().get(_next_products(store, home_member)).status_code == 401


# --- member pages and alert actions for the HQ groups -----------------------------------------


@pytest.mark.parametrize(
    ("who", "status"), [("hq_operations", 200), ("hq_procurement", 403), ("hq_inspection", 403)]
)
def test_member_pages_follow_the_hq_groups_admin_permission(
    who, status, request, client, store, home_member
):
    client.force_login(_user(who, request))
    for url in (
        reverse("members:list", args=[store.pk]),
        reverse("members:detail", args=[store.pk, home_member.member_no]),
    ):
        response = client.get(url)
        assert response.status_code == status
        assert ("王芳" in response.content.decode()) is (status == 200)


@pytest.fixture
def alert(store: object) -> DeviceAlert:
    alert, _created = alert_open(
        device=DeviceFactory(store=store),
        kind=DeviceAlert.Kind.TEMPERATURE_OUT_OF_RANGE,
        facts=hot_facts(12.0),
        value=12,
    )
    return alert


def _alert_urls(alert: DeviceAlert) -> list[str]:
    return [
        reverse("devices:alert-acknowledge", args=[alert.pk]),
        reverse("devices:alert-resolve", args=[alert.pk]),
    ]


@pytest.mark.parametrize("who", ["hq_procurement", "hq_inspection", "inspector", "other_owner"])
def test_alert_actions_are_refused_and_change_nothing(who, request, client, alert):
    client.force_login(_user(who, request))
    for url in _alert_urls(alert):
        assert client.post(url, {"note": "done"}).status_code == 403
    alert.refresh_from_db()
    assert alert.status == DeviceAlert.Status.OPEN
    assert (alert.acknowledged_by, alert.resolved_by, alert.resolution_note) == (None, None, "")


@pytest.mark.parametrize("who", ["hq_operations", "clerk"])
def test_alert_actions_are_allowed_where_the_admin_allows_them(who, request, client, alert):
    user = _user(who, request)
    client.force_login(user)
    acknowledge, resolve = _alert_urls(alert)
    assert client.post(acknowledge).status_code == 302
    assert client.post(resolve, {"note": "door closed"}).status_code == 302
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by, alert.resolved_by) == (
        DeviceAlert.Status.RESOLVED,
        user,
        user,
    )


def test_hq_procurement_does_not_see_the_devices_page(client, hq_procurement, alert):
    client.force_login(hq_procurement)
    response = client.get(reverse("devices:store", args=[alert.store_id]))
    assert response.status_code == 403
    assert "12.0 °C" not in response.content.decode()


# --- the store page shows only what the user may open -----------------------------------------


@pytest.fixture
def busy_store(store: object, home_member: object, inspector: object) -> object:
    """The store with an order by a member, a low stock line, a device and an inspection."""
    Order.objects.create(
        store=store,
        member=home_member,
        channel=Order.Channel.POS,
        idempotency_key="order-1",
        total=Decimal("12.80"),
        placed_at=timezone.now(),
    )
    StockLevelFactory(store=store, product=ProductFactory(name="冰镇西瓜"), on_hand=2)
    DeviceFactory(store=store)
    submitted_inspection(store=store, inspector=inspector)
    return store


def _store_page(client: Client, user: object, store: object) -> str:
    client.force_login(user)
    with translation.override("en"):
        response = client.get(reverse("portal:store", args=[store.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


LINKS = {
    "decisions": "decisions:store",
    "members": "members:list",
    "devices": "devices:store",
    "inspections": "inspections:store",
    "training": "training:store",
}


@pytest.mark.parametrize(
    ("who", "links", "sees_members", "sees_stock"),
    [
        ("owner", {"decisions", "members", "devices", "inspections", "training"}, True, True),
        (
            "hq_operations",
            {"decisions", "members", "devices", "inspections", "training"},
            True,
            True,
        ),
        ("clerk", {"decisions", "devices", "training"}, False, True),
        ("inspector", {"decisions", "devices", "inspections"}, False, True),
        ("hq_procurement", {"decisions", "inspections"}, False, True),
        ("hq_inspection", {"devices", "inspections"}, False, True),
    ],
)
def test_store_page_shows_links_and_member_names_only_to_who_may_open_them(
    who, links, sees_members, sees_stock, request, client, busy_store
):
    page = _store_page(client, _user(who, request), busy_store)
    for name, route in LINKS.items():
        assert (f'href="{reverse(route, args=[busy_store.pk])}"' in page) is (name in links), name
    assert ("王芳" in page) is sees_members
    assert ("138****8000" in page) is sees_members
    assert ("冰镇西瓜" in page) is sees_stock
    if not sees_members:
        assert "<td>member</td>" in page


def test_store_page_of_an_inspector_loads_no_member(client, inspector, busy_store):
    client.force_login(inspector)
    response = client.get(reverse("portal:store", args=[busy_store.pk]))
    assert [order.member_id is not None for order in response.context["orders"]] == [True]
    assert all("member" not in order._state.fields_cache for order in response.context["orders"])


PORTAL_HREF = re.compile(r'href="(/portal/[^"#]*)')


@pytest.mark.parametrize(
    "who",
    ["owner", "clerk", "inspector", "hq_operations", "hq_procurement", "hq_inspection"],
)
def test_every_portal_link_a_user_is_shown_opens(who, request, client, busy_store):
    """Walk the portal from the store page, two links deep: no page shows a link that refuses."""
    client.force_login(_user(who, request))
    start = reverse("portal:store", args=[busy_store.pk])
    seen, frontier, refused = {start}, [start], []
    for _depth in range(3):
        following = []
        for url in frontier:
            response = client.get(url, follow=True)
            if response.status_code != 200:
                refused.append((url, response.status_code))
                continue
            if "text/html" not in response.get("Content-Type", ""):
                continue
            for href in PORTAL_HREF.findall(response.content.decode()):
                href = href.replace("&amp;", "&")
                if href not in seen:
                    seen.add(href)
                    following.append(href)
        frontier = following
    assert refused == []
    assert len(seen) >= 4
