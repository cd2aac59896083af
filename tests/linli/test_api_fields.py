"""Number inputs of the API read ASCII digits only: Python's int() and Decimal() read "١٢"
(Arabic-Indic) or "１２" (full-width) as 12, DRF's own fields pass strings to them, and the
API's fields (linli/api_fields.py) refuse them with the field's usual 400 `invalid`."""

from __future__ import annotations

import importlib
import pkgutil
from decimal import Decimal

import pytest
from django.utils import translation
from rest_framework import serializers
from rest_framework.test import APIClient

import apps
from apps.campaigns.models import GroupBuyJoin
from apps.stores.api.mini_program import (
    MiniProgramDeliverySerializer,
    MiniProgramOrderRequestSerializer,
)
from apps.stores.api.pos import PosMemberSerializer
from apps.stores.models import Order
from apps.stores.services.terminals import terminal_issue
from apps.stores.terminal_identity import MemberIdentitySerializer
from linli import api_fields
from tests.campaigns.factories import BroadcastFactory, GroupBuyOfferFactory
from tests.factories import ProductFactory, StockLevelFactory

NON_ASCII = ["١٢", "１２", "১২", "12١"]


@pytest.mark.parametrize("value", NON_ASCII)
def test_the_number_fields_refuse_digits_other_than_ascii(value):
    for field in (
        api_fields.IntegerField(),
        api_fields.DecimalField(max_digits=10, decimal_places=2),
        api_fields.FloatField(),
    ):
        with pytest.raises(serializers.ValidationError) as raised:
            field.run_validation(value)
        assert raised.value.get_codes() == ["invalid"]


def test_the_number_fields_still_read_ascii_strings_and_json_numbers():
    assert api_fields.IntegerField().run_validation(" 12 ") == 12
    assert api_fields.IntegerField().run_validation(12) == 12
    decimal = api_fields.DecimalField(max_digits=10, decimal_places=2)
    assert decimal.run_validation("12.50") == Decimal("12.50")
    assert api_fields.FloatField().run_validation("1e3") == 1000.0


def _terminal(store) -> APIClient:
    _terminal, token = terminal_issue(store=store, name="Till 1")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Terminal {token}")
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"quantity": "١٢", "unit_price": "12.80"}, "quantity"),
        ({"quantity": 1, "unit_price": "١٢.٨٠"}, "unit_price"),
        ({"quantity": 1, "unit_price": "12.80", "discount": "１"}, "discount"),
    ],
)
def test_a_pos_sale_with_non_ascii_digits_is_a_400_naming_the_line(store, line, field):
    StockLevelFactory(store=store, product=ProductFactory(sku="FRU-0001"), on_hand=100)
    response = _terminal(store).post(
        "/api/v1/pos/orders",
        {"idempotency_key": "k-1", "lines": [{"sku": "FRU-0001", **line}]},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert [(e["index"], e["field"], e["code"]) for e in body["errors"]] == [(0, field, "invalid")]
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_a_join_with_non_ascii_digits_is_a_400_on_quantity(store):
    product = ProductFactory()
    StockLevelFactory(store=store, product=product, on_hand=20)
    offer = GroupBuyOfferFactory(
        broadcast=BroadcastFactory(store_campaign__store=store), product=product, cap=20
    )
    response = _terminal(store).post(
        f"/api/v1/group-buys/offers/{offer.pk}/joins",
        {"quantity": "٢", "idempotency_key": "k-1", "display_name": "李"},
        format="json",
    )
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("quantity", "invalid")]
    assert GroupBuyJoin.objects.count() == 0


def _api_serializer_classes() -> list[type[serializers.Serializer]]:
    for module in pkgutil.walk_packages(apps.__path__, "apps."):
        if ".api" in module.name:
            importlib.import_module(module.name)
    found: list[type] = []
    pending = [serializers.BaseSerializer]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("apps.") and ".api" in cls.__module__:
            found.append(cls)
    return found


def _fields_of_kind(field: serializers.Field, path: str, kinds: tuple[type, ...]):
    if isinstance(field, serializers.ListSerializer):
        yield from _fields_of_kind(field.child, path, kinds)
    elif isinstance(field, serializers.Serializer):
        for name, inner in field.fields.items():
            yield from _fields_of_kind(inner, f"{path}.{name}", kinds)
    elif isinstance(field, serializers.ListField | serializers.DictField):
        yield from _fields_of_kind(field.child, path, kinds)
    elif isinstance(field, kinds):
        yield path, field


def _number_fields(field: serializers.Field, path: str):
    return _fields_of_kind(
        field,
        path,
        (serializers.IntegerField, serializers.DecimalField, serializers.FloatField),
    )


