"""The group-buy API (mini-program / chat bot, store terminal token): join, offer state,
comment, viewers report; another store's terminal refused; bad input answered 4xx in the one
error shape."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django.utils.translation import override
from rest_framework.test import APIClient

from apps.campaigns.models import Broadcast, BroadcastComment, GroupBuyJoin
from apps.customers.models import Member, MemberIdentity
from apps.stores.models import Order
from apps.stores.services.terminals import terminal_issue
from tests.campaigns.factories import BroadcastFactory, GroupBuyOfferFactory
from tests.factories import MemberFactory, ProductFactory, StockLevelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def offer(store):
    product = ProductFactory(name="云南蓝莓")
    StockLevelFactory(store=store, product=product, on_hand=20)
    broadcast = BroadcastFactory(store_campaign__store=store)
    return GroupBuyOfferFactory(broadcast=broadcast, product=product, threshold=5, cap=10)


def _client(store) -> APIClient:
    _terminal, token = terminal_issue(store=store, name="Bot")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Terminal {token}")
    return client


def _join_url(offer) -> str:
    return f"/api/v1/group-buys/offers/{offer.pk}/joins"


def test_a_join_by_phone_makes_the_member_and_the_order(store, offer):
    response = _client(store).post(
        _join_url(offer),
        {
            "quantity": 2,
            "idempotency_key": "bot-1",
            "phone": "138-0013-8000",
            "display_name": "李阿姨",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    member = Member.objects.get(phone="+8613800138000")
    join = GroupBuyJoin.objects.get()
    assert body["join_id"] == join.pk
    assert body["member_no"] == member.member_no
    assert body["order_id"] == Order.objects.get(channel="group_buy").pk
    assert (body["offer"]["units_joined"], body["offer"]["remaining"]) == (2, 8)
    assert (join.member, join.display_name, join.source) == (member, "李阿姨", "api")


def test_a_join_retried_with_the_same_key_answers_200_with_the_first_join(store, offer):
    client = _client(store)
    payload = {"quantity": 2, "idempotency_key": "bot-1", "display_name": "王姐"}
    first = client.post(_join_url(offer), payload, format="json")
    again = client.post(_join_url(offer), payload, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["join_id"] == again.json()["join_id"]
    assert (GroupBuyJoin.objects.count(), Order.objects.count()) == (1, 1)


def test_a_join_by_member_number_and_by_openid(store, offer):
    member = MemberFactory(home_store=store)
    wechat = MemberFactory()
    MemberIdentity.objects.create(member=wechat, kind=MemberIdentity.Kind.WECHAT, value="oWx-1")
    client = _client(store)
    by_number = client.post(
        _join_url(offer),
        {"quantity": 1, "idempotency_key": "a", "member_no": member.member_no},
        format="json",
    )
    by_openid = client.post(
        _join_url(offer),
        {"quantity": 1, "idempotency_key": "b", "wechat_openid": "oWx-1"},
        format="json",
    )
    assert (by_number.json()["member_no"], by_openid.json()["member_no"]) == (
        member.member_no,
        wechat.member_no,
    )


def test_another_stores_terminal_gets_404_and_nothing_is_written(other_store, offer):
    client = _client(other_store)
    join = client.post(
        _join_url(offer),
        {"quantity": 1, "idempotency_key": "x", "display_name": "李"},
        format="json",
    )
    state = client.get(f"/api/v1/group-buys/offers/{offer.pk}")
    comment = client.post(
        f"/api/v1/broadcasts/{offer.broadcast_id}/comments", {"text": "好"}, format="json"
    )
    assert (join.status_code, state.status_code, comment.status_code) == (404, 404, 404)
    assert join.json()["code"] == "not_found"
    assert (GroupBuyJoin.objects.count(), BroadcastComment.objects.count()) == (0, 0)


def test_no_token_is_401(offer):
    response = APIClient().post(_join_url(offer), {"quantity": 1}, format="json")
    assert response.status_code == 401
    assert GroupBuyJoin.objects.count() == 0


def test_a_user_session_is_not_a_terminal(client, owner, offer):
    client.force_login(owner)
    response = client.get(f"/api/v1/group-buys/offers/{offer.pk}")
    assert response.status_code in (401, 403)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"quantity": 0, "idempotency_key": "k", "display_name": "李"}, "quantity"),
        ({"quantity": "two", "idempotency_key": "k", "display_name": "李"}, "quantity"),
        ({"quantity": 1, "display_name": "李"}, "idempotency_key"),
        ({"quantity": 1, "idempotency_key": "k" * 65, "display_name": "李"}, "idempotency_key"),
        ({"quantity": 1, "idempotency_key": "k"}, "display_name"),
        ({"quantity": 1, "idempotency_key": "k", "phone": "12"}, "phone"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(store, offer, payload, field):
    with override("en"):
        response = _client(store).post(_join_url(offer), payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert [error["field"] for error in body["errors"]] == [field]
    assert GroupBuyJoin.objects.count() == 0


def test_an_unknown_member_number_is_a_400(store, offer):
    response = _client(store).post(
        _join_url(offer), {"quantity": 1, "idempotency_key": "k", "member_no": "M0"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "unknown_member")
    assert GroupBuyJoin.objects.count() == 0


def test_a_join_past_the_cap_is_a_409_sold_out(store, offer):
    client = _client(store)
    client.post(
        _join_url(offer),
        {"quantity": 9, "idempotency_key": "a", "display_name": "李"},
        format="json",
    )
    with override("en"):
        response = client.post(
            _join_url(offer),
            {"quantity": 2, "idempotency_key": "b", "display_name": "王"},
            format="json",
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 409
    assert response.json()["code"] == "sold_out"
    assert response.json()["detail"] == "Only 1 left of this group buy; 2 asked."
    assert GroupBuyJoin.objects.count() == 1


def test_a_join_after_the_deadline_is_a_409_closed(store, offer):
    offer.deadline = timezone.now() - dt.timedelta(minutes=1)
    offer.save()
    response = _client(store).post(
        _join_url(offer),
        {"quantity": 1, "idempotency_key": "a", "display_name": "李"},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (409, "closed")


def test_the_offer_state_shows_counters_and_threshold(store, offer):
    client = _client(store)
    client.post(
        _join_url(offer),
        {"quantity": 5, "idempotency_key": "a", "display_name": "李"},
        format="json",
    )
    body = client.get(f"/api/v1/group-buys/offers/{offer.pk}").json()
    assert {key: body[key] for key in ("units_joined", "participants", "remaining", "reached")} == {
        "units_joined": 5,
        "participants": 1,
        "remaining": 5,
        "reached": True,
    }
    assert (body["sku"], body["product"], body["status"]) == (offer.product.sku, "云南蓝莓", "open")


def test_a_comment_is_stored_and_an_empty_one_refused(store, offer):
    client = _client(store)
    url = f"/api/v1/broadcasts/{offer.broadcast_id}/comments"
    made = client.post(url, {"text": "蓝莓甜吗？", "author": "王先生"}, format="json")
    empty = client.post(url, {"text": "  "}, format="json")
    assert (made.status_code, empty.status_code) == (201, 400)
    assert list(BroadcastComment.objects.values_list("author", "text")) == [
        ("王先生", "蓝莓甜吗？")
    ]


def test_a_comment_on_an_ended_broadcast_is_a_409(store, offer):
    Broadcast.objects.filter(pk=offer.broadcast_id).update(
        status=Broadcast.Status.ENDED, started_at=timezone.now(), ended_at=timezone.now()
    )
    response = _client(store).post(
        f"/api/v1/broadcasts/{offer.broadcast_id}/comments", {"text": "还有吗"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "ended")
    assert BroadcastComment.objects.count() == 0


def test_the_schema_documents_the_group_buy_operations(owner):
    api = APIClient()
    api.force_authenticate(owner)
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operations = {
        path: sorted(method for method in methods if method != "parameters")
        for path, methods in schema["paths"].items()
        if "group-buys" in path or "comments" in path or "viewers" in path
    }
    assert operations == {
        "/api/v1/group-buys/offers/{offer_id}": ["get"],
        "/api/v1/group-buys/offers/{offer_id}/joins": ["post"],
        "/api/v1/broadcasts/{broadcast_id}/comments": ["post"],
        "/api/v1/broadcasts/{broadcast_id}/viewers": ["post"],
    }


def test_a_refused_join_by_a_new_phone_leaves_no_member(store, offer):
    offer.cap = 1
    offer.threshold = 1
    offer.save()
    response = _client(store).post(
        _join_url(offer),
        {"quantity": 2, "idempotency_key": "k", "phone": "139-0000-0001"},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (409, "sold_out")
    assert Member.objects.filter(phone="+8613900000001").count() == 0
    assert (GroupBuyJoin.objects.count(), Order.objects.count()) == (0, 0)


def _stock_on_hand(offer) -> int:
    return offer.product.stock_levels.get(store=offer.broadcast.store).on_hand


@pytest.mark.parametrize(
    "retry",
    [
        {"quantity": 2, "phone": "138-0013-8000"},  # another quantity
        {"quantity": 1, "phone": "139-0000-0001"},  # another member (a new phone)
        {"quantity": 1, "display_name": "王姐"},  # no member at all
    ],
)
def test_a_key_reused_for_another_join_is_a_409_and_changes_nothing(store, offer, retry):
    client = _client(store)
    first = client.post(
        _join_url(offer),
        {"quantity": 1, "idempotency_key": "walk-1", "phone": "138-0013-8000"},
        format="json",
    )
    assert first.status_code == 201, first.json()
    with override("en"):
        again = client.post(
            _join_url(offer),
            {"idempotency_key": "walk-1", **retry},
            format="json",
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert again.status_code == 409, again.json()
    body = again.json()
    assert body["code"] == "idempotency_key_reused"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [
        ("idempotency_key", "idempotency_key_reused")
    ]
    assert "already used on this offer for a different join" in body["detail"]
    join = GroupBuyJoin.objects.get()
    assert (join.quantity, join.member.phone) == (1, "+8613800138000")
    assert (Order.objects.count(), Member.objects.count()) == (1, 1)
    offer.refresh_from_db()
    assert offer.units_joined == 1
    assert _stock_on_hand(offer) == 19


def test_an_identical_retry_by_the_same_member_answers_200_with_the_first_join(store, offer):
    client = _client(store)
    payload = {"quantity": 1, "idempotency_key": "walk-1", "phone": "138-0013-8000"}
    first = client.post(_join_url(offer), payload, format="json")
    # The same person named another way (member number instead of phone) is the same join.
    member_no = first.json()["member_no"]
    again = client.post(
        _join_url(offer),
        {"quantity": 1, "idempotency_key": "walk-1", "member_no": member_no},
        format="json",
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["join_id"] == first.json()["join_id"]
    assert again.json()["quantity"] == 1
    assert (GroupBuyJoin.objects.count(), Order.objects.count()) == (1, 1)


def _viewers_url(broadcast) -> str:
    return f"/api/v1/broadcasts/{broadcast.pk}/viewers"


@pytest.fixture
def live_broadcast(store):
    return BroadcastFactory(
        store_campaign__store=store,
        status=Broadcast.Status.LIVE,
        started_at=timezone.now() - dt.timedelta(minutes=5),
    )


def test_a_viewers_report_stores_the_count_and_raises_the_peak(store, live_broadcast):
    client = _client(store)
    first = client.post(_viewers_url(live_broadcast), {"count": 120}, format="json")
    lower = client.post(_viewers_url(live_broadcast), {"count": 80}, format="json")

    assert (first.status_code, lower.status_code) == (200, 200)
    assert (first.json()["viewers"], first.json()["peak_viewers"]) == (120, 120)
    body = lower.json()
    assert (body["broadcast_id"], body["viewers"], body["peak_viewers"]) == (
        live_broadcast.pk,
        80,
        120,
    )
    live_broadcast.refresh_from_db()
    assert (live_broadcast.viewers, live_broadcast.peak_viewers) == (80, 120)
    assert live_broadcast.viewers_reported_at is not None
    assert body["reported_at"] is not None


def test_a_viewers_report_for_another_stores_broadcast_is_a_404(other_store, live_broadcast):
    response = _client(other_store).post(_viewers_url(live_broadcast), {"count": 5}, format="json")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    live_broadcast.refresh_from_db()
    assert (live_broadcast.viewers, live_broadcast.viewers_reported_at) == (0, None)


def test_a_viewers_report_without_a_token_is_401(live_broadcast):
    response = APIClient().post(_viewers_url(live_broadcast), {"count": 5}, format="json")
    assert response.status_code == 401
    live_broadcast.refresh_from_db()
    assert live_broadcast.viewers_reported_at is None


def test_a_user_session_cannot_report_viewers(client, owner, live_broadcast):
    client.force_login(owner)
    response = client.post(
        _viewers_url(live_broadcast), {"count": 5}, content_type="application/json"
    )
    assert response.status_code in (401, 403)
    live_broadcast.refresh_from_db()
    assert live_broadcast.viewers_reported_at is None


@pytest.mark.parametrize("status", [Broadcast.Status.SCHEDULED, Broadcast.Status.ENDED])
def test_a_viewers_report_for_a_broadcast_not_live_is_a_409(store, status):
    now = timezone.now()
    broadcast = BroadcastFactory(
        store_campaign__store=store,
        status=status,
        started_at=now if status == Broadcast.Status.ENDED else None,
        ended_at=now if status == Broadcast.Status.ENDED else None,
        peak_viewers=30,
    )
    response = _client(store).post(_viewers_url(broadcast), {"count": 50}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "not_live")
    broadcast.refresh_from_db()
    assert (broadcast.viewers, broadcast.peak_viewers, broadcast.viewers_reported_at) == (
        0,
        30,
        None,
    )


@pytest.mark.parametrize("count", [-1, 1_000_001, "many", None])
def test_a_viewers_report_out_of_bounds_is_a_400_naming_count(store, live_broadcast, count):
    payload = {} if count is None else {"count": count}
    response = _client(store).post(_viewers_url(live_broadcast), payload, format="json")
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["count"]
    live_broadcast.refresh_from_db()
    assert (live_broadcast.viewers, live_broadcast.viewers_reported_at) == (0, None)


@pytest.mark.parametrize("count", [0, 1_000_000])
def test_a_viewers_report_at_the_bounds_is_stored(store, live_broadcast, count):
    response = _client(store).post(_viewers_url(live_broadcast), {"count": count}, format="json")
    assert response.status_code == 200
    live_broadcast.refresh_from_db()
    assert (live_broadcast.viewers, live_broadcast.peak_viewers) == (count, count)
