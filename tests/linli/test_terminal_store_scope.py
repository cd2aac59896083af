"""A machine token of store B never reads or writes store A's data, on every API operation a
terminal or device token reaches.

The routes are found by walking the URL resolver (every `/api/v1/` view authenticated by a
`HashedTokenAuthentication`), so a new machine endpoint without a case here fails
`test_every_machine_route_has_its_cross_store_cases`. Each case is store B's token naming
store A's objects (an offer, a broadcast, a mini-program order's reference, a store
campaign, an order, a member number, the store's code, a device's serial): each is refused
(400, 403 or 404 in the one error shape), names nothing of store A, and writes nothing
anywhere (docs/access.md, README "who sees what").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from apps.campaigns.models import Broadcast, BroadcastComment, GroupBuyJoin, TrackingEvent
from apps.customers.models import Member
from apps.devices.models import DeviceReading
from apps.devices.services import device_token_issue
from apps.stores.models import Order, OrderFulfilment, StockMovement
from apps.stores.services.terminals import terminal_issue
from linli.api_auth import HashedTokenAuthentication
from tests.campaigns.factories import BroadcastFactory, GroupBuyOfferFactory, StoreCampaignFactory
from tests.devices.factories import DeviceFactory
from tests.factories import (
    MemberFactory,
    ProductFactory,
    StockLevelFactory,
    SupplierProductFactory,
)

pytestmark = pytest.mark.django_db


def _machine_routes(patterns: list | None = None, prefix: str = "/") -> set[str]:
    """The names of the `/api/v1/` routes whose view a machine token authenticates."""
    names: set[str] = set()
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            names |= _machine_routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and route.startswith("/api/v1/"):
            view = getattr(entry.callback, "cls", None)
            authenticators = getattr(view, "authentication_classes", ())
            if any(issubclass(auth, HashedTokenAuthentication) for auth in authenticators):
                names.add(entry.name)
    return names


@dataclass
class World:
    """Store A's rows, and store B's terminal and device clients."""

    store_a: Any
    offer_a: Any
    broadcast_a: Any
    store_campaign_a: Any
    store_campaign_b: Any
    offer_b: Any
    broadcast_b: Any
    order_a: Any
    member_a: Any
    reference_a: str
    device_a: Any
    terminal_b: APIClient
    device_b: APIClient


def _terminal(store: Any) -> APIClient:
    _terminal_row, token = terminal_issue(store=store, name="Till")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Terminal {token}")
    return client


def _live_offer(store: Any, product: Any) -> Any:
    broadcast = BroadcastFactory(
        store_campaign__store=store,
        status=Broadcast.Status.LIVE,
        started_at=timezone.now() - dt.timedelta(minutes=5),
    )
    return GroupBuyOfferFactory(broadcast=broadcast, product=product, threshold=2, cap=10)


@pytest.fixture
def world(store: Any, other_store: Any) -> World:
    store_a, store_b = store, other_store
    product = ProductFactory(sku="FRU-0001", price=Decimal("12.80"))
    SupplierProductFactory(product=product, pack_size=1, min_order_qty=1)
    for each in (store_a, store_b):
        StockLevelFactory(store=each, product=product, on_hand=20)
    offer_a = _live_offer(store_a, product)
    offer_b = _live_offer(store_b, product)
    terminal_a = _terminal(store_a)
    placed = terminal_a.post(
        "/api/v1/mini-program/orders",
        {
            "idempotency_key": "wxpay-a-1",
            "mini_program_openid": "openid-a",
            "lines": [{"sku": "FRU-0001", "quantity": 1}],
            "fulfilment": "pickup",
            "expected_total": "12.80",
        },
        format="json",
    )
    assert placed.status_code == 201, placed.json()
    device_b = APIClient()
    device_b.credentials(
        HTTP_AUTHORIZATION=f"Device {device_token_issue(device=DeviceFactory(store=store_b))}"
    )
    return World(
        store_a=store_a,
        offer_a=offer_a,
        broadcast_a=offer_a.broadcast,
        store_campaign_a=offer_a.broadcast.store_campaign,
        store_campaign_b=StoreCampaignFactory(store=store_b),
        offer_b=offer_b,
        broadcast_b=offer_b.broadcast,
        order_a=Order.objects.get(reference=placed.json()["reference"]),
        member_a=MemberFactory(home_store=store_a, name="王阿姨"),
        reference_a=placed.json()["reference"],
        device_a=DeviceFactory(store=store_a),
        terminal_b=_terminal(store_b),
        device_b=device_b,
    )


def _now() -> str:
    return timezone.now().isoformat()


# Route name → the requests of store B's token that name store A's data, each with the status
# it must get. `w` is the World.
Case = tuple[str, Callable[[World], Any], int]

CASES: dict[str, list[Case]] = {
    "api-pos-orders": [
        (
            "a sale for store A's code",
            lambda w: w.terminal_b.post(
                "/api/v1/pos/orders",
                {
                    "idempotency_key": "b-1",
                    "store_code": w.store_a.code,
                    "lines": [{"sku": "FRU-0001", "quantity": 1, "unit_price": "12.80"}],
                },
                format="json",
            ),
            403,
        ),
    ],
    "api-mini-program-orders": [
        (
            "an order in the name of store A's member number",
            lambda w: w.terminal_b.post(
                "/api/v1/mini-program/orders",
                {
                    "idempotency_key": "wxpay-b-1",
                    "member_no": w.member_a.member_no,
                    "lines": [{"sku": "FRU-0001", "quantity": 1}],
                    "fulfilment": "pickup",
                    "expected_total": "12.80",
                },
                format="json",
            ),
            400,
        ),
    ],
    "api-mini-program-order": [
        (
            "reading store A's order",
            lambda w: w.terminal_b.get(f"/api/v1/mini-program/orders/{w.reference_a}"),
            404,
        ),
    ],
    "api-mini-program-order-cancel": [
        (
            "cancelling store A's order",
            lambda w: w.terminal_b.post(
                f"/api/v1/mini-program/orders/{w.reference_a}/cancel", {}, format="json"
            ),
            404,
        ),
    ],
    "api-group-buy-offer": [
        (
            "reading store A's offer",
            lambda w: w.terminal_b.get(f"/api/v1/group-buys/offers/{w.offer_a.pk}"),
            404,
        ),
    ],
    "api-group-buy-join": [
        (
            "joining store A's offer",
            lambda w: w.terminal_b.post(
                f"/api/v1/group-buys/offers/{w.offer_a.pk}/joins",
                {"quantity": 1, "idempotency_key": "b-join-1", "display_name": "李"},
                format="json",
            ),
            404,
        ),
        (
            "joining its own offer in the name of store A's member number",
            lambda w: w.terminal_b.post(
                f"/api/v1/group-buys/offers/{w.offer_b.pk}/joins",
                {"quantity": 1, "idempotency_key": "b-join-2", "member_no": w.member_a.member_no},
                format="json",
            ),
            400,
        ),
    ],
    "api-broadcast-comments": [
        (
            "commenting on store A's broadcast",
            lambda w: w.terminal_b.post(
                f"/api/v1/broadcasts/{w.broadcast_a.pk}/comments", {"text": "甜吗"}, format="json"
            ),
            404,
        ),
        (
            "commenting on its own broadcast as store A's member number",
            lambda w: w.terminal_b.post(
                f"/api/v1/broadcasts/{w.broadcast_b.pk}/comments",
                {"text": "甜吗", "member_no": w.member_a.member_no},
                format="json",
            ),
            400,
        ),
    ],
    "api-broadcast-viewers": [
        (
            "reporting store A's viewers",
            lambda w: w.terminal_b.post(
                f"/api/v1/broadcasts/{w.broadcast_a.pk}/viewers", {"count": 99}, format="json"
            ),
            404,
        ),
    ],
    "api-campaign-events": [
        (
            "an event of store A's store campaign",
            lambda w: w.terminal_b.post(
                "/api/v1/campaigns/events",
                {
                    "events": [
                        {
                            "event_id": "b-1",
                            "kind": "click",
                            "store_campaign": w.store_campaign_a.pk,
                            "occurred_at": _now(),
                        }
                    ]
                },
                format="json",
            ),
            403,
        ),
        (
            "an event of its own campaign naming store A's order and member number",
            lambda w: w.terminal_b.post(
                "/api/v1/campaigns/events",
                {
                    "events": [
                        {
                            "event_id": "b-2",
                            "kind": "order",
                            "store_campaign": w.store_campaign_b.pk,
                            "occurred_at": _now(),
                            "order_id": w.order_a.pk,
                            "member": {"member_no": w.member_a.member_no},
                        }
                    ]
                },
                format="json",
            ),
            400,
        ),
    ],
    "api-device-readings": [
        (
            "readings for store A's device",
            lambda w: w.device_b.post(
                "/api/v1/devices/readings",
                {
                    "serial": w.device_a.serial,
                    "readings": [{"recorded_at": _now(), "temperature_c": 4.0}],
                },
                format="json",
            ),
            403,
        ),
    ],
    "api-device-me": [
        # No id to name: the answer is the token's own device, never store A's.
        ("who am I", lambda w: w.device_b.get("/api/v1/devices/me"), 200),
    ],
}


def _footprint(world: World) -> dict[str, object]:
    """Everything a machine request could write, anywhere, and store A's rows' state."""
    broadcast_a = Broadcast.objects.get(pk=world.broadcast_a.pk)
    return {
        "orders": Order.objects.count(),
        "fulfilments": list(OrderFulfilment.objects.values_list("pk", "status")),
        "order_a": Order.objects.values_list("status").get(pk=world.order_a.pk),
        "stock": StockMovement.objects.count(),
        "members": Member.objects.count(),
        "joins": GroupBuyJoin.objects.count(),
        "comments": BroadcastComment.objects.count(),
        "events": TrackingEvent.objects.count(),
        "readings": DeviceReading.objects.count(),
        "viewers_a": (broadcast_a.viewers, broadcast_a.peak_viewers),
    }


def test_every_machine_route_has_its_cross_store_cases():
    assert _machine_routes() == set(CASES)


@pytest.mark.parametrize(
    ("route", "index"),
    [(route, index) for route, cases in CASES.items() for index in range(len(cases))],
)
def test_store_bs_token_is_refused_store_as_data_and_writes_nothing(world, route, index):
    _label, request, status = CASES[route][index]
    before = _footprint(world)
    response = request(world)
    body = response.json()
    assert response.status_code == status, body
    assert _footprint(world) == before
    text = response.content.decode()
    for secret in (world.store_a.code, world.store_a.name, world.member_a.name):
        if status == 403 and route == "api-pos-orders":
            continue  # the till sent store A's code itself; the answer adds nothing
        assert secret not in text
    if status == 200:
        assert body["store"] != world.store_a.code
    else:
        assert set(body) == {"detail", "code", "errors"}
