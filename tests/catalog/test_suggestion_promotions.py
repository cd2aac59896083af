"""Planned promotions in the next-product ranker: the "promoted" feature looks up the
promotions HQ planned for the member's store and the day ranked for (`PromotedLookup`), the
ranker learns a planted promotion lift from the members' past, and the nightly ranking reads
the real Promotion rows through the planning sources."""

from __future__ import annotations

import datetime as dt
import random
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.campaigns.models import Promotion
from apps.campaigns.selectors.promotions import promotion_grid, promotion_spans
from apps.catalog.analytics.ranker import ranker_evaluation_score, ranking_serve
from apps.catalog.analytics.suggestions import PromotedLookup, PromotionSpans, evaluation_setup
from apps.catalog.models import MemberSuggestion
from apps.catalog.services.nightly import decisions_run
from apps.catalog.services.suggestions import member_suggestions_rank, suggestions_evaluate
from apps.catalog.sources import planning_sources
from tests.catalog.decision_fixtures import local_datetime, orders_bulk_create
from tests.factories import CategoryFactory, MemberFactory, ProductFactory, StoreFactory

START = np.datetime64("2025-01-06T10:00")
FRUITS = range(1, 7)
FRUIT = 1
STAPLES = range(90, 100)


def _spans(rows: list[tuple[int, int, str, str]]) -> PromotionSpans:
    store, product, first, last = zip(*rows, strict=True)
    return PromotionSpans(
        store_ids=np.array(store),
        product_ids=np.array(product),
        first_days=np.array(first, dtype="datetime64[D]"),
        last_days=np.array(last, dtype="datetime64[D]"),
    )


def test_the_lookup_covers_each_span_day_by_day_and_merges_overlaps() -> None:
    catalog = np.array([10, 20, 30])
    spans = _spans(
        [
            (1, 20, "2026-03-02", "2026-03-04"),
            (1, 20, "2026-03-04", "2026-03-06"),  # overlaps the first
            (1, 20, "2026-03-07", "2026-03-07"),  # adjacent: one range 2 … 7 March
            (1, 20, "2026-03-10", "2026-03-10"),
            (2, 30, "2026-02-27", "2026-03-01"),  # begins before day 0
            (1, 99, "2026-03-02", "2026-03-09"),  # a product outside the catalogue
            (1, 10, "2026-03-05", "2026-03-03"),  # ends before it starts: nothing
        ]
    )
    lookup = PromotedLookup.build(spans, catalog=catalog, origin_day=np.datetime64("2026-03-01"))
    assert lookup.keys.size == 3  # 2-7 and 10 March of (1, 20); (2, 30)
    days = np.arange(-3, 12)
    store_1_col_1 = lookup.covered(np.ones(days.size), days + 0.75, np.ones(days.size))
    assert days[store_1_col_1].tolist() == [1, 2, 3, 4, 5, 6, 9]  # day 1 = 2 March
    store_2_col_2 = lookup.covered(np.full(days.size, 2), days, np.full(days.size, 2))
    assert days[store_2_col_2].tolist() == [-2, -1, 0]
    # Another store, another product, the dropped spans: never.
    for store, col in ((2, 1), (1, 2), (1, 0), (3, 1)):
        assert not lookup.covered(np.full(days.size, store), days, np.full(days.size, col)).any()
    none = np.zeros(0, dtype=np.int64)
    no_days = np.zeros(0, dtype="datetime64[D]")
    empty = PromotedLookup.build(
        PromotionSpans(store_ids=none, product_ids=none, first_days=no_days, last_days=no_days),
        catalog=catalog,
        origin_day=np.datetime64("2026-03-01"),
    )
    assert not empty.covered(np.array([1]), np.array([1.0]), np.array([1])).any()


