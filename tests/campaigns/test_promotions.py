"""Planned promotions: the model's constraints, the promotion grid the forecast reads (which
store × product × day a planned promotion covers), its flat query count, and the forecast model
learning a planted promotion lift."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.campaigns.models import Promotion
from apps.campaigns.selectors.promotions import promotion_grid
from apps.campaigns.services.promotions import promotions_cancel
from apps.catalog.analytics import forecast as fc
from apps.catalog.analytics.synthetic import synthetic_demand
from apps.catalog.services.forecasts import CategoryCodes, sales_panel_load
from apps.catalog.sources import planning_sources
from tests.campaigns.factories import PromotionFactory
from tests.catalog.decision_fixtures import local_datetime, orders_bulk_create
from tests.factories import CategoryFactory, ProductFactory, RegionFactory, StoreFactory

FIRST_DAY = dt.date(2026, 6, 1)
DAYS = 10


@pytest.fixture(autouse=True)
def _english(settings):
    """The assertions read the English source messages (zh-hans is the default)."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def network(db: None) -> dict:
    """Two regions (stores a, b in east; c in west), fruit → berries and dairy categories,
    with an apple (fruit), a strawberry (berries) and milk (dairy)."""
    east, west = RegionFactory(name="东区"), RegionFactory(name="西区")
    fruit = CategoryFactory(name="水果")
    berries = CategoryFactory(name="浆果", parent=fruit)
    dairy = CategoryFactory(name="乳品")
    return {
        "east": east,
        "west": west,
        "a": StoreFactory(region=east),
        "b": StoreFactory(region=east),
        "c": StoreFactory(region=west),
        "fruit": fruit,
        "berries": berries,
        "apple": ProductFactory(category=fruit),
        "strawberry": ProductFactory(category=berries),
        "milk": ProductFactory(category=dairy),
    }


def grid(net: dict, series: list[tuple[str, str]], **window: object) -> np.ndarray | None:
    return promotion_grid(
        store_ids=np.array([net[store].pk for store, _product in series]),
        product_ids=np.array([net[product].pk for _store, product in series]),
        first_day=window.get("first_day", FIRST_DAY),
        days=window.get("days", DAYS),
    )


def days_on(values: np.ndarray) -> list[int]:
    return np.flatnonzero(values).tolist()


# --- the model ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "dates", "discount"),
    [
        ("product and category", (dt.date(2026, 6, 1), dt.date(2026, 6, 3)), 10),
        ("neither", (dt.date(2026, 6, 1), dt.date(2026, 6, 3)), 10),
        ("product", (dt.date(2026, 6, 3), dt.date(2026, 6, 2)), 10),
        ("product", (dt.date(2026, 6, 1), dt.date(2026, 6, 3)), 95),
        ("product", (dt.date(2026, 6, 1), dt.date(2026, 6, 3)), None),
    ],
    ids=["both-targets", "no-target", "ends-before-start", "discount-over-90", "price-no-discount"],
)
def test_database_refuses_an_invalid_promotion(network, target, dates, discount):
    targets = {
        "product and category": {"product": network["apple"], "category": network["fruit"]},
        "neither": {},
        "product": {"product": network["apple"]},
    }[target]
    with pytest.raises(IntegrityError), transaction.atomic():
        Promotion.objects.create(
            name="夏季水果季",
            kind=Promotion.Kind.PRICE,
            starts_on=dates[0],
            ends_on=dates[1],
            discount_percent=discount,
            **targets,
        )
    assert Promotion.objects.count() == 0


def test_a_one_day_broadcast_without_discount_is_valid(network):
    promotion = Promotion(
        name="草莓直播",
        kind=Promotion.Kind.BROADCAST,
        category=network["berries"],
        starts_on=FIRST_DAY,
        ends_on=FIRST_DAY,
    )
    promotion.full_clean()
    promotion.save()
    assert Promotion.objects.get().status == Promotion.Status.PLANNED


def test_form_validation_explains_the_target_rule(network):
    promotion = Promotion(
        name="x",
        kind=Promotion.Kind.PRICE,
        product=network["apple"],
        category=network["fruit"],
        starts_on=FIRST_DAY,
        ends_on=FIRST_DAY,
        discount_percent=10,
    )
    with pytest.raises(ValidationError) as error:
        promotion.full_clean()
    assert error.value.messages == ["Choose either a product or a category, not both."]


