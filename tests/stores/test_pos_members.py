"""What a till learns of a member: the sale is recorded on the member the identities name,
network-wide, but the answer names a member (`member_no`, identity-conflict numbers) only when
the member is this store's (home store here, or an earlier order here) — docs/members.md."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.stores.models import Order
from apps.stores.services.terminals import terminal_issue
from tests.factories import MemberFactory, MemberIdentityFactory, ProductFactory, StockLevelFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/pos/orders"


@pytest.fixture
def client(store) -> APIClient:
    StockLevelFactory(store=store, product=ProductFactory(sku="FRU-0001"), on_hand=10)
    _terminal, token = terminal_issue(store=store, name="Till 1")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Terminal {token}")
    return api


def sale(key: str, **member: str) -> dict:
    return {
        "idempotency_key": key,
        "member": member,
        "lines": [{"sku": "FRU-0001", "quantity": 1, "unit_price": "12.80"}],
    }


def test_a_phone_of_another_stores_member_records_the_sale_but_answers_no_number(
    client, other_store
):
    elsewhere = MemberFactory(home_store=other_store, phone="+8613800138000")
    first = client.post(URL, sale("k-1", phone="138-0013-8000"), format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["member_no"] is None
    assert elsewhere.member_no not in first.content.decode()
    assert Order.objects.get().member == elsewhere  # one member ID across stores
    retry = client.post(URL, sale("k-1", phone="138-0013-8000"), format="json")
    assert (retry.status_code, retry.json()["member_no"]) == (200, None)


def test_a_member_who_bought_here_before_is_named(client, store, other_store):
    regular = MemberFactory(home_store=other_store, phone="+8613800138000")
    assert client.post(URL, sale("k-1", phone="13800138000"), format="json").status_code == 201
    second = client.post(URL, sale("k-2", phone="13800138000"), format="json")
    assert (second.status_code, second.json()["member_no"]) == (201, regular.member_no)


def test_this_stores_member_and_a_new_member_are_named(client, store):
    mine = MemberIdentityFactory(kind="member_card", value="CARD-1", member__home_store=store)
    known = client.post(URL, sale("k-1", member_card="CARD-1"), format="json")
    new = client.post(URL, sale("k-2", phone="13900000001"), format="json")
    assert known.json()["member_no"] == mine.member.member_no
    made = Order.objects.get(idempotency_key="k-2").member
    assert (made.home_store_id, new.json()["member_no"]) == (store.pk, made.member_no)


def test_an_identity_conflict_names_only_this_stores_members(client, store, other_store):
    mine = MemberFactory(home_store=store, phone="+8613800138000")
    elsewhere = MemberIdentityFactory(
        kind="member_card", value="CARD-7", member__home_store=other_store
    ).member
    response = client.post(
        URL, sale("k-1", phone="13800138000", member_card="CARD-7"), format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["member_no"] == mine.member_no
    assert [(w["code"], w["member_numbers"]) for w in body["warnings"]] == [
        ("identity_conflict", [mine.member_no])
    ]
    assert elsewhere.member_no not in response.content.decode()