def test_the_lookup_takes_store_ids_of_any_size() -> None:
    """Keys are built from the stores' places among the spans' stores, not from their ids: an
    id near 2**62 (a hashed or external key) times the catalogue's size would wrap around
    int64 onto a small store's keys (here exactly store 1's), and store 1 would see the big
    store's promotion."""
    catalog = np.arange(70_000)
    big = 2**62 + 1  # big × 70 000 ≡ 70 000 = 1 × 70 000 (mod 2**64)
    lookup = PromotedLookup.build(
        _spans([(big, 69_999, "2026-03-02", "2026-03-03"), (7, 5, "2026-03-02", "2026-03-02")]),
        catalog=catalog,
        origin_day=np.datetime64("2026-03-01"),
    )
    stores = np.array([big, big, big, 1, big + 1, 7, 7, 8])
    days = np.array([1.5, 2.0, 3.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    cols = np.array([69_999, 69_999, 69_999, 69_999, 69_999, 5, 69_999, 5])
    assert lookup.covered(stores, days, cols).tolist() == [
        True,
        True,
        False,  # the day after the span
        False,  # store 1, onto whose keys the big id would wrap
        False,  # another big id
        True,
        False,  # the small store, the big store's product
        False,  # an id the spans never name
    ]


def _promotion_buyers(seed: int, members: int = 300, weeks: int = 30):
    """Weekly baskets at store 0: two of ten staples (20 % each), and six fruits, each
    promoted in a third of the weeks at random; a member buys a fruit in 60 % of the weeks it
    is promoted and 2 % of the others, so neither its rhythm nor its share of a member's
    baskets says when. In the last week (29) only `FRUIT` is promoted. The lines and each
    promoted fruit-week as a span."""
    rng = random.Random(seed)
    promoted = {
        (fruit, week) for fruit in FRUITS for week in range(weeks - 1) if rng.random() < 1 / 3
    } | {(FRUIT, weeks - 1)}
    order_ids, times, member_ids, products = [], [], [], []
    order = 0
    for member in range(members):
        for week in range(weeks):
            order += 1
            basket = set(rng.sample(STAPLES, k=2))
            for fruit in FRUITS:
                if rng.random() < (0.6 if (fruit, week) in promoted else 0.02):
                    basket.add(fruit)
            for product in sorted(basket):
                order_ids.append(order)
                times.append(START + np.timedelta64(7 * week, "D"))
                member_ids.append(member)
                products.append(product)
    data = {
        "order_ids": np.array(order_ids),
        "order_times": np.array(times),
        "member_ids": np.array(member_ids),
        "product_ids": np.array(products),
        "store_ids": np.zeros(len(order_ids), dtype=np.int64),
    }
    ordered = sorted(promoted, key=lambda pair: (pair[1], pair[0]))  # week 29's span last
    first = np.array(
        [(START + np.timedelta64(7 * week, "D")).astype("datetime64[D]") for _f, week in ordered]
    )
    spans = PromotionSpans(
        store_ids=np.zeros(len(ordered), dtype=np.int64),
        product_ids=np.array([fruit for fruit, _week in ordered]),
        first_days=first,
        last_days=first + 6,
    )
    return data, spans


def _drop_last(spans: PromotionSpans) -> PromotionSpans:
    return PromotionSpans(
        store_ids=spans.store_ids[:-1],
        product_ids=spans.product_ids[:-1],
        first_days=spans.first_days[:-1],
        last_days=spans.last_days[:-1],
    )


def test_the_ranker_puts_a_promoted_product_first_on_its_promoted_day_only() -> None:
    data, spans = _promotion_buyers(11)
    before = data["order_times"] < START + np.timedelta64(7 * 29, "D")
    history = {name: values[before] for name, values in data.items()}
    as_of = START + np.timedelta64(7 * 29, "D") - np.timedelta64(10, "h")  # week 29's midnight

    def first_choices(promotions: PromotionSpans | None) -> np.ndarray:
        ranking = ranking_serve(
            **history, as_of=as_of, top=3, min_pair_count=2, promotions=promotions
        )
        assert ranking is not None
        assert ranking.members_ranked == 300
        return ranking.product_ids[ranking.ranks == 1]

    # Week 29 promoted: the fruit first for most members; the same history with week 29 not
    # promoted (every past promotion unchanged): for none; no promotions known: for few.
    assert (first_choices(spans) == FRUIT).mean() >= 0.7
    assert (first_choices(_drop_last(spans)) == FRUIT).mean() <= 0.05
    assert (first_choices(None) == FRUIT).mean() <= 0.3


def test_the_evaluation_scores_the_promotions_it_is_given() -> None:
    # Each member's last basket (week 29): 60 % hold the fruit promoted that week.
    data, spans = _promotion_buyers(12)
    with_promotions = ranker_evaluation_score(
        evaluation_setup(**data, k=1, min_pair_count=2, promotions=spans)
    )
    without = ranker_evaluation_score(evaluation_setup(**data, k=1, min_pair_count=2))
    assert with_promotions.blend.hit_rate >= 0.45
    assert with_promotions.blend.hit_rate >= without.blend.hit_rate + 0.2
    assert with_promotions.blend.hit_rate >= with_promotions.buy_again.hit_rate + 0.3


def test_promotion_spans_mark_the_cells_of_the_promotion_grid(db: None) -> None:
    stores = [StoreFactory(), StoreFactory()]
    parent = CategoryFactory()
    child = CategoryFactory(parent=parent)
    products = [ProductFactory(category=child), ProductFactory(), ProductFactory()]
    first_day = dt.date(2026, 3, 1)
    promotion = Promotion.objects.create(
        name="蓝莓",
        kind=Promotion.Kind.FEATURE,
        product=products[1],
        starts_on=dt.date(2026, 2, 25),
        ends_on=dt.date(2026, 3, 3),
    )
    promotion.stores.add(stores[0])
    Promotion.objects.create(  # the whole network, the category above the product's
        name="水果节",
        kind=Promotion.Kind.PRICE,
        discount_percent=20,
        category=parent,
        starts_on=dt.date(2026, 3, 5),
        ends_on=dt.date(2026, 3, 20),
    )
    Promotion.objects.create(
        name="取消",
        kind=Promotion.Kind.PRICE,
        discount_percent=10,
        product=products[2],
        starts_on=first_day,
        ends_on=dt.date(2026, 3, 9),
        status=Promotion.Status.CANCELLED,
    )
    store_ids = np.repeat([s.pk for s in stores], 3)
    product_ids = np.tile([p.pk for p in products], 2)
    grid = promotion_grid(
        store_ids=store_ids, product_ids=product_ids, first_day=first_day, days=10
    )
    spans = promotion_spans(
        store_ids=store_ids, product_ids=product_ids, first_day=first_day, days=10
    )
    marked = np.zeros((store_ids.size, 10))
    for row, start, end in spans.itertuples(index=False, name=None):
        marked[row, start:end] = 1
    assert np.array_equal(marked, grid)
    assert marked.sum() == 3 + 2 * 6  # the feature's 3 days, the category's 6 in two stores


@pytest.fixture
def promoted_fruit_db(db: None) -> dict:
    """The planted promotion lift as orders of one store: 60 members, 21 weekly baskets
    ending a week before today, six fruits each promoted (a planned feature of a week) in a
    third of the weeks at random; today only the first fruit is promoted."""
    store = StoreFactory()
    fruits = [ProductFactory(name=f"水果 {number}") for number in FRUITS]
    staples = [ProductFactory() for _ in STAPLES]
    members = [MemberFactory(home_store=store) for _ in range(60)]
    rng = random.Random(13)
    today = timezone.localdate()
    weeks = 21
    promoted = {
        (fruit.pk, week) for fruit in fruits for week in range(weeks) if rng.random() < 1 / 3
    } | {(fruits[0].pk, weeks)}  # week 21 is today's
    for fruit_id, week in sorted(promoted):
        day = today - dt.timedelta(days=7 * (weeks - week))
        promotion = Promotion.objects.create(
            name=f"水果周 {week}",
            kind=Promotion.Kind.FEATURE,
            product_id=fruit_id,
            starts_on=day,
            ends_on=day + dt.timedelta(days=6),
        )
        promotion.stores.add(store)
    baskets, placed, who = [], [], []
    for member in members:
        for week in range(weeks):
            basket = rng.sample(staples, k=2)
            for fruit in fruits:
                if rng.random() < (0.6 if (fruit.pk, week) in promoted else 0.02):
                    basket.append(fruit)
            baskets.append(basket)
            placed.append(local_datetime(today - dt.timedelta(days=7 * (weeks - week)), 10))
            who.append(member)
    orders_bulk_create(store=store, baskets=baskets, placed_at=placed, members=who)
    return {"fruit": fruits[0], "members": members}


def _first_choices() -> pd.Series:
    return pd.Series(
        dict(MemberSuggestion.objects.filter(rank=1).values_list("member_id", "product_id"))
    )


def test_the_nightly_ranking_reads_the_planned_promotions(promoted_fruit_db: dict) -> None:
    fruit = promoted_fruit_db["fruit"]
    ranked = member_suggestions_rank(sources=planning_sources())
    assert ranked["members"] == 60
    with_promotions = (_first_choices() == fruit.pk).mean()
    # Without the planned promotions (the default sources), nothing says today is its day.
    member_suggestions_rank()
    without = (_first_choices() == fruit.pk).mean()
    assert with_promotions >= 0.6
    assert without <= 0.2
    # The nightly run hands its planning sources down to the ranking.
    run = decisions_run(force=True, sources=planning_sources())
    assert run.stats["counts"]["member_suggestions"] == MemberSuggestion.objects.count() > 0
    assert (_first_choices() == fruit.pk).mean() == with_promotions


def test_the_database_evaluation_reads_the_planned_promotions(promoted_fruit_db: dict) -> None:
    # Each member's last basket (a week ago) is scored with that day's planned promotions.
    with_promotions = suggestions_evaluate(k=1, days=200, sources=planning_sources())
    without = suggestions_evaluate(k=1, days=200)
    assert with_promotions.members == without.members == 60
    assert with_promotions.blend.hit_rate >= without.blend.hit_rate + 0.2
    # The command reads them as the nightly run does.
    out = StringIO()
    call_command("suggestions_evaluate", "--k", "1", "--days", "200", stdout=out)
    assert with_promotions.lines()[1] in out.getvalue().splitlines()
