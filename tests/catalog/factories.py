"""Factories for the decision engine's tables (found by the admin smoke tests too)."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from apps.catalog.models import (
    CoPurchaseRule,
    DailyListEntry,
    InsightCard,
    ListKind,
    ReasonKind,
    RuleRun,
    RuleScope,
)
from tests.factories import ProductFactory, StoreFactory


class RuleRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RuleRun

    scope = RuleScope.NETWORK
    window_start = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=90))
    window_end = factory.LazyFunction(timezone.now)
    min_support = 0.0
    min_confidence = 0.0
    min_pair_count = 1
    basket_count = 100
    rule_count = 1


class CoPurchaseRuleFactory(factory.django.DjangoModelFactory):
    """A network product → product rule: 10 of 100 baskets hold both, 20 hold A, 30 hold B."""

    class Meta:
        model = CoPurchaseRule

    run = factory.SubFactory(RuleRunFactory)
    scope = RuleScope.NETWORK
    antecedent = factory.SubFactory(ProductFactory)
    consequent = factory.SubFactory(ProductFactory)
    antecedent_item = factory.LazyAttribute(lambda rule: rule.antecedent.pk)
    consequent_item = factory.LazyAttribute(lambda rule: rule.consequent.pk)
    pair_count = 10
    antecedent_count = 20
    consequent_count = 30
    basket_count = 100
    support = 0.1
    confidence = 0.5
    lift = 0.5 / 0.3


class DailyListEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DailyListEntry

    store = factory.SubFactory(StoreFactory)
    day = factory.LazyFunction(timezone.localdate)
    list_kind = ListKind.HOT
    product = factory.SubFactory(ProductFactory)
    rank = 1
    score = 8.0
    velocity = 4.0
    trend = 1.0
    suggested_qty = 12
    reason_kind = ReasonKind.HOT_RISING
    reason_data = factory.LazyFunction(lambda: {"velocity": 4.0, "trend": 100})


class InsightCardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InsightCard

    store = factory.SubFactory(StoreFactory)
    day = factory.LazyFunction(timezone.localdate)
    product = factory.SubFactory(ProductFactory)
    rank = 1
    score = 3.0
    units_last_7d = 28
    units_prev_7d = 14
    broadcast_hour = 20
    broadcast_hour_source = "profiles"
    forecast_total = 12.0
    stock_qty = 15
    suggested_qty = 12
    reason_kind = ReasonKind.RISING_SALES
    reason_data = factory.LazyFunction(lambda: {"last7": 28, "prev7": 14})