def test_every_api_serializer_takes_its_number_fields_from_linli_api_fields():
    classes = _api_serializer_classes()
    assert len(classes) > 10
    plain = [
        path
        for cls in classes
        for path, field in _number_fields(cls(), cls.__qualname__)
        if not isinstance(field, api_fields.ASCII_NUMBER_FIELDS)
    ]
    assert plain == [], "use linli.api_fields' IntegerField / DecimalField / FloatField"


def test_every_api_serializer_takes_its_date_fields_from_linli_api_fields():
    """As with numbers: DRF's own DateField / DateTimeField read "２０２６-１２-０１" as a date,
    so every date or date-time an API serializer declares or generates (a ModelSerializer's
    model date fields included) is linli.api_fields' ASCII-only one."""
    classes = _api_serializer_classes()
    plain = [
        path
        for cls in classes
        for path, field in _fields_of_kind(
            cls(), cls.__qualname__, (serializers.DateField, serializers.DateTimeField)
        )
        if not isinstance(field, api_fields.ASCII_MOMENT_FIELDS)
    ]
    assert plain == [], "use linli.api_fields' DateField / DateTimeField"


def test_the_phone_field_normalises_by_the_projects_one_check():
    field = api_fields.PhoneField()
    assert field.run_validation("+86 138-0013-8000") == "+8613800138000"
    assert field.run_validation("１３８００１３８０００") == "+8613800138000"
    with pytest.raises(serializers.ValidationError) as raised, translation.override("en"):
        field.run_validation("12345")
    assert raised.value.get_codes() == ["invalid"]
    with translation.override("en"):
        assert [str(message) for message in raised.value.detail] == [
            "“12345” is not a valid mainland China mobile number."
        ]


def test_the_phone_field_refuses_more_than_40_characters_as_sent():
    """The schema says `maxLength: 40`, but DRF ran the length check on the normalised number
    (14 characters): a number padded to 211 characters was read, and 200 digits came back
    whole in the `invalid` message."""
    field = api_fields.PhoneField()
    assert field.run_validation("138" + " " * 28 + "0013 8000") == "+8613800138000"  # 40
    padded = "138" + " " * 29 + "0013 8000"
    assert len(padded) == 41
    for text in (padded, "1" * 200):
        with pytest.raises(serializers.ValidationError) as raised, translation.override("en"):
            field.run_validation(text)
        assert raised.value.get_codes() == ["max_length"]
        assert [str(message) for message in raised.value.detail] == [
            "Ensure this field has no more than 40 characters."
        ]


def test_every_api_phone_input_is_the_shared_phone_field():
    """The POS member, the terminals' member identity (group buys, mini-program orders) and
    the mini-program's delivery contact each had their own copy of the phone check; one
    field now, so each reads a phone the same way."""
    inputs = {
        "PosMemberSerializer": PosMemberSerializer,
        "MemberIdentitySerializer": MemberIdentitySerializer,
        "MiniProgramOrderRequestSerializer": MiniProgramOrderRequestSerializer,
        "MiniProgramDeliverySerializer": MiniProgramDeliverySerializer,
    }
    assert {
        name: type(cls().fields["phone"]).__name__ for name, cls in inputs.items()
    } == dict.fromkeys(inputs, "PhoneField")


@pytest.mark.parametrize(
    "value", ["２０２６-１２-０１T10:00:00+08:00", "٢٠٢٦-١٢-٠١T10:00:00+08:00"]
)
def test_the_date_fields_refuse_digits_other_than_ascii(value):
    """DRF's own fields read "２０２６-１２-０１T10:00" as 2026-12-01 10:00 (`parse_datetime`)."""
    for field, text in (
        (api_fields.DateTimeField(), value),
        (api_fields.CheckedMomentField(), value),
        (api_fields.DateField(), value[:10]),
    ):
        with pytest.raises(serializers.ValidationError) as raised:
            field.run_validation(text)
        assert raised.value.get_codes() == ["invalid"]
    assert api_fields.DateField().run_validation("2026-12-01").isoformat() == "2026-12-01"
    moment = api_fields.DateTimeField().run_validation("2026-12-01T10:00:00+08:00")
    assert moment.isoformat() == "2026-12-01T10:00:00+08:00"


@pytest.mark.django_db
def test_a_pos_sale_placed_at_in_full_width_digits_is_a_400_on_placed_at(store):
    StockLevelFactory(store=store, product=ProductFactory(sku="FRU-0001"), on_hand=100)
    response = _terminal(store).post(
        "/api/v1/pos/orders",
        {
            "idempotency_key": "k-1",
            "placed_at": "２０２６-１２-０１T10:00:00+08:00",
            "lines": [{"sku": "FRU-0001", "quantity": 1, "unit_price": "12.80"}],
        },
        format="json",
    )
    assert response.status_code == 400
    errors = [(e["field"], e["code"]) for e in response.json()["errors"]]
    assert errors == [("placed_at", "invalid")]
    assert Order.objects.count() == 0
