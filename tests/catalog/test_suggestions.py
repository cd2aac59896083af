"""Personal next-product suggestions: the blend's pieces, the offline evaluation against both
baselines (popularity; "buy again") on planted repeat buyers, the database evaluation and
command, and the per-member selector."""

from __future__ import annotations

import datetime as dt
import math
import random

import numpy as np
import pytest
import scipy.sparse as sp
from django.core.management import call_command
from django.utils import timezone

from apps.catalog.analytics.suggestions import (
    BlendWeights,
    blend_scores,
    blend_top_k,
    buy_again_top_k,
    evaluation_setup,
    member_history,
    ranking_quality,
    repurchase_intervals,
    rule_matrix,
    store_popularity_before,
    suggestion_evaluation,
    top_k,
)
from apps.catalog.models import RuleScope
from apps.catalog.selectors import (
    member_next_products,
    member_offer_lines,
    store_product_popularity,
)
from apps.catalog.services.config import decision_settings_get
from apps.catalog.services.rules import co_purchase_rules_compute
from apps.catalog.services.suggestions import suggestions_evaluate
from apps.stores.models import OrderLine
from tests.catalog.decision_fixtures import local_datetime, orders_bulk_create
from tests.factories import MemberFactory, ProductFactory, StoreFactory


def test_rule_matrix_ignores_unknown_products() -> None:
    products = np.array([10, 20, 30])
    matrix = rule_matrix(
        np.array([10, 20, 99]), np.array([20, 30, 10]), np.array([0.5, 0.25, 0.9]), products
    )
    assert matrix.toarray().tolist() == [[0, 0.5, 0], [0, 0, 0.25], [0, 0, 0]]


