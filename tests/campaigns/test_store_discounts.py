"""`store_discounts_on`: the per cent off a store's shelf price that planned promotions give
each product on one day (the mini-program order's prices, docs/pickup.md)."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.campaigns.models import Promotion
from apps.campaigns.selectors.promotions import store_discounts_on
from tests.campaigns.factories import PromotionFactory
from tests.factories import CategoryFactory, ProductFactory, RegionFactory, StoreFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 6, 3)


def test_the_deepest_price_or_broadcast_discount_covering_the_store_that_day():
    region = RegionFactory()
    store = StoreFactory(region=region)
    elsewhere = StoreFactory()
    fruit = CategoryFactory()
    berries = CategoryFactory(parent=fruit)
    blueberry = ProductFactory(category=berries)
    melon = ProductFactory(category=fruit)
    milk = ProductFactory()
    plain = ProductFactory()
    PromotionFactory(product=None, category=fruit, discount_percent=10)  # network, subcategories
    PromotionFactory(product=blueberry, region=region, discount_percent=25)
    PromotionFactory(product=blueberry, kind=Promotion.Kind.BROADCAST, discount_percent=15)
    # Not this store, not that day, cancelled, a group buy's price, a feature without a price.
    PromotionFactory(product=melon, discount_percent=60).stores.add(elsewhere)
    PromotionFactory(product=melon, discount_percent=60, starts_on=DAY + dt.timedelta(days=1))
    PromotionFactory(product=melon, discount_percent=60, status=Promotion.Status.CANCELLED)
    PromotionFactory(product=milk, kind=Promotion.Kind.GROUP_BUY, discount_percent=30)
    PromotionFactory(product=milk, kind=Promotion.Kind.FEATURE, discount_percent=None)

    discounts = store_discounts_on(
        store_id=store.pk, product_ids=[blueberry.pk, melon.pk, milk.pk, plain.pk], day=DAY
    )

    assert discounts == {blueberry.pk: 25, melon.pk: 10}


def test_no_products_or_no_promotion_is_no_discount():
    store = StoreFactory()
    assert store_discounts_on(store_id=store.pk, product_ids=[], day=DAY) == {}
    assert store_discounts_on(store_id=store.pk, product_ids=[ProductFactory().pk], day=DAY) == {}
