"""Who a terminal may name in a join or comment: members are network-wide (one member ID, any
store), but a terminal names a member by number only if the member is its store's (home store
here, or bought here), and its answers reveal no other store's member (docs/group-buys.md)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.campaigns.models import BroadcastComment, GroupBuyJoin
from apps.customers.models import Member
from apps.stores.models import Order
from apps.stores.services.terminals import terminal_issue
from tests.campaigns.factories import BroadcastFactory, GroupBuyOfferFactory
from tests.campaigns.review_data import order_for
from tests.factories import MemberFactory, ProductFactory, StockLevelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def offer(store):
    product = ProductFactory(name="云南蓝莓")
    StockLevelFactory(store=store, product=product, on_hand=20)
    broadcast = BroadcastFactory(store_campaign__store=store)
    return GroupBuyOfferFactory(broadcast=broadcast, product=product, threshold=5, cap=10)


@pytest.fixture
def client(store) -> APIClient:
    _terminal, token = terminal_issue(store=store, name="Bot")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Terminal {token}")
    return api


def _join(client, offer, **person):
    return client.post(
        f"/api/v1/group-buys/offers/{offer.pk}/joins",
        {"quantity": 1, "idempotency_key": "k-1", **person},
        format="json",
    )


def test_another_stores_member_number_is_refused_like_a_number_nobody_has(
    client, offer, other_store
):
    elsewhere = MemberFactory(home_store=other_store, name="王芳")
    refused = _join(client, offer, member_no=elsewhere.member_no)
    nobody = _join(client, offer, member_no="M99999999999")
    assert (refused.status_code, refused.json()["code"]) == (400, "unknown_member")
    assert refused.json() == nobody.json()
    assert "王芳" not in refused.content.decode()
    assert (GroupBuyJoin.objects.count(), Order.objects.count()) == (0, 0)


def test_a_member_who_bought_here_may_be_named_by_number(client, store, offer, other_store):
    regular = MemberFactory(home_store=other_store)
    order_for(store, member=regular)
    response = _join(client, offer, member_no=regular.member_no)
    assert response.status_code == 201, response.json()
    assert response.json()["member_no"] == regular.member_no
    assert GroupBuyJoin.objects.get().member == regular


def test_a_comment_by_another_stores_member_number_is_refused(client, offer, other_store):
    elsewhere = MemberFactory(home_store=other_store)
    response = client.post(
        f"/api/v1/broadcasts/{offer.broadcast_id}/comments",
        {"text": "好", "member_no": elsewhere.member_no},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (400, "unknown_member")
    assert BroadcastComment.objects.count() == 0


def test_a_phone_of_another_stores_member_joins_but_reveals_nothing(client, offer, other_store):
    elsewhere = MemberFactory(home_store=other_store, phone="+8613800138000", name="王芳")
    response = _join(client, offer, phone="138-0013-8000")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["member_no"] is None
    assert elsewhere.member_no not in response.content.decode()
    join = GroupBuyJoin.objects.get()
    # One member ID network-wide: the join is hers, her name is not this store's to show.
    assert (join.member, join.display_name) == (elsewhere, "")
    assert Member.objects.count() == 1
    # The retry answers the same, though she has now "bought" here through this join.
    again = _join(client, offer, phone="138-0013-8000")
    assert (again.status_code, again.json()["member_no"]) == (200, None)


def test_a_phone_of_this_stores_member_answers_the_number_and_name(client, store, offer):
    mine = MemberFactory(home_store=store, phone="+8613800138000", name="李阿姨")
    response = _join(client, offer, phone="138-0013-8000")
    assert response.status_code == 201, response.json()
    assert response.json()["member_no"] == mine.member_no
    assert GroupBuyJoin.objects.get().display_name == "李阿姨"