def test_top_k_orders_by_rule_score_then_popularity() -> None:
    history = sp.csr_matrix(np.array([[2, 0, 0, 0], [0, 0, 0, 0]], dtype=float))
    rules = sp.csr_matrix(np.array([[0, 0.5, 0.2, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]))
    popularity = np.array([1.0, 0.0, 5.0, 9.0])
    picks = top_k(history, rules, popularity, k=3)
    # Member 0: B (1.0), C (0.4), then the most popular other product; member 1: popularity.
    assert picks.tolist() == [[1, 2, 3], [3, 2, 0]]


def test_repurchase_interval_is_the_median_over_repeat_buyers() -> None:
    # Product 0: member 0 on days 0, 10, 20 (every 10 days), member 1 on days 0 and 4 (4),
    # member 2 once (no interval); two lines on one day count once. Product 1: nobody twice.
    rows = [(0, 0, 0), (0, 0, 10), (0, 0, 20), (1, 0, 0), (1, 0, 4), (1, 0, 4.5), (2, 0, 3)]
    rows += [(0, 1, 5)]
    intervals = repurchase_intervals(
        member_rows=np.array([r[0] for r in rows]),
        product_cols=np.array([r[1] for r in rows]),
        basket_days=np.array([r[2] for r in rows], dtype=float),
        products=2,
    )
    assert intervals[0] == 7.0  # median of 10 and 4
    assert math.isnan(intervals[1])


def test_ranking_quality_by_hand() -> None:
    truth = sp.csr_matrix(np.array([[0, 0, 1, 1], [1, 0, 0, 0], [0, 0, 0, 1]]))
    suggested = np.array([[1, 2, -1], [1, 2, 3], [3, 0, 1]])
    hit_rate, ndcg = ranking_quality(suggested, truth, 3)
    # Member 0: a hit at rank 2 of 2 relevant: (1/log2 3) / (1 + 1/log2 3); member 1: miss;
    # member 2: a hit at rank 1: 1.
    by_hand = ((1 / math.log2(3)) / (1 + 1 / math.log2(3)) + 0 + 1) / 3
    assert hit_rate == pytest.approx(2 / 3)
    assert ndcg == pytest.approx(by_hand)


def _shifting_favourites(seed: int, *, shift: bool, co_purchase: bool) -> dict[str, np.ndarray]:
    """300 members, one basket a week for 52 weeks, two popular staples (products 90–99) in
    every basket. With `shift`, each member's old favourite (0–29) is in every basket of the
    first 30 weeks and their new one (30–59) in every basket since (the "buy again" count
    still prefers the old one). Without, the member buys one steady favourite (0–29) in 80 %
    of baskets. With `co_purchase`, member m bought A (60 + m % 10) in week 50 and buys its
    partner B (70 + m % 10), which they never bought, in the last basket; others buy A and B
    together."""
    rng = random.Random(seed)
    order_ids, times, members, products = [], [], [], []
    order = 0
    start = np.datetime64("2025-01-01T10:00")
    for member in range(300):
        old, new = rng.randrange(30), 30 + rng.randrange(30)
        for week in range(52):
            order += 1
            basket = set(rng.sample(range(90, 100), k=2))
            if shift:
                basket.add(old if week < 30 else new)
            elif rng.random() < 0.8:
                basket.add(old)
            if co_purchase:
                if week == 50:
                    basket.add(60 + member % 10)
                if week == 51:
                    basket.add(70 + member % 10)
                if week == 20 and member % 3 == 0:  # the rule's evidence
                    basket |= {60 + member % 10, 70 + member % 10}
            for product in sorted(basket):
                order_ids.append(order)
                times.append(start + np.timedelta64(7 * week, "D"))
                members.append(member)
                products.append(product)
    return {
        "order_ids": np.array(order_ids),
        "order_times": np.array(times),
        "member_ids": np.array(members),
        "product_ids": np.array(products),
    }


def test_the_blend_beats_buy_again_where_recency_and_co_purchase_are_planted() -> None:
    evaluation = suggestion_evaluation(
        **_shifting_favourites(3, shift=True, co_purchase=True), k=3, min_pair_count=2
    )
    assert evaluation.members == 300
    # Buy again shows the old favourite and two staples; the blend knows the new favourite
    # is the one bought lately.
    assert evaluation.blend.hit_rate >= evaluation.buy_again.hit_rate
    assert evaluation.blend.ndcg > evaluation.buy_again.ndcg + 0.1
    assert evaluation.blend.ndcg > evaluation.popularity.ndcg
    assert evaluation.improvement_over_buy_again() is not None


def test_the_blend_is_not_worse_than_buy_again_where_only_repeat_exists() -> None:
    evaluation = suggestion_evaluation(
        **_shifting_favourites(4, shift=False, co_purchase=False), k=3, min_pair_count=2
    )
    assert evaluation.members == 300
    # Both offer the favourite and two staples; which staples differs (the blend leans on
    # popularity, buy again on the member's own counts): within one member in a hundred.
    assert evaluation.blend.hit_rate >= evaluation.buy_again.hit_rate - 0.01
    assert evaluation.blend.ndcg >= evaluation.buy_again.ndcg - 0.01
    assert evaluation.blend.hit_rate > evaluation.popularity.hit_rate


def test_member_history_of_no_order_lines_is_empty():
    """A member without a bought line (the selector serves members whose only order was
    cancelled) gets an empty history, not an IndexError."""
    empty_ints = np.array([], dtype=np.int64)
    history = member_history(
        member_rows=empty_ints,
        product_cols=empty_ints,
        basket_ids=empty_ints,
        basket_days=np.array([], dtype=np.float64),
        shape=(1, 3),
        as_of_day=56.0,
        half_life_days=120.0,
    )
    assert history.baskets.nnz == 0
    assert history.last_day.nnz == 0
    assert history.last_day.shape == (1, 3)
    assert history.total.dtype == np.float64
    assert history.total.tolist() == [0.0]


def _planted_due_member(due_weight: float) -> np.ndarray:
    """One member who buys product 0 every 7 days (days 0 … 49: last bought 7 days before
    day 56, so it is due) and product 1 every 7 days too (days 5 … 54: bought 2 days ago, not
    due). Returns the blended scores on day 56."""
    days = np.r_[np.arange(0, 50, 7), np.arange(5, 55, 7)].astype(np.float64)
    products = np.r_[np.zeros(8), np.ones(8)].astype(np.int64)
    history = member_history(
        member_rows=np.zeros(16, dtype=np.int64),
        product_cols=products,
        basket_ids=np.arange(16),
        basket_days=days,
        shape=(1, 3),
        as_of_day=56.0,
        half_life_days=120.0,
    )
    return blend_scores(
        history,
        slice(0, 1),
        intervals=np.array([7.0, 7.0, np.nan]),
        rules=sp.csr_matrix((3, 3)),
        popularity=np.array([0.1, 0.1, 0.05]),
        weights=BlendWeights(due_weight=due_weight),
    )[0]


def test_a_product_due_for_repurchase_is_ranked_first() -> None:
    scores = _planted_due_member(BlendWeights().due_weight)
    # Both are bought equally often; product 1 more lately (recency favours it), but product
    # 0's planted 7-day interval has just elapsed, so it comes first.
    assert np.argsort(-scores).tolist() == [0, 1, 2]
    # Without the "due" part, recency alone puts product 1 first.
    assert np.argsort(-_planted_due_member(0.0)).tolist() == [1, 0, 2]


def test_ties_at_the_kth_place_go_to_the_lowest_columns() -> None:
    # Ten products with the same count and day for every member: the top 3 must be the three
    # lowest columns whatever argpartition picks.
    members, products = 5, 10
    history = member_history(
        member_rows=np.repeat(np.arange(members), products),
        product_cols=np.tile(np.arange(products), members),
        basket_ids=np.repeat(np.arange(members), products),
        basket_days=np.zeros(members * products),
        shape=(members, products),
        as_of_day=1.0,
        half_life_days=120.0,
    )
    again = buy_again_top_k(history, np.zeros(products), 3)
    assert again.tolist() == [[0, 1, 2]] * members
    blend = blend_top_k(
        history,
        intervals=np.full(products, np.nan),
        rules=sp.csr_matrix((products, products)),
        popularity=np.zeros(products),
        k=3,
    )
    assert blend.tolist() == [[0, 1, 2]] * members


def test_store_popularity_counts_only_the_window_before_the_day() -> None:
    # Store 1: baskets on days 0, 5, 9 and 10; store 2: one basket on day 9.
    lines = [  # (store, order, product, day)
        (1, 100, 0, 0.2),
        (1, 101, 0, 5.5),
        (1, 101, 1, 5.5),
        (1, 101, 1, 5.5),  # a product twice in a basket counts once
        (1, 102, 2, 9.9),
        (1, 103, 3, 10.1),  # on the day asked for: excluded
        (2, 200, 4, 9.0),
    ]
    store, order, product, day = (np.array(column) for column in zip(*lines, strict=True))
    result = store_popularity_before(
        store_ids=store,
        order_ids=order,
        product_cols=product,
        days=day,
        products=5,
        at_stores=np.array([1, 1, 2, 3]),
        at_days=np.array([10, 10.7, 10, 10]),
        window_days=6,
    ).toarray()
    # Days 4 … 9 of store 1: baskets 101 and 102.
    assert result[0].tolist() == [0.5, 0.5, 0.5, 0.0, 0.0]
    assert result[1].tolist() == result[0].tolist()
    assert result[2].tolist() == [0.0, 0.0, 0.0, 0.0, 1.0]
    assert result[3].tolist() == [0.0] * 5  # a store with no sales: an empty row


def test_the_held_out_basket_leaks_into_nothing_the_blend_sees() -> None:
    # Product 9 is sold only in the held-out (last) baskets: the blend may not suggest it,
    # the store popularity and "what the store sells" must not contain it.
    start = np.datetime64("2026-01-01T10:00")
    order_ids, times, members, products, stores = [], [], [], [], []
    order = 0
    for member in range(20):
        for week in range(6):
            order += 1
            basket = [member % 3, 3 + week % 2] + ([9] if week == 5 else [])
            for product in basket:
                order_ids.append(order)
                times.append(start + np.timedelta64(7 * week, "D") + np.timedelta64(member, "m"))
                members.append(member)
                products.append(product)
                stores.append(1)
    setup = evaluation_setup(
        order_ids=np.array(order_ids),
        order_times=np.array(times),
        member_ids=np.array(members),
        product_ids=np.array(products),
        store_ids=np.array(stores),
        k=3,
    )
    column = int(np.searchsorted(setup.catalog, 9))
    assert setup.truth[:, column].sum() == 20
    assert setup.store_popularity[:, column].sum() == 0
    assert setup.allowed[:, column].sum() == 0
    assert setup.popularity[column] == 0
    assert setup.history(120.0).baskets[:, column].sum() == 0
    blend = blend_top_k(
        setup.history(120.0),
        intervals=setup.intervals,
        rules=setup.rules,
        popularity=setup.store_popularity,
        k=3,
        allowed=setup.allowed,
    )
    assert column not in blend


def test_the_report_has_one_line_per_method() -> None:
    evaluation = suggestion_evaluation(
        **_shifting_favourites(5, shift=True, co_purchase=False), k=10
    )
    lines = evaluation.lines()
    assert lines[0].startswith("members evaluated: 300")
    assert lines[1].startswith("blend (served)")
    assert "hit-rate@10" in lines[1]
    assert lines[2].startswith("most popular")
    assert "NDCG@10" in lines[2]
    assert lines[3].startswith("buy again")
    assert "hit-rate@10" in lines[3]
    assert lines[4].startswith("blend vs buy again:")


@pytest.fixture
def planted_db(db: None) -> dict:
    """A shortened planted history (recency) as orders of one store: 40 members, 26 weekly
    baskets; the old favourite in the first 13, the new one since."""
    store = StoreFactory()
    catalog = {number: ProductFactory() for number in range(100)}
    members = [MemberFactory(home_store=store) for _ in range(40)]
    rng = random.Random(7)
    today = timezone.localdate()
    baskets, placed, who = [], [], []
    for number, member in enumerate(members):
        old, new = catalog[number % 30], catalog[30 + number % 30]
        for week in range(26):
            basket = [catalog[p] for p in rng.sample(range(90, 100), k=2)]
            basket.append(old if week < 13 else new)
            baskets.append(basket)
            placed.append(local_datetime(today - dt.timedelta(days=7 * (26 - week)), 10))
            who.append(member)
    orders_bulk_create(store=store, baskets=baskets, placed_at=placed, members=who)
    settings = decision_settings_get()
    settings.rules_min_support = 0.0
    settings.rules_min_confidence = 0.05
    settings.rules_min_pair_count = 2
    settings.save()
    return {"store": store, "catalog": catalog, "members": members}


def test_evaluation_on_the_database_reports_both_baselines(planted_db: dict) -> None:
    # Top 1: "buy again" offers the old favourite (13 baskets against 12), the blend the new
    # one (bought lately).
    evaluation = suggestions_evaluate(k=1, days=200)
    assert evaluation.members == 40
    assert evaluation.blend.hit_rate > evaluation.buy_again.hit_rate + 0.5


def test_evaluation_command_prints_a_line_per_method(
    planted_db: dict, capsys: pytest.CaptureFixture
) -> None:
    call_command("suggestions_evaluate", "--k", "10", "--days", "200")
    output = capsys.readouterr().out
    assert "members evaluated: 40" in output
    for method in ("ranker (served)", "most popular", "buy again", "blend (fallback)"):
        [line] = [line for line in output.splitlines() if line.startswith(method)]
        assert "hit-rate@10" in line
        assert "NDCG@10" in line


def test_member_lines_buy_again_and_also_like(db: None, settings: object) -> None:
    """A member who bought A twice: A is "buy again"; B (bought with A by 6 other members)
    is "you may also like" with the rule behind it; D (sold only elsewhere) is never offered."""
    settings.RULES_MIN_MEMBERS = 5
    store, elsewhere = StoreFactory(), StoreFactory()
    a, b, c, d = (ProductFactory() for _ in range(4))
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    others = [MemberFactory(home_store=store) for _ in range(6)]
    orders_bulk_create(
        store=store,
        baskets=[[a, b]] * 6 + [[c]] * 3,
        members=others + [None] * 3,
        placed_at=local_datetime(yesterday - dt.timedelta(days=20)),
    )
    orders_bulk_create(store=elsewhere, baskets=[[d]] * 9, placed_at=local_datetime(yesterday, 12))
    co_purchase_rules_compute(scopes=(RuleScope.STORE,), store_ids=[store.pk], force=True)
    member = MemberFactory(home_store=store)
    orders_bulk_create(
        store=store,
        baskets=[[a], [a]],
        placed_at=[
            local_datetime(yesterday - dt.timedelta(days=10)),
            local_datetime(yesterday - dt.timedelta(days=3)),
        ],
        members=[member, member],
    )

    again, also = member_offer_lines(member_id=member.pk, store=store, limit=5)
    assert [o.product for o in again] == [a]
    assert again[0].bought == 2
    assert [o.product for o in also][:1] == [b]
    assert also[0].because_of == a
    assert also[0].confidence == pytest.approx(1.0)
    offered = [o.product for o in member_next_products(member_id=member.pk, store=store)]
    assert d not in offered
    assert set(offered) == {a, b, c}


def test_served_store_popularity_equals_the_evaluations(planted_db: dict) -> None:
    """The served SQL aggregate (`store_product_popularity`) and the evaluation's pure
    function (`store_popularity_before`) give the same shares for today."""
    store = planted_db["store"]
    lines = list(
        OrderLine.objects.filter(order__store=store).values_list(
            "order_id", "order__placed_at", "product_id"
        )
    )
    tz = timezone.get_current_timezone()
    local = [placed.astimezone(tz).replace(tzinfo=None) for _, placed, _ in lines]
    origin = dt.datetime.combine(min(local).date(), dt.time.min)
    days = np.array([(moment - origin).total_seconds() / 86_400 for moment in local])
    catalog = np.unique([product for _, _, product in lines])
    today = timezone.localdate()
    expected = store_popularity_before(
        store_ids=np.full(len(lines), store.pk),
        order_ids=np.array([order for order, _, _ in lines]),
        product_cols=np.searchsorted(catalog, [product for _, _, product in lines]),
        days=days,
        products=catalog.shape[0],
        at_stores=np.array([store.pk]),
        at_days=np.array([(today - origin.date()).days]),
    ).toarray()[0]
    served = store_product_popularity(
        store_id=store.pk, end=timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    )
    assert len(served) == int((expected > 0).sum()) > 0
    for product, share in served.items():
        assert share == pytest.approx(expected[np.searchsorted(catalog, product)])
