"""The demo logins are people with Chinese display names: the admin and the pages call them by
name (get_full_name()), while the published logins stay as they are."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.test import Client

from apps.ops.demo.accounts import DEMO_PASSWORD, demo_accounts_create
from apps.stores.access import MEMBER_DATA, TRAIN, VIEW_STORE, actions_at
from apps.stores.models import StoreStaff
from linli.roles import STORE_CLERKS
from tests.factories import StoreFactory, SupplierFactory

LOGINS = ["hq", "hq_buyer", "hq_inspect", "owner", "owner2", "clerk", "inspector", "supplier"]


@pytest.fixture
def stores() -> list:
    return [StoreFactory(), StoreFactory()]


@pytest.fixture
def accounts(roles: None, stores: list) -> list:
    return demo_accounts_create(stores=stores, supplier=SupplierFactory())


def test_every_demo_login_has_a_chinese_display_name(accounts: list) -> None:
    assert [account.username for account in accounts] == LOGINS
    users = get_user_model().objects.in_bulk(LOGINS, field_name="username")
    names = {login: users[login].get_full_name() for login in LOGINS}
    assert names == {
        "hq": "陈志远",
        "hq_buyer": "刘芳",
        "hq_inspect": "赵建国",
        "owner": "王丽华",
        "owner2": "张伟",
        "clerk": "周小红",
        "inspector": "李明",
        "supplier": "杨春燕",
    }
    assert len(set(names.values())) == len(LOGINS)


def test_a_second_seed_keeps_the_names_and_the_page_header_shows_the_owners(
    accounts: list,
) -> None:
    demo_accounts_create(stores=[StoreFactory()], supplier=SupplierFactory())
    owner = get_user_model().objects.get(username="owner")
    assert (owner.first_name, owner.last_name) == ("王丽华", "")
    client = Client()
    client.force_login(owner)
    page = client.get("/portal/").content.decode()
    assert '<span class="who">王丽华</span>' in page


def test_the_demo_clerk_is_a_clerk_of_the_first_store_only(accounts: list, stores: list) -> None:
    clerk = get_user_model().objects.get(username="clerk")
    assert not clerk.is_staff
    assert list(clerk.groups.values_list("name", flat=True)) == [STORE_CLERKS]
    assert list(StoreStaff.objects.filter(user=clerk).values_list("store", "role")) == [
        (stores[0].pk, "clerk")
    ]
    allowed = actions_at(clerk, stores[0].pk)
    assert {VIEW_STORE.name, TRAIN.name} <= allowed
    assert MEMBER_DATA.name not in allowed
    assert actions_at(clerk, stores[1].pk) == set()
    # A second seed leaves one clerk row, not two.
    demo_accounts_create(stores=stores, supplier=SupplierFactory())
    assert StoreStaff.objects.filter(user=clerk).count() == 1
    client = Client()
    assert client.login(request=HttpRequest(), username="clerk", password=DEMO_PASSWORD)
    assert client.get(f"/portal/stores/{stores[0].pk}/").status_code == 200
    assert client.get(f"/portal/stores/{stores[1].pk}/").status_code == 403
