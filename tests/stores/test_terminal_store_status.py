"""A store that is not open for trade (preparing, suspended, closed): its terminals may read but
not write (409 `store_closed`, in `IsStoreTerminal`), except a retry of what they recorded while
it was open; its devices still post readings (docs/devices.md)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django.utils.translation import override
from rest_framework.test import APIClient

from apps.campaigns.models import Broadcast, BroadcastComment, GroupBuyJoin, TrackingEvent
from apps.devices.models import DeviceReading
from apps.devices.services import device_token_issue
from apps.stores.models import Order, StockMovement, Store
from apps.stores.services.terminals import terminal_issue
from tests.campaigns.factories import BroadcastFactory, GroupBuyOfferFactory, StoreCampaignFactory
from tests.devices.factories import DeviceFactory
from tests.factories import ProductFactory, StockLevelFactory

pytestmark = pytest.mark.django_db

POS = "/api/v1/pos/orders"
NOT_TRADING = [Store.Status.PREPARING, Store.Status.SUSPENDED, Store.Status.CLOSED]


@pytest.fixture
def client(store) -> APIClient:
    _terminal, token = terminal_issue(store=store, name="Till 1")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Terminal {token}")
    return api


@pytest.fixture
def stock(store):
    return StockLevelFactory(store=store, product=ProductFactory(sku="FRU-0001"), on_hand=10)


@pytest.fixture
def offer(store, stock):
    broadcast = BroadcastFactory(
        store_campaign__store=store,
        status=Broadcast.Status.LIVE,
        started_at=timezone.now() - dt.timedelta(minutes=5),
    )
    return GroupBuyOfferFactory(broadcast=broadcast, product=stock.product, threshold=5, cap=10)


def _status(store, value: str) -> None:
    Store.objects.filter(pk=store.pk).update(status=value)


def sale(key: str = "till-1-0001", quantity: int = 2) -> dict:
    return {
        "idempotency_key": key,
        "lines": [{"sku": "FRU-0001", "quantity": quantity, "unit_price": "12.80"}],
    }


def _join(offer, key: str = "bot-1", quantity: int = 1) -> tuple[str, dict]:
    return (
        f"/api/v1/group-buys/offers/{offer.pk}/joins",
        {"quantity": quantity, "idempotency_key": key, "display_name": "李阿姨"},
    )


def _assert_store_closed(response, store_status: str) -> None:
    assert response.status_code == 409, response.json()
    body = response.json()
    assert body["code"] == "store_closed"
    assert [(e["field"], e["code"], e["store_status"]) for e in body["errors"]] == [
        ("", "store_closed", store_status)
    ]


@pytest.mark.parametrize("store_status", NOT_TRADING)
def test_a_store_not_open_refuses_a_new_sale_and_writes_nothing(client, store, stock, store_status):
    _status(store, store_status)
    with override("en"):
        response = client.post(POS, sale(), format="json", HTTP_ACCEPT_LANGUAGE="en")
    _assert_store_closed(response, store_status)
    assert response.json()["detail"].startswith(f"Store {store.code} is not open for trade")
    assert (Order.objects.count(), StockMovement.objects.count()) == (0, 0)
    stock.refresh_from_db()
    assert stock.on_hand == 10


def test_the_refusal_is_in_chinese_by_default(client, store, stock):
    _status(store, Store.Status.CLOSED)
    response = client.post(POS, sale(), format="json")
    assert "不在营业" in response.json()["detail"]


def test_a_retry_of_a_sale_recorded_before_closing_returns_its_first_result(client, store, stock):
    first = client.post(POS, sale(), format="json")
    assert first.status_code == 201, first.json()
    _status(store, Store.Status.CLOSED)
    retry = client.post(POS, sale(), format="json")
    assert retry.status_code == 200, retry.json()
    assert retry.json()["order_id"] == first.json()["order_id"]
    # The key with another sale is still the key's conflict, not a way to sell.
    other = client.post(POS, sale(quantity=3), format="json")
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")
    # A new key is a new sale: refused.
    _assert_store_closed(client.post(POS, sale(key="till-1-0002"), format="json"), "closed")
    assert Order.objects.count() == 1
    stock.refresh_from_db()
    assert stock.on_hand == 8


def test_a_store_open_again_sells_again(client, store, stock):
    _status(store, Store.Status.SUSPENDED)
    assert client.post(POS, sale(), format="json").status_code == 409
    _status(store, Store.Status.OPEN)
    assert client.post(POS, sale(), format="json").status_code == 201


@pytest.mark.parametrize("store_status", NOT_TRADING)
def test_a_store_not_open_refuses_joins_comments_and_viewer_reports(
    client, store, offer, store_status
):
    _status(store, store_status)
    url, body = _join(offer)
    _assert_store_closed(client.post(url, body, format="json"), store_status)
    comment = client.post(
        f"/api/v1/broadcasts/{offer.broadcast_id}/comments", {"text": "好"}, format="json"
    )
    _assert_store_closed(comment, store_status)
    viewers = client.post(
        f"/api/v1/broadcasts/{offer.broadcast_id}/viewers", {"count": 10}, format="json"
    )
    _assert_store_closed(viewers, store_status)
    assert (GroupBuyJoin.objects.count(), Order.objects.count()) == (0, 0)
    assert BroadcastComment.objects.count() == 0
    assert Broadcast.objects.get(pk=offer.broadcast_id).viewers_reported_at is None


def test_a_closed_store_still_answers_a_retried_join_and_reads(client, store, offer):
    url, body = _join(offer)
    first = client.post(url, body, format="json")
    assert first.status_code == 201, first.json()
    _status(store, Store.Status.CLOSED)
    retry = client.post(url, body, format="json")
    assert (retry.status_code, retry.json()["join_id"]) == (200, first.json()["join_id"])
    _assert_store_closed(client.post(url, _join(offer, key="bot-2")[1], format="json"), "closed")
    state = client.get(f"/api/v1/group-buys/offers/{offer.pk}")
    assert (state.status_code, state.json()["units_joined"]) == (200, 1)
    assert GroupBuyJoin.objects.count() == 1


def test_a_closed_store_refuses_tracking_events(client, store):
    store_campaign = StoreCampaignFactory(store=store)
    _status(store, Store.Status.CLOSED)
    response = client.post(
        "/api/v1/campaigns/events",
        {
            "events": [
                {
                    "event_id": "mp-0001",
                    "kind": "exposure",
                    "store_campaign": store_campaign.pk,
                    "occurred_at": "2026-07-01T20:01:00+08:00",
                }
            ]
        },
        format="json",
    )
    _assert_store_closed(response, "closed")
    assert TrackingEvent.objects.count() == 0


def test_a_closed_stores_fridge_still_posts_its_readings(store):
    """Goods may still sit in a closed store's fridge: its temperature still matters."""
    device = DeviceFactory(store=store)
    token = device_token_issue(device=device)
    _status(store, Store.Status.CLOSED)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    recorded_at = (timezone.now() - dt.timedelta(minutes=1)).isoformat()
    response = api.post(
        "/api/v1/devices/readings",
        {"readings": [{"recorded_at": recorded_at, "temperature_c": 9.5}]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert DeviceReading.objects.filter(device=device).count() == 1


NUL_KEY = "till-1\x00-0001"


def test_a_key_with_a_nul_character_is_a_400_naming_the_key_whatever_the_stores_status(
    client, store, offer
):
    """A closed store's view looked the key up to tell a retry (`terminal_replay`) before any
    check: PostgreSQL text cannot hold a NUL, so the query failed (a 500); then such a key was
    no retry, a 409 `store_closed`. It is a malformed request: the key's own check answers
    it, the same 400 naming the key at an open store and at a closed one."""
    url, join = _join(offer, key=NUL_KEY)
    mini_program = {
        "idempotency_key": NUL_KEY,
        "mini_program_openid": "openid-1",
        "lines": [{"sku": "FRU-0001", "quantity": 1}],
        "fulfilment": "pickup",
        "expected_total": "12.80",
    }
    writes = [(POS, sale(key=NUL_KEY)), (url, join), ("/api/v1/mini-program/orders", mini_program)]
    for status in (Store.Status.CLOSED, Store.Status.OPEN):
        _status(store, status)
        for path, body in writes:
            response = client.post(path, body, format="json")
            assert response.status_code == 400, (status, response.json())
            assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
                ("idempotency_key", "null_characters_not_allowed")
            ]
    assert (Order.objects.count(), GroupBuyJoin.objects.count()) == (0, 0)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"lines": []}, "required"),
        ({"idempotency_key": ""}, "blank"),
        ({"idempotency_key": "k" * 65}, "max_length"),
        ({"idempotency_key": ["till-1"]}, "invalid"),
    ],
)
def test_a_closed_stores_till_is_told_of_a_malformed_key_before_the_stores_status(
    client, store, body, code
):
    _status(store, Store.Status.CLOSED)
    response = client.post(POS, body, format="json")
    assert response.status_code == 400, response.json()
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("idempotency_key", code)
    ]
    assert (Order.objects.count(), GroupBuyJoin.objects.count()) == (0, 0)
