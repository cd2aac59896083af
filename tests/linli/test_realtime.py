"""linli.realtime: group names, payload serialisation at the caller, sending only on commit."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from linli.realtime import (
    broadcast,
    broadcast_in_languages,
    group_name,
    store_notifications_group,
)


def test_group_name_joins_parts_under_the_project_prefix():
    assert group_name("store", 7, "notifications") == "linli.store.7.notifications"
    assert store_notifications_group(42) == "linli.store.42.notifications"


@pytest.mark.parametrize("bad", ["a b", "x.y", "", "店", "a/b"])
def test_group_name_rejects_parts_the_channel_layer_would_refuse(bad):
    with pytest.raises(ValueError, match="invalid group name part"):
        group_name("store", bad)


@pytest.mark.django_db
def test_broadcast_of_unserialisable_payload_fails_at_the_caller_and_sends_nothing(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(TypeError):
        broadcast("linli.test", event="x", payload={"bad": object()})
    assert callbacks == []


@pytest.mark.django_db
def test_broadcast_requiring_an_unknown_store_action_fails_at_the_caller_and_sends_nothing(
    django_capture_on_commit_callbacks,
):
    """`requires` names a store action (apps.stores.access): a misspelt one ("view_device")
    would make the store socket drop the line for every reader, silently."""
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(ValueError, match="unknown store action: 'view_device'"):
            broadcast("linli.test", event="x", payload={}, requires="view_device")
        with pytest.raises(ValueError, match="unknown store action: 'devices'"):
            broadcast_in_languages("linli.test", event="x", payload=dict, requires="devices")
        broadcast("linli.test", event="x", payload={}, requires="view_devices")
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_broadcast_waits_for_commit_and_serialises_decimals_dates_and_chinese(
    django_capture_on_commit_callbacks,
):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("linli.test.realtime", channel)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        broadcast(
            "linli.test.realtime",
            event="order.created",
            payload={"total": Decimal("19.80"), "day": dt.date(2026, 7, 1), "text": "新订单"},
        )
    assert len(callbacks) == 1
    callbacks[0]()
    message = async_to_sync(layer.receive)(channel)
    assert message["type"] == "realtime.message"
    assert "新订单" in message["text"]
    assert json.loads(message["text"]) == {
        "event": "order.created",
        "payload": {"total": "19.80", "day": "2026-07-01", "text": "新订单"},
    }
    async_to_sync(layer.group_discard)("linli.test.realtime", channel)


@pytest.mark.django_db(transaction=True)
def test_broadcast_in_a_rolled_back_transaction_is_never_sent():
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("linli.test.rollback", channel)

    class Boom(Exception):
        pass

    def announce_then_fail() -> None:
        with transaction.atomic():
            broadcast("linli.test.rollback", event="lost", payload={})
            raise Boom

    with pytest.raises(Boom):
        announce_then_fail()
    with transaction.atomic():
        broadcast("linli.test.rollback", event="kept", payload={})
    # Messages arrive in order: if the rolled-back one had been sent it would come first.
    message = async_to_sync(layer.receive)(channel)
    assert json.loads(message["text"]) == {"event": "kept", "payload": {}}
    async_to_sync(layer.group_discard)("linli.test.rollback", channel)