def test_cancel_is_idempotent_and_counts_changed_rows(network):
    first = PromotionFactory(product=network["apple"])
    second = PromotionFactory(product=network["milk"], status=Promotion.Status.CANCELLED)
    assert promotions_cancel(promotion_ids=[first.pk, second.pk]) == 1
    assert promotions_cancel(promotion_ids=[first.pk, second.pk]) == 0
    assert set(Promotion.objects.values_list("status", flat=True)) == {"cancelled"}


# --- the grid ----------------------------------------------------------------------------------


def test_product_promotion_limited_to_a_region(network):
    PromotionFactory(
        product=network["apple"],
        region=network["east"],
        starts_on=dt.date(2026, 6, 3),
        ends_on=dt.date(2026, 6, 5),
    )
    result = grid(network, [("a", "apple"), ("b", "apple"), ("c", "apple"), ("a", "milk")])
    assert result.shape == (4, DAYS)
    assert result.dtype == np.float64
    assert days_on(result[0]) == [2, 3, 4]
    assert days_on(result[1]) == [2, 3, 4]
    assert days_on(result[2]) == []  # west region
    assert days_on(result[3]) == []  # another product
    assert set(np.unique(result).tolist()) == {0.0, 1.0}


def test_category_promotion_covers_the_products_of_its_subcategories(network):
    PromotionFactory(
        product=None,
        category=network["fruit"],
        kind=Promotion.Kind.BROADCAST,
        discount_percent=None,
        starts_on=dt.date(2026, 6, 6),
        ends_on=dt.date(2026, 6, 6),
    )
    result = grid(network, [("a", "strawberry"), ("c", "apple"), ("b", "milk")])
    assert days_on(result[0]) == [5]
    assert days_on(result[1]) == [5]  # no stores, no region: the whole network
    assert days_on(result[2]) == []


def test_subcategory_promotion_does_not_cover_the_parent_categorys_products(network):
    PromotionFactory(product=None, category=network["berries"], starts_on=FIRST_DAY)
    result = grid(network, [("a", "strawberry"), ("a", "apple")])
    assert days_on(result[0]) == list(range(7))
    assert days_on(result[1]) == []


def test_store_list_promotion_covers_only_the_listed_stores(network):
    promotion = PromotionFactory(product=network["milk"], starts_on=FIRST_DAY)
    promotion.stores.set([network["b"]])
    result = grid(network, [("a", "milk"), ("b", "milk"), ("c", "milk")])
    assert [days_on(row) for row in result] == [[], list(range(7)), []]


def test_region_and_store_list_together_cover_both(network):
    promotion = PromotionFactory(product=network["milk"], region=network["west"])
    promotion.stores.set([network["a"]])
    result = grid(network, [("a", "milk"), ("b", "milk"), ("c", "milk")])
    assert [days_on(row) for row in result] == [list(range(7)), [], list(range(7))]


def test_cancelled_promotion_is_ignored(network):
    PromotionFactory(product=network["apple"], status=Promotion.Status.CANCELLED)
    assert grid(network, [("a", "apple")]) is None


def test_overlapping_promotions_still_mark_one(network):
    PromotionFactory(product=network["apple"], starts_on=dt.date(2026, 6, 1))
    PromotionFactory(
        product=None,
        category=network["fruit"],
        starts_on=dt.date(2026, 6, 4),
        ends_on=dt.date(2026, 6, 12),
    )
    result = grid(network, [("a", "apple")])
    assert result[0].tolist() == [1.0] * DAYS


def test_only_the_days_inside_the_window_are_marked(network):
    PromotionFactory(
        product=network["apple"], starts_on=dt.date(2026, 5, 28), ends_on=dt.date(2026, 6, 2)
    )
    PromotionFactory(
        product=network["apple"], starts_on=dt.date(2026, 6, 9), ends_on=dt.date(2026, 6, 20)
    )
    result = grid(network, [("a", "apple")])
    assert days_on(result[0]) == [0, 1, 8, 9]


def test_no_promotion_touching_the_window_gives_none(network):
    PromotionFactory(
        product=network["apple"], starts_on=dt.date(2026, 5, 1), ends_on=dt.date(2026, 5, 31)
    )
    PromotionFactory(
        product=network["apple"], starts_on=dt.date(2026, 6, 11), ends_on=dt.date(2026, 6, 30)
    )
    assert grid(network, [("a", "apple")]) is None
    # Planned, in the window, but for none of these series: also nothing to read.
    PromotionFactory(product=network["milk"])
    assert grid(network, [("a", "apple")]) is None


