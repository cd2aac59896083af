"""Pickup codes: six digits, unique among a store's open fulfilments, opened for paid member
orders (order creation, group-buy settlement), retried on a collision."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.campaigns.services.group_buys import group_buy_join, group_buy_offers_settle
from apps.campaigns.sources import settle_sources
from apps.stores.models import Order, OrderFulfilment
from apps.stores.services import fulfilment as fulfilment_services
from apps.stores.services.fulfilment import PickupCodesExhausted, fulfilments_open
from apps.stores.services.orders import LineInput, order_create
from tests.campaigns.factories import BroadcastFactory, GroupBuyOfferFactory
from tests.factories import MemberFactory, ProductFactory, StockLevelFactory, StoreFactory
from tests.procurement.factories import supply_order

pytestmark = pytest.mark.django_db


def _codes(values: list[str]):
    """A stand-in generator handing out `values` in turn (to force collisions)."""
    iterator = iter(values)
    return lambda: next(iterator)


def _order(store, **kwargs) -> Order:
    return supply_order(store=store, lines=[(ProductFactory(), 1)], **kwargs)


def test_a_paid_pickup_order_created_gets_a_six_digit_code_waiting():
    level = StockLevelFactory(on_hand=5)
    order, created = order_create(
        store=level.store,
        channel=Order.Channel.MINI_PROGRAM,
        idempotency_key="mp-1",
        lines=[LineInput(product=level.product, quantity=2, unit_price=Decimal("3.00"))],
        fulfilment=Order.Fulfilment.PICKUP,
    )
    assert created
    fulfilment = OrderFulfilment.objects.get()
    assert fulfilment.order_id == order.pk
    assert fulfilment.store_id == level.store_id
    assert re.fullmatch(r"[0-9]{6}", fulfilment.pickup_code)
    assert fulfilment.status == OrderFulfilment.Status.WAITING
    # The same key again returns the order and opens nothing new.
    again, created_again = order_create(
        store=level.store,
        channel=Order.Channel.MINI_PROGRAM,
        idempotency_key="mp-1",
        lines=[LineInput(product=level.product, quantity=2, unit_price=Decimal("3.00"))],
        fulfilment=Order.Fulfilment.PICKUP,
    )
    assert (again.pk, created_again) == (order.pk, False)
    assert OrderFulfilment.objects.count() == 1


def test_in_store_and_pending_orders_get_no_code():
    level = StockLevelFactory(on_hand=5)
    order_create(
        store=level.store,
        channel=Order.Channel.POS,
        idempotency_key="pos-1",
        lines=[LineInput(product=level.product, quantity=1, unit_price=Decimal("3.00"))],
    )
    order_create(
        store=level.store,
        channel=Order.Channel.GROUP_BUY,
        idempotency_key="gb-1",
        lines=[LineInput(product=level.product, quantity=1, unit_price=Decimal("3.00"))],
        fulfilment=Order.Fulfilment.PICKUP,
        status=Order.Status.PENDING,
    )
    assert OrderFulfilment.objects.count() == 0


def test_opening_is_idempotent_and_ignores_ineligible_orders():
    store = StoreFactory()
    paid = _order(store)
    delivery = _order(store, channel=Order.Channel.MINI_PROGRAM, fulfilment="delivery")
    cancelled = _order(store, status=Order.Status.CANCELLED)
    pos = _order(store, channel=Order.Channel.POS, fulfilment=Order.Fulfilment.IN_STORE)
    ids = [paid.pk, delivery.pk, cancelled.pk, pos.pk]
    assert fulfilments_open(order_ids=ids) == 2
    codes = dict(OrderFulfilment.objects.values_list("order_id", "pickup_code"))
    assert set(codes) == {paid.pk, delivery.pk}
    assert fulfilments_open(order_ids=ids) == 0
    assert dict(OrderFulfilment.objects.values_list("order_id", "pickup_code")) == codes
    assert fulfilments_open(order_ids=[]) == 0


def test_a_code_collision_at_the_same_store_is_retried_with_a_new_code(monkeypatch):
    store = StoreFactory()
    first, second = _order(store), _order(store)
    monkeypatch.setattr(
        fulfilment_services, "pickup_code_new", _codes(["123456", "123456", "000042"])
    )
    assert fulfilments_open(order_ids=[first.pk]) == 1
    assert fulfilments_open(order_ids=[second.pk]) == 1
    assert dict(OrderFulfilment.objects.values_list("order_id", "pickup_code")) == {
        first.pk: "123456",
        second.pk: "000042",
    }


def test_two_orders_in_one_call_drawing_the_same_code_both_get_one(monkeypatch):
    store = StoreFactory()
    first, second = _order(store), _order(store)
    monkeypatch.setattr(
        fulfilment_services, "pickup_code_new", _codes(["555555", "555555", "777777"])
    )
    assert fulfilments_open(order_ids=[first.pk, second.pk]) == 2
    assert sorted(OrderFulfilment.objects.values_list("pickup_code", flat=True)) == [
        "555555",
        "777777",
    ]


def test_the_same_code_is_fine_at_another_store_and_after_the_order_is_closed(monkeypatch):
    store, other = StoreFactory(), StoreFactory()
    here, there, later = _order(store), _order(other), _order(store)
    monkeypatch.setattr(fulfilment_services, "pickup_code_new", lambda: "246810")
    assert fulfilments_open(order_ids=[here.pk, there.pk]) == 2
    OrderFulfilment.objects.filter(pk=here.pk).update(
        status=OrderFulfilment.Status.COLLECTED, completed_at=timezone.now()
    )
    assert fulfilments_open(order_ids=[later.pk]) == 1
    assert OrderFulfilment.objects.filter(pickup_code="246810").count() == 3


def test_the_database_refuses_a_second_open_row_with_the_same_code():
    store = StoreFactory()
    first, second = _order(store), _order(store)
    OrderFulfilment.objects.create(order=first, store=store, pickup_code="111111")
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderFulfilment.objects.create(order=second, store=store, pickup_code="111111")
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderFulfilment.objects.create(order=second, store=store, pickup_code="12345")


def test_no_free_code_after_every_round_raises(monkeypatch):
    store = StoreFactory()
    first, second = _order(store), _order(store)
    monkeypatch.setattr(fulfilment_services, "pickup_code_new", lambda: "999999")
    assert fulfilments_open(order_ids=[first.pk]) == 1
    with pytest.raises(PickupCodesExhausted):
        fulfilments_open(order_ids=[second.pk])
    assert not OrderFulfilment.objects.filter(pk=second.pk).exists()


def test_pickup_code_new_is_six_digits():
    codes = {fulfilment_services.pickup_code_new() for _ in range(200)}
    assert all(re.fullmatch(r"[0-9]{6}", code) for code in codes)
    assert len(codes) > 150


def _offer_with_joins(*, quantities: list[int], threshold: int):
    store = StoreFactory()
    product = ProductFactory()
    StockLevelFactory(store=store, product=product, on_hand=50)
    broadcast = BroadcastFactory(store_campaign__store=store)
    offer = GroupBuyOfferFactory(broadcast=broadcast, product=product, threshold=threshold, cap=40)
    for index, quantity in enumerate(quantities):
        group_buy_join(
            offer=offer,
            quantity=quantity,
            idempotency_key=f"k-{offer.pk}-{index}",
            member=MemberFactory(),
        )
    return offer


def test_group_buy_settlement_gives_the_formed_orders_codes_and_the_failed_ones_none():
    formed = _offer_with_joins(quantities=[4, 6], threshold=10)
    failed = _offer_with_joins(quantities=[1], threshold=10)
    assert OrderFulfilment.objects.count() == 0  # joined (pending) orders have no code yet
    now = max(formed.deadline, failed.deadline) + dt.timedelta(seconds=1)
    group_buy_offers_settle(sources=settle_sources(), now=now)
    formed_orders = set(
        Order.objects.filter(group_buy_join__offer=formed).values_list("pk", flat=True)
    )
    assert len(formed_orders) == 2
    rows = OrderFulfilment.objects.order_by("pk")
    assert {row.order_id for row in rows} == formed_orders
    assert {row.store_id for row in rows} == {formed.broadcast.store_id}
    # Sold from stock: the goods are on the shelf, so the codes are ready at once.
    assert {row.status for row in rows} == {"ready"}
    assert len({row.pickup_code for row in rows}) == 2
