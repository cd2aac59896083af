"""The nightly run reads order times whatever their precision: a history imported at whole
seconds followed by orders placed through the API (microseconds) used to stop it with a
pandas ValueError ("time data … doesn't match format"), in the lists' first-sale times and in
the suggestions' order times."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.catalog.models import DecisionRun, InsightCard
from apps.catalog.services.nightly import decisions_run
from apps.stores.models import Order
from tests.catalog.decision_fixtures import local_datetime, orders_bulk_create
from tests.factories import MemberFactory, ProductFactory, StoreFactory

pytestmark = pytest.mark.django_db


def test_a_history_at_whole_seconds_and_an_order_with_microseconds_run_through() -> None:
    today = timezone.localdate()
    store = StoreFactory()
    blueberry = ProductFactory(name="云南蓝莓", price=Decimal("29.90"))
    yogurt = ProductFactory(name="酸奶")
    members = [MemberFactory(home_store=store) for _ in range(6)]
    baskets, times, buyers = [], [], []
    for back in range(28, 1, -1):
        for number in range(8 if back <= 7 else 2):
            baskets.append([blueberry, yogurt] if number % 2 else [blueberry])
            times.append(local_datetime(today - dt.timedelta(days=back), 10 + number))
            buyers.append(members[number % 6])
    orders_bulk_create(store=store, baskets=baskets, placed_at=times, members=buyers)
    # Yesterday's order, placed through the API: its time carries microseconds.
    placed = local_datetime(today - dt.timedelta(days=1), 20) + dt.timedelta(microseconds=544165)
    orders_bulk_create(store=store, baskets=[[blueberry]], placed_at=placed, members=[members[0]])
    assert Order.objects.filter(placed_at=placed).count() == 1

    run = decisions_run(day=today, store_ids=[store.pk])

    assert run.status == DecisionRun.Status.DONE
    cards = InsightCard.objects.filter(store=store, day=today).order_by("rank")
    assert cards.first().product == blueberry