def test_grid_query_count_does_not_grow_with_the_series(network, django_assert_max_num_queries):
    region = PromotionFactory(product=network["apple"], region=network["east"])
    PromotionFactory(product=None, category=network["fruit"], starts_on=dt.date(2026, 6, 8))
    region.stores.set([network["c"]])
    stores = [network["a"], network["b"], network["c"], *StoreFactory.create_batch(30)]
    products = [network["apple"], network["strawberry"], network["milk"]]
    products += ProductFactory.create_batch(7, category=network["berries"])

    def run(count: int) -> tuple[int, np.ndarray]:
        pairs = [(store.pk, product.pk) for store in stores for product in products][:count]
        with CaptureQueriesContext(connection) as queries:
            result = promotion_grid(
                store_ids=np.array([s for s, _p in pairs]),
                product_ids=np.array([p for _s, p in pairs]),
                first_day=FIRST_DAY,
                days=DAYS,
            )
        return len(queries.captured_queries), result

    with django_assert_max_num_queries(5):
        few, _result = run(3)
    with django_assert_max_num_queries(5):
        many, result = run(330)
    assert few == many
    # Every apple in the east and in c (listed) for the week; every fruit from 8 June.
    assert result.shape == (330, DAYS)
    assert result[:, 7:].sum() == 33 * 9 * 3
    assert result[0].tolist() == [1.0] * DAYS


# --- the forecast reads it ---------------------------------------------------------------------


def test_the_planning_sources_feed_planned_promotions_to_the_sales_panel(network):
    today = timezone.localdate()
    store = network["a"]
    yesterday = today - dt.timedelta(days=1)
    orders_bulk_create(
        store=store,
        baskets=[[(network["apple"], 2)], [(network["milk"], 1)]],
        placed_at=[local_datetime(yesterday, 9), local_datetime(yesterday, 10)],
    )
    PromotionFactory(
        product=network["apple"],
        starts_on=today + dt.timedelta(days=2),
        ends_on=today + dt.timedelta(days=3),
    )
    days = 30
    panel, series = sales_panel_load(
        store_ids=[store.pk],
        end_day=today,
        days=days,
        codes=CategoryCodes.load(),
        sources=planning_sources(),
    )
    assert series["product_id"].tolist() == [network["apple"].pk, network["milk"].pk]
    assert panel.promotion.shape == (2, days + fc.HORIZON)
    assert days_on(panel.promotion[0]) == [days + 2, days + 3]
    assert days_on(panel.promotion[1]) == []
    again = promotion_grid(
        store_ids=panel.store_ids,
        product_ids=panel.product_ids,
        first_day=panel.first_day,
        days=days + fc.HORIZON,
    )
    assert again.tolist() == panel.promotion.tolist()
    # Without sources (the default) the panel knows of no promotion.
    bare, _series = sales_panel_load(
        store_ids=[store.pk], end_day=today, days=days, codes=CategoryCodes.load()
    )
    assert bare.promotion is None


# --- the forecast model learns the lift --------------------------------------------------------

PROMOTION_LIFT = 1.8


