"""The demo logins are people with Chinese display names: the admin and the pages call them by
name (get_full_name()), while the published logins stay as they are."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from apps.ops.demo.accounts import demo_accounts_create
from tests.factories import StoreFactory, SupplierFactory

LOGINS = ["hq", "hq_buyer", "hq_inspect", "owner", "owner2", "inspector", "supplier"]


@pytest.fixture
def accounts(roles: None) -> list:
    return demo_accounts_create(stores=[StoreFactory(), StoreFactory()], supplier=SupplierFactory())


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
