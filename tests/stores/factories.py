"""Factories for stores models the generic admin-smoke builder cannot satisfy."""

from __future__ import annotations

import factory

from apps.stores.models import OrderFulfilment
from tests.procurement.factories import OrderFactory


class OrderFulfilmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderFulfilment

    order = factory.SubFactory(OrderFactory)
    store = factory.SelfAttribute("order.store")
    pickup_code = factory.Sequence(lambda n: f"{n % 1_000_000:06d}")
