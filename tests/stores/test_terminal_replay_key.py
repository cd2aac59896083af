"""`replay_key` (apps.stores.terminal_auth) reads a write's idempotency key before the view
runs, at a store that is not open: it must read it exactly as the view's serializer does (DRF's
`Serializer.to_internal_value`: the field's `run_validation`, then `validate_<field>`), else a
closed store's till would be told another thing than an open store's. This holds the two equal
for every serializer it is given, on keys each step refuses or changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from apps.campaigns.api.broadcasts import JoinRequestSerializer
from apps.stores.api.mini_program import MiniProgramOrderRequestSerializer
from apps.stores.api.pos import PosOrderSerializer
from apps.stores.models import IMPORTED_ORDER_KEY_PREFIX
from apps.stores.terminal_auth import replay_key


class _Missing:
    """No key in the body (a class with a fixed repr: pytest-xdist's workers must name the
    test the same, and an object()'s repr is its address)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()
KEYS = [
    "till-1",
    "  till-1  ",  # the field trims it
    "",
    "   ",
    "k" * 64,
    "k" * 65,
    "till-1\x00-0001",
    12,
    None,
    ["till-1"],
    {"key": "till-1"},
    f"{IMPORTED_ORDER_KEY_PREFIX}1",  # the POS's validate_idempotency_key refuses it
    MISSING,
]


def _request(body: dict[str, Any]) -> Request:
    return Request(
        APIRequestFactory().post("/api/v1/pos/orders", body, format="json"),
        parsers=[JSONParser()],
    )


def _drf_reads(serializer: type[serializers.Serializer], body: dict[str, Any]) -> Any:
    """What the serializer itself makes of the key: its errors, or the value it validates
    (read with the other fields left out, `partial`, as they are not the key's concern)."""
    whole = serializer(data=body)
    whole.is_valid()
    if "idempotency_key" in whole.errors:
        return ("refused", whole.errors["idempotency_key"])
    return ("read", serializer(partial=True).to_internal_value(body)["idempotency_key"])


@pytest.mark.parametrize(
    "serializer",
    [PosOrderSerializer, MiniProgramOrderRequestSerializer, JoinRequestSerializer],
)
@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_replay_key_reads_the_key_as_the_views_serializer_does(serializer, key):
    body = {} if key is MISSING else {"idempotency_key": key}
    with translation.override("en"):
        expected = _drf_reads(serializer, body)
        try:
            found = ("read", replay_key(_request(body), serializer=serializer))
        except serializers.ValidationError as refused:
            found = ("refused", refused.detail)
    if found[0] == "refused":
        assert set(found[1]) == {"idempotency_key"}
        found = ("refused", found[1]["idempotency_key"])
    assert found == expected
    if found[0] == "refused":
        assert [error.code for error in found[1]] == [error.code for error in expected[1]]
