"""Factories for stores models the generic admin-smoke builder cannot satisfy."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory

from apps.stores.models import KpiSnapshot, OrderFulfilment
from tests.factories import StoreFactory
from tests.procurement.factories import OrderFactory


class OrderFulfilmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderFulfilment

    order = factory.SubFactory(OrderFactory)
    store = factory.SelfAttribute("order.store")
    pickup_code = factory.Sequence(lambda n: f"{n % 1_000_000:06d}")


class KpiSnapshotFactory(factory.django.DjangoModelFactory):
    """A store's GMV figure for one month (the admin smoke test's row)."""

    class Meta:
        model = KpiSnapshot

    scope = KpiSnapshot.Scope.STORE
    store = factory.SubFactory(StoreFactory)
    period = datetime.date(2026, 7, 1)
    code = "gmv"
    value = Decimal("100.0000")
    numerator = Decimal("100.0000")
    percentile = Decimal("50.0")
