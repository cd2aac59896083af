"""Factories for campaigns' tables (found by the admin smoke tests too)."""

from __future__ import annotations

import datetime as dt

import factory

from apps.campaigns.models import Promotion
from tests.factories import ProductFactory


class PromotionFactory(factory.django.DjangoModelFactory):
    """A network-wide price promotion of one product for a week (from 1 June 2026 unless
    `starts_on` is given)."""

    class Meta:
        model = Promotion

    name = factory.Sequence(lambda n: f"夏季水果季 {n}")
    kind = Promotion.Kind.PRICE
    product = factory.SubFactory(ProductFactory)
    category = None
    starts_on = dt.date(2026, 6, 1)
    ends_on = factory.LazyAttribute(lambda promotion: promotion.starts_on + dt.timedelta(days=6))
    discount_percent = 20