def promoted_panel(seed: int) -> fc.Panel:
    """The synthetic demand (weekday, holiday and weather effects) of 6 stores × 12 products
    over 150 days, with each series on promotion for 4-day spells about one day in seven, selling
    PROMOTION_LIFT × more on those days. The future days carry no promotion."""
    observed = 150
    demand = synthetic_demand(
        stores=6, products=12, days=observed, first_day=dt.date(2025, 1, 6), seed=seed
    )
    rng = np.random.default_rng(seed + 1)
    series, total = demand.expected.shape
    promotion = np.zeros((series, total))
    for row in range(series):
        for start in rng.choice(observed - 4, size=observed // 30, replace=False):
            promotion[row, start : start + 4] = 1.0
    expected = demand.expected * np.where(promotion == 1.0, PROMOTION_LIFT, 1.0)
    base = demand.panel
    return fc.Panel(
        sales=rng.poisson(expected[:, :observed]).astype(np.float64),
        first_day=base.first_day,
        store_ids=base.store_ids,
        product_ids=base.product_ids,
        category_codes=base.category_codes,
        city_index=base.city_index,
        temp_max=base.temp_max,
        precipitation=base.precipitation,
        promotion=promotion,
    )


def test_model_learns_the_promotion_lift() -> None:
    panel = promoted_panel(seed=4)
    model = fc.ForecastModel().fit(
        panel,
        fc.training_origins(panel.last_origin - fc.HORIZON, step=3, count=20),
        max_rows=10_000,
    )
    promoted = panel.subset(np.arange(panel.series_count))
    promoted.promotion = panel.promotion.copy()
    promoted.promotion[:, panel.days_observed :] = 1.0  # every forecast day on promotion
    without = model.predict(panel, panel.last_origin)
    with_promotion = model.predict(promoted, panel.last_origin)
    # The same 14 days with the flag on and off. Planted lift: 1.8 on promoted days (one day's
    # ratio alone swings from about 1.45 to 2.6 across seeds on a panel this small).
    ratio = with_promotion.sum() / without.sum()
    assert 1.4 < ratio < 2.3
    assert (with_promotion.sum(axis=0) > 1.2 * without.sum(axis=0)).all()


# --- the admin ---------------------------------------------------------------------------------

CHANGELIST = "/admin/campaigns/promotion/"


def test_hq_plans_a_regional_broadcast_in_the_admin(client, hq_user, network):
    client.force_login(hq_user)
    response = client.post(
        f"{CHANGELIST}add/",
        {
            "name": "草莓直播",
            "kind": Promotion.Kind.BROADCAST,
            "status": Promotion.Status.PLANNED,
            "discount_percent": "",
            "category": network["berries"].pk,
            "region": network["east"].pk,
            "stores": [network["c"].pk],
            "starts_on": "2026-06-05",
            "ends_on": "2026-06-06",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    promotion = Promotion.objects.get()
    assert (promotion.created_by, promotion.category, promotion.region) == (
        hq_user,
        network["berries"],
        network["east"],
    )
    assert list(promotion.stores.all()) == [network["c"]]


def test_admin_form_refuses_both_a_product_and_a_category(client, hq_user, network):
    client.force_login(hq_user)
    client.cookies["django_language"] = "en"
    response = client.post(
        f"{CHANGELIST}add/",
        {
            "name": "x",
            "kind": Promotion.Kind.PRICE,
            "status": Promotion.Status.PLANNED,
            "discount_percent": "10",
            "product": network["apple"].pk,
            "category": network["fruit"].pk,
            "starts_on": "2026-06-05",
            "ends_on": "2026-06-04",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Choose either a product or a category, not both." in page
    assert "The promotion cannot end before it starts." in page
    assert Promotion.objects.count() == 0


def test_admin_cancel_action(client, hq_user, network):
    promotions = PromotionFactory.create_batch(2, product=network["apple"])
    client.force_login(hq_user)
    response = client.post(
        CHANGELIST,
        {"action": "cancel_selected", "_selected_action": [promotions[0].pk]},
    )
    assert response.status_code == 302
    assert list(Promotion.objects.order_by("pk").values_list("status", flat=True)) == [
        "cancelled",
        "planned",
    ]


def test_admin_changelist_filters_search_and_flat_query_count(client, hq_user, network):
    client.force_login(hq_user)

    def grow(count: int) -> None:
        for number in range(count):
            promotion = PromotionFactory(
                product=network["apple"] if number % 2 else None,
                category=None if number % 2 else network["fruit"],
                region=network["east"] if number % 3 else None,
            )
            promotion.stores.set([network["a"], network["c"]])

    grow(3)
    assert client.get(CHANGELIST).status_code == 200
    with CaptureQueriesContext(connection) as few:
        assert client.get(CHANGELIST).status_code == 200
    grow(27)
    with CaptureQueriesContext(connection) as many:
        page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)
    for query in (
        {"kind__exact": "price", "status__exact": "planned"},
        {"region__id__exact": network["east"].pk},
        {"starts_on__gte": "2026-06-01", "starts_on__lt": "2026-06-02"},
        {"q": network["a"].code},
        {"q": network["apple"].sku},
    ):
        assert client.get(CHANGELIST, query).status_code == 200
    found = client.get(CHANGELIST, {"q": network["apple"].sku})
    assert found.context["cl"].result_count == 14  # the odd-numbered ones
