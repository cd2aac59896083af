"""Every API write refuses a body key it does not know, at every nesting level: a 400 `invalid`
whose errors name each unknown key (`index` in the request's list of items, `field` its path)
with the code `unknown_field`, and nothing is written (linli.api_fields.RequestSerializer,
docs/access.md). DRF alone drops such a key: a till's misspelled `discont` was a 201 with the
discount lost.

The write operations are found by walking the URL resolver (every `/api/` view with a `post`,
`put` or `patch`), so a new write endpoint without a case here fails
`test_every_api_write_has_its_unknown_field_case`; its case then shows whether it refuses. The
schema says the same: every object of every request body is `additionalProperties: false`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from django.http import QueryDict
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone, translation
from rest_framework import serializers
from rest_framework.test import APIClient

from apps.campaigns.models import (
    Broadcast,
    BroadcastComment,
    Campaign,
    GroupBuyJoin,
    StoreCampaign,
    TrackingEvent,
)
from apps.catalog.models import InsightCard
from apps.customers.models import Member
from apps.devices.models import DeviceReading
from apps.devices.services import device_token_issue
from apps.stores.models import Order, OrderFulfilment, StockMovement
from apps.stores.services.terminals import terminal_issue
from linli.api_fields import RequestSerializer
from tests.campaigns.factories import BroadcastFactory, GroupBuyOfferFactory, StoreCampaignFactory
from tests.catalog.factories import InsightCardFactory
from tests.devices.factories import DeviceFactory
from tests.factories import ProductFactory, StockLevelFactory, SupplierProductFactory

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch")


def _api_writes(patterns: list | None = None, prefix: str = "/") -> set[str]:
    """The names of the `/api/` routes whose view takes a body (POST, PUT or PATCH)."""
    names: set[str] = set()
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            names |= _api_writes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and route.startswith("/api/"):
            view = getattr(entry.callback, "cls", None)
            if any(hasattr(view, method) for method in WRITE_METHODS):
                names.add(entry.name)
    return names


@dataclass
class World:
    terminal: APIClient
    device: APIClient
    person: APIClient
    store: Any
    offer: Any
    broadcast: Any
    store_campaign: Any
    reference: str
    card: Any


def _terminal(store: Any) -> APIClient:
    _row, token = terminal_issue(store=store, name="Till")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Terminal {token}")
    return client


@pytest.fixture
def world(store: Any, owner: Any) -> World:
    product = ProductFactory(sku="FRU-0001", price=Decimal("12.80"))
    SupplierProductFactory(product=product, pack_size=1, min_order_qty=1)
    StockLevelFactory(store=store, product=product, on_hand=20)
    broadcast = BroadcastFactory(
        store_campaign__store=store,
        status=Broadcast.Status.LIVE,
        started_at=timezone.now() - dt.timedelta(minutes=5),
    )
    offer = GroupBuyOfferFactory(broadcast=broadcast, product=product, threshold=2, cap=10)
    terminal = _terminal(store)
    placed = terminal.post(
        "/api/v1/mini-program/orders",
        {
            "idempotency_key": "wxpay-1",
            "mini_program_openid": "openid-1",
            "lines": [{"sku": "FRU-0001", "quantity": 1}],
            "fulfilment": "pickup",
            "expected_total": "12.80",
        },
        format="json",
    )
    assert placed.status_code == 201, placed.json()
    device = APIClient()
    device.credentials(
        HTTP_AUTHORIZATION=f"Device {device_token_issue(device=DeviceFactory(store=store))}"
    )
    person = APIClient()
    person.force_authenticate(owner)
    return World(
        terminal=terminal,
        device=device,
        person=person,
        store=store,
        offer=offer,
        broadcast=broadcast,
        store_campaign=StoreCampaignFactory(store=store),
        reference=placed.json()["reference"],
        card=InsightCardFactory(store=store),
    )


def _now() -> str:
    return timezone.now().isoformat()


# Route name → (a request whose body is valid but for unknown keys, the (index, field) of each
# unknown key the answer must name, in order). `w` is the World.
Case = tuple[Callable[[World], Any], list[tuple[int | None, str]]]

CASES: dict[str, Case] = {
    "api-pos-orders": (
        lambda w: w.terminal.post(
            "/api/v1/pos/orders",
            {
                "idempotency_key": "till-1",
                "member": {"phone": "13800138000", "nickname": "王"},
                "lines": [{"sku": "FRU-0001", "quantity": 1, "unit_price": "12.80", "discont": 1}],
                "till": "T-7",
            },
            format="json",
        ),
        [(None, "member.nickname"), (0, "discont"), (None, "till")],
    ),
    "api-mini-program-orders": (
        lambda w: w.terminal.post(
            "/api/v1/mini-program/orders",
            {
                "idempotency_key": "wxpay-2",
                "mini_program_openid": "openid-2",
                "lines": [{"sku": "FRU-0001", "quantity": 1, "price": "12.80"}],
                "fulfilment": "delivery",
                "delivery": {
                    "address": "幸福路 1 号",
                    "contact_name": "王",
                    "phone": "13800138000",
                    "floor": 3,
                },
                "expected_total": "12.80",
                "coupon": "X",
            },
            format="json",
        ),
        [(0, "price"), (None, "delivery.floor"), (None, "coupon")],
    ),
    "api-mini-program-order-cancel": (
        lambda w: w.terminal.post(
            f"/api/v1/mini-program/orders/{w.reference}/cancel",
            {"reason": "买错了", "refund": True},
            format="json",
        ),
        [(None, "refund")],
    ),
    "api-group-buy-join": (
        lambda w: w.terminal.post(
            f"/api/v1/group-buys/offers/{w.offer.pk}/joins",
            {"quantity": 1, "idempotency_key": "join-1", "display_name": "李", "qty": 2},
            format="json",
        ),
        [(None, "qty")],
    ),
    "api-broadcast-comments": (
        lambda w: w.terminal.post(
            f"/api/v1/broadcasts/{w.broadcast.pk}/comments",
            {"text": "甜吗", "pinned": True},
            format="json",
        ),
        [(None, "pinned")],
    ),
    "api-broadcast-viewers": (
        lambda w: w.terminal.post(
            f"/api/v1/broadcasts/{w.broadcast.pk}/viewers",
            {"count": 12, "peak": 30},
            format="json",
        ),
        [(None, "peak")],
    ),
    "api-campaign-events": (
        lambda w: w.terminal.post(
            "/api/v1/campaigns/events",
            {
                "events": [
                    {
                        "event_id": "e-1",
                        "kind": "click",
                        "store_campaign": w.store_campaign.pk,
                        "occurred_at": _now(),
                        "member": {"mini_program": "openid-1", "nickname": "王"},
                        "channel": "wechat",
                    }
                ],
                "batch": 1,
            },
            format="json",
        ),
        [(0, "member.nickname"), (0, "channel"), (None, "batch")],
    ),
    "api-device-readings": (
        lambda w: w.device.post(
            "/api/v1/devices/readings",
            {"readings": [{"recorded_at": _now(), "temperature_c": 4.0}], "firmware": "1.2"},
            format="json",
        ),
        [(None, "firmware")],
    ),
    "api-decisions-insight-accept": (
        lambda w: w.person.post(
            f"/api/v1/stores/{w.store.pk}/decisions/insights/{w.card.pk}/accept/",
            {"broadcast_hour": 19},
            format="json",
        ),
        [(None, "broadcast_hour")],
    ),
}


def _footprint() -> dict[str, object]:
    """Everything an API write could change."""
    return {
        "orders": list(Order.objects.values_list("pk", "status")),
        "fulfilments": list(OrderFulfilment.objects.values_list("pk", "status")),
        "stock": StockMovement.objects.count(),
        "members": Member.objects.count(),
        "joins": GroupBuyJoin.objects.count(),
        "comments": BroadcastComment.objects.count(),
        "viewers": list(Broadcast.objects.values_list("pk", "viewers", "peak_viewers")),
        "events": TrackingEvent.objects.count(),
        "readings": DeviceReading.objects.count(),
        "cards": list(InsightCard.objects.values_list("pk", "accepted_by")),
        "campaigns": (Campaign.objects.count(), StoreCampaign.objects.count()),
    }


def test_every_api_write_has_its_unknown_field_case():
    assert _api_writes() == set(CASES)


@pytest.mark.parametrize("route", sorted(CASES))
def test_an_unknown_key_is_refused_naming_its_path_and_nothing_is_written(world, route):
    request, unknown = CASES[route]
    before = _footprint()
    response = request(world)
    body = response.json()
    assert response.status_code == 400, body
    assert body["code"] == "invalid"
    assert [(error["index"], error["field"], error["code"]) for error in body["errors"]] == [
        (index, field, "unknown_field") for index, field in unknown
    ]
    assert _footprint() == before


def test_the_same_request_without_the_unknown_keys_is_accepted(world):
    """The cases' bodies are valid but for their unknown keys: the POS one, cleaned, is a 201."""
    response = world.terminal.post(
        "/api/v1/pos/orders",
        {
            "idempotency_key": "till-1",
            "member": {"phone": "13800138000"},
            "lines": [{"sku": "FRU-0001", "quantity": 1, "unit_price": "12.80", "discount": 1}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert Order.objects.get(pk=response.json()["order_id"]).discount_total == Decimal("1.00")


def _form_post(client: APIClient, path: str, data: dict[str, str], encoding: str) -> Any:
    if encoding == "urlencoded":
        return client.post(path, urlencode(data), content_type="application/x-www-form-urlencoded")
    return client.post(path, data, format="multipart")


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_a_form_encoded_sale_with_nested_lines_and_member_is_accepted(world, encoding):
    """DRF's form syntax names a nested field's keys under it (`lines[0]sku`, `member.phone`):
    such a key names a known field, not an unknown one."""
    response = _form_post(
        world.terminal,
        "/api/v1/pos/orders",
        {
            "idempotency_key": "till-form-1",
            "member.phone": "13800138000",
            "lines[0]sku": "FRU-0001",
            "lines[0]quantity": "2",
            "lines[0]unit_price": "12.80",
            "lines[0]discount": "1",
        },
        encoding,
    )
    assert response.status_code == 201, response.json()
    order = Order.objects.get(pk=response.json()["order_id"])
    assert (order.discount_total, order.member.phone) == (Decimal("1.00"), "+8613800138000")
    assert list(order.lines.values_list("product__sku", "quantity")) == [("FRU-0001", 2)]


@pytest.mark.parametrize(
    ("extra", "unknown"),
    [
        ({"till": "T-7"}, [(None, "till")]),
        ({"till[0]name": "T-7"}, [(None, "till")]),
        ({"till.name": "T-7"}, [(None, "till")]),
        ({"lines[0]discont": "1"}, [(0, "discont")]),
        ({"member.nickname": "王"}, [(None, "member.nickname")]),
        # DRF's form syntax names a nested field's keys only under a nested field: under any
        # other, DRF dropped the key and the sale was a 201.
        ({"idempotency_key.x": "1"}, [(None, "idempotency_key.x")]),
        ({"idempotency_key[0]": "1"}, [(None, "idempotency_key[0]")]),
        ({"lines[0]sku.x": "1"}, [(0, "sku.x")]),
        ({"member[0]phone": "13800138000"}, [(None, "member[0]phone")]),
        ({"lines.sku": "FRU-0001"}, [(None, "lines.sku")]),
        ({"member": "13800138000"}, [(None, "member")]),
        # A key with no name before its `.` or `[` was dropped too: the discount was lost.
        ({"lines[0].discount": "1"}, [(0, ".discount")]),
        ({"[0]till": "T-7"}, [(None, "[0]till")]),
        ({".till": "T-7"}, [(None, ".till")]),
    ],
)
def test_a_form_key_with_an_unknown_field_name_is_refused(world, extra, unknown):
    before = _footprint()
    response = _form_post(
        world.terminal,
        "/api/v1/pos/orders",
        {
            "idempotency_key": "till-form-2",
            "lines[0]sku": "FRU-0001",
            "lines[0]quantity": "1",
            "lines[0]unit_price": "12.80",
            **extra,
        },
        "urlencoded",
    )
    body = response.json()
    assert response.status_code == 400, body
    assert [(error["index"], error["field"], error["code"]) for error in body["errors"]] == [
        (index, field, "unknown_field") for index, field in unknown
    ]
    assert _footprint() == before


@pytest.mark.parametrize(
    ("extra", "error", "english", "chinese"),
    [
        (
            {"member": "13800138000"},
            "member",
            "“member” is an object: send each of its keys as “member.<key>”.",
            "“member” 是一个对象：请把它的每个键写成 “member.<键>” 发送。",
        ),
        (
            {"member[0]phone": "13800138000"},
            "member[0]phone",
            "“member” is an object: send each of its keys as “member.<key>”.",
            "“member” 是一个对象：请把它的每个键写成 “member.<键>” 发送。",
        ),
        (
            {"lines.sku": "FRU-0001"},
            "lines.sku",
            "“lines” is a list of objects: send each item's keys as “lines[0]<key>”, "
            "“lines[1]<key>” and so on.",
            "“lines” 是一个对象列表：请把每一项的键写成 “lines[0]<键>”、“lines[1]<键>” 等发送。",
        ),
        ({"till": "T-7"}, "till", "Unknown field.", "未知字段。"),
        ({"idempotency_key.x": "1"}, "idempotency_key.x", "Unknown field.", "未知字段。"),
    ],
)
def test_a_known_nested_field_in_the_wrong_form_syntax_says_how_to_send_it(
    world, extra, error, english, chinese
):
    """`member=…` named a known field, yet the answer said "Unknown field.": a nested field
    sent alone (or in a list's syntax, or a list in an object's) is still `unknown_field`,
    its message saying how DRF's form syntax reads it; an unknown name keeps "Unknown field."."""
    body = {
        "idempotency_key": "till-form-3",
        "lines[0]sku": "FRU-0001",
        "lines[0]quantity": "1",
        "lines[0]unit_price": "12.80",
        **extra,
    }
    for language, message in (("en", english), ("zh-hans", chinese)):
        response = world.terminal.post(
            "/api/v1/pos/orders",
            urlencode(body),
            content_type="application/x-www-form-urlencoded",
            HTTP_ACCEPT_LANGUAGE=language,
        )
        assert response.status_code == 400, response.json()
        assert [
            (item["index"], item["field"], item["code"], item["message"])
            for item in response.json()["errors"]
        ] == [(None, error, "unknown_field", message)]


def test_a_list_of_values_in_an_objects_form_syntax_says_how_to_send_it():
    class Tagged(RequestSerializer):
        tags = serializers.ListField(child=serializers.CharField(), required=False)

    with translation.override("en"):
        for data, valid in (("tags=a&tags=b", True), ("tags[0]=a", True), ("tags.x=a", False)):
            reader = Tagged(data=QueryDict(data))
            assert reader.is_valid() is valid
            if not valid:
                assert reader.errors == {
                    "tags.x": [
                        "“tags” is a list: send it as “tags”, or as “tags[0]”, “tags[1]” and so on."
                    ]
                }
                assert reader.errors["tags.x"][0].code == "unknown_field"


def _objects(schema: Any, components: dict[str, Any], seen: set[str]) -> list[tuple[str, Any]]:
    """Every object schema with named properties inside `schema`, following `$ref`s."""
    if isinstance(schema, list):
        return [found for inner in schema for found in _objects(inner, components, seen)]
    if not isinstance(schema, dict):
        return []
    found: list[tuple[str, Any]] = []
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            seen.add(name)
            found.append((name, components[name]))
            found += _objects(components[name], components, seen)
        return found
    for key, inner in schema.items():
        if key != "additionalProperties" or isinstance(inner, dict):
            found += _objects(inner, components, seen)
    return found


def test_the_schema_says_every_request_body_object_takes_no_other_keys(owner):
    client = APIClient()
    client.force_authenticate(owner)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    bodies = [
        operation["requestBody"]
        for path in schema["paths"].values()
        for method, operation in path.items()
        if method in WRITE_METHODS and "requestBody" in operation
    ]
    assert len(bodies) == len(CASES)
    objects = dict(_objects(bodies, components, set()))
    assert {"PosOrder", "PosLine", "PosMember", "MiniProgramDelivery"} <= set(objects)
    open_objects = [
        name
        for name, component in objects.items()
        if component.get("properties") and component.get("additionalProperties") is not False
    ]
    assert open_objects == []
