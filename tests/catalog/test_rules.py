"""Co-purchase rules: the sparse computation equals a pure-Python pair count exactly, the
service stores each scope set-wise and idempotently, and planted patterns come back."""

from __future__ import annotations

import datetime as dt
import math
import random

import numpy as np
import pytest
from django.utils import timezone
from django.utils.translation import override

from apps.catalog.analytics.rules import (
    basket_matrix_build,
    member_counts,
    rules_from_baskets,
    rules_from_matrix,
    rules_reference,
    wilson_lower_bound,
    with_categories,
)
from apps.catalog.analytics.rules import rules_reference as reference_with_categories
from apps.catalog.models import CoPurchaseRule, RuleRun, RuleScope
from apps.catalog.services.config import decision_settings_get
from apps.catalog.services.rules import co_purchase_rules_compute
from tests.catalog.decision_fixtures import local_datetime, orders_bulk_create
from tests.factories import (
    CategoryFactory,
    MemberFactory,
    ProductFactory,
    RegionFactory,
    StoreFactory,
)


def _random_baskets(seed: int, count: int, products: int) -> list[list[int]]:
    rng = random.Random(seed)
    baskets = []
    for _ in range(count):
        size = rng.choice([1, 1, 2, 2, 3, 4, 6])
        # Skewed popularity, duplicates allowed (two lines of one product in one basket).
        baskets.append([int(rng.paretovariate(1.2)) % products + 100 for _ in range(size)])
    return baskets


def _as_dict(table) -> dict:
    return {
        (int(a), int(b)): (int(p), int(ca), int(cb), float(s), float(c), float(lift))
        for a, b, p, ca, cb, s, c, lift in zip(
            table.antecedent,
            table.consequent,
            table.pair_count,
            table.antecedent_count,
            table.consequent_count,
            table.support,
            table.confidence,
            table.lift,
            strict=True,
        )
    }


def _flatten(baskets: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    basket_ids = np.array([i for i, basket in enumerate(baskets) for _ in basket])
    product_ids = np.array([p for basket in baskets for p in basket])
    return basket_ids, product_ids


@pytest.mark.parametrize(
    ("min_support", "min_confidence", "min_pair_count"),
    [(0.0, 0.0, 1), (0.002, 0.1, 1), (0.0, 0.25, 3), (0.01, 0.0, 5)],
)
def test_sparse_rules_equal_the_reference_pair_count_exactly(
    min_support: float, min_confidence: float, min_pair_count: int
) -> None:
    baskets = _random_baskets(seed=7, count=3000, products=60)
    matrix = basket_matrix_build(*_flatten(baskets))
    table = rules_from_baskets(
        matrix,
        min_support=min_support,
        min_confidence=min_confidence,
        min_pair_count=min_pair_count,
    )
    reference = rules_reference(
        baskets,
        min_support=min_support,
        min_confidence=min_confidence,
        min_pair_count=min_pair_count,
    )
    assert len(reference) > 30
    assert table.basket_count == 3000
    assert _as_dict(table) == reference


def test_duplicate_lines_count_once_and_single_item_baskets_count_as_baskets() -> None:
    baskets = [[1, 1, 2], [1], [2, 3], [3]]
    table = rules_from_baskets(basket_matrix_build(*_flatten(baskets)))
    rules = _as_dict(table)
    assert table.basket_count == 4
    assert rules[(1, 2)] == (1, 2, 2, 1 / 4, 1 / 2, (1 * 4) / (2 * 2))
    assert rules[(3, 2)] == (1, 2, 2, 1 / 4, 1 / 2, 1.0)
    assert (1, 3) not in rules
    assert set(rules) == {(1, 2), (2, 1), (2, 3), (3, 2)}


def test_generalised_rules_with_categories_equal_the_reference() -> None:
    baskets = _random_baskets(seed=9, count=2000, products=40)
    product_category = {p: 1000 + (p % 7) for basket in baskets for p in basket}
    matrix = basket_matrix_build(*_flatten(baskets))
    extended, items, parent = with_categories(matrix, product_category)
    table = rules_from_matrix(extended, items, min_pair_count=2, parent=parent)
    reference = rules_reference(baskets, min_pair_count=2, product_category=product_category)
    assert _as_dict(table) == reference
    kinds = {(a > 0, b > 0) for a, b in reference}
    assert kinds == {(True, True), (True, False), (False, True), (False, False)}
    # A product is never paired with its own category.
    assert all(product_category.get(a) != -b for a, b in reference if a > 0 and b < 0)


def test_rules_per_antecedent_keeps_the_strongest_in_a_stable_order() -> None:
    baskets = [[1, 2]] * 5 + [[1, 3]] * 3 + [[1, 4]] * 3 + [[1, 5]]
    table = rules_from_baskets(basket_matrix_build(*_flatten(baskets)), max_rules_per_antecedent=2)
    from_one = [
        (int(b), int(p))
        for a, b, p in zip(table.antecedent, table.consequent, table.pair_count, strict=True)
        if a == 1
    ]
    # 2 first (5 baskets), then 3 and 4 tie on confidence and count: the lower id wins.
    assert from_one == [(2, 5), (3, 3)]
    assert sorted(
        int(b) for a, b in zip(table.antecedent, table.consequent, strict=True) if a == 5
    ) == [1]


def test_empty_baskets_give_no_rules() -> None:
    table = rules_from_baskets(
        basket_matrix_build(np.array([], dtype=int), np.array([], dtype=int))
    )
    assert len(table) == 0
    assert table.basket_count == 0


def _reference_in_db(scope: str, **where: int) -> dict:
    return {
        (rule.antecedent_item, rule.consequent_item): (
            rule.pair_count,
            rule.antecedent_count,
            rule.consequent_count,
            rule.support,
            rule.confidence,
            rule.lift,
        )
        for rule in CoPurchaseRule.objects.filter(scope=scope, **where)
    }


@pytest.fixture
def two_regions_of_orders(db: None) -> dict:
    """Two regions; region A has two stores. Baskets over 5 products on two days."""
    region_a, region_b = RegionFactory(), RegionFactory()
    stores = [
        StoreFactory(region=region_a),
        StoreFactory(region=region_a),
        StoreFactory(region=region_b),
    ]
    shared = CategoryFactory()
    # Three products share a category (so category items aggregate), two have their own.
    products = [ProductFactory(category=shared) for _ in range(3)] + [
        ProductFactory() for _ in range(2)
    ]
    rng = random.Random(3)
    day = timezone.localdate() - dt.timedelta(days=2)
    baskets_by_store = {}
    for number, store in enumerate(stores):
        baskets = []
        for _ in range(60 + 20 * number):
            size = rng.choice([1, 2, 2, 3])
            baskets.append(rng.sample(products[: 3 + number], k=min(size, 3 + number)))
        orders_bulk_create(store=store, baskets=baskets, placed_at=local_datetime(day, 11))
        baskets_by_store[store.pk] = [[p.pk for p in basket] for basket in baskets]
    # A cancelled order is not a basket.
    orders_bulk_create(
        store=stores[0],
        baskets=[[products[3], products[4]]] * 5,
        placed_at=local_datetime(day, 12),
        status="cancelled",
    )
    settings = decision_settings_get()
    settings.rules_min_support = 0.0
    settings.rules_min_confidence = 0.0
    settings.rules_min_pair_count = 1
    settings.rules_per_product = 100
    settings.save()
    categories = {p.pk: p.category_id for p in products}
    return {
        "regions": (region_a, region_b),
        "stores": stores,
        "baskets": baskets_by_store,
        "categories": categories,
    }


def test_service_stores_every_scope_equal_to_the_reference(two_regions_of_orders: dict) -> None:
    stores = two_regions_of_orders["stores"]
    region_a, region_b = two_regions_of_orders["regions"]
    baskets = two_regions_of_orders["baskets"]
    categories = two_regions_of_orders["categories"]

    def rules_reference(baskets: list) -> dict:
        return reference_with_categories(baskets, product_category=categories)

    runs = co_purchase_rules_compute()

    assert sorted((run.scope, run.region_id, run.store_id) for run in runs) == sorted(
        [
            (RuleScope.NETWORK, None, None),
            (RuleScope.REGION, region_a.pk, None),
            (RuleScope.REGION, region_b.pk, None),
        ]
        + [(RuleScope.STORE, None, store.pk) for store in stores]
    )
    everything = [b for store in stores for b in baskets[store.pk]]
    assert _reference_in_db(RuleScope.NETWORK) == rules_reference(everything)
    assert _reference_in_db(RuleScope.REGION, region_id=region_a.pk) == rules_reference(
        baskets[stores[0].pk] + baskets[stores[1].pk]
    )
    assert _reference_in_db(RuleScope.REGION, region_id=region_b.pk) == rules_reference(
        baskets[stores[2].pk]
    )
    for store in stores:
        assert _reference_in_db(RuleScope.STORE, store_id=store.pk) == rules_reference(
            baskets[store.pk]
        )
    network_run = RuleRun.objects.get(scope=RuleScope.NETWORK)
    assert network_run.basket_count == len(everything)
    assert network_run.rule_count == CoPurchaseRule.objects.filter(scope=RuleScope.NETWORK).count()


def test_a_run_for_one_store_computes_its_whole_region_and_the_network(
    two_regions_of_orders: dict,
) -> None:
    stores = two_regions_of_orders["stores"]
    region_a, _region_b = two_regions_of_orders["regions"]
    baskets = two_regions_of_orders["baskets"]
    categories = two_regions_of_orders["categories"]

    runs = co_purchase_rules_compute(store_ids=[stores[0].pk])

    assert sorted((run.scope, run.region_id, run.store_id) for run in runs) == sorted(
        [
            (RuleScope.NETWORK, None, None),
            (RuleScope.REGION, region_a.pk, None),
            (RuleScope.STORE, None, stores[0].pk),
        ]
    )
    # Region A's rules come from both its stores, not only from the store asked for.
    assert _reference_in_db(RuleScope.REGION, region_id=region_a.pk) == reference_with_categories(
        baskets[stores[0].pk] + baskets[stores[1].pk], product_category=categories
    )
    # The whole run afterwards computes only the scopes still missing.
    rest = co_purchase_rules_compute()
    assert sorted((run.scope, run.region_id, run.store_id) for run in rest) == sorted(
        [
            (RuleScope.REGION, two_regions_of_orders["regions"][1].pk, None),
            (RuleScope.STORE, None, stores[1].pk),
            (RuleScope.STORE, None, stores[2].pk),
        ]
    )


def test_rerun_of_the_same_window_changes_nothing(two_regions_of_orders: dict) -> None:
    co_purchase_rules_compute()
    before_runs = list(RuleRun.objects.order_by("pk").values_list("pk", flat=True))
    before_rules = list(CoPurchaseRule.objects.order_by("pk").values())

    assert co_purchase_rules_compute() == []

    assert list(RuleRun.objects.order_by("pk").values_list("pk", flat=True)) == before_runs
    assert list(CoPurchaseRule.objects.order_by("pk").values()) == before_rules


def test_a_new_run_replaces_the_rules_of_its_scope_only(two_regions_of_orders: dict) -> None:
    stores = two_regions_of_orders["stores"]
    co_purchase_rules_compute()
    old_network = _reference_in_db(RuleScope.NETWORK)
    old_store_rules = set(
        CoPurchaseRule.objects.filter(scope=RuleScope.STORE).values_list("pk", flat=True)
    )

    runs = co_purchase_rules_compute(scopes=(RuleScope.NETWORK,), force=True)

    assert len(runs) == 1
    assert RuleRun.objects.filter(scope=RuleScope.NETWORK).count() == 2
    assert set(
        CoPurchaseRule.objects.filter(scope=RuleScope.NETWORK).values_list("run_id", flat=True)
    ) == {runs[0].pk}
    assert _reference_in_db(RuleScope.NETWORK) == old_network
    assert (
        set(CoPurchaseRule.objects.filter(scope=RuleScope.STORE).values_list("pk", flat=True))
        == old_store_rules
    )
    assert CoPurchaseRule.objects.filter(store=stores[0]).exists()


def test_thresholds_from_the_settings_are_applied(two_regions_of_orders: dict) -> None:
    settings = decision_settings_get()
    settings.rules_min_confidence = 0.4
    settings.rules_min_pair_count = 4
    settings.save()
    co_purchase_rules_compute(scopes=(RuleScope.NETWORK,))
    rules = list(CoPurchaseRule.objects.filter(scope=RuleScope.NETWORK))
    assert rules
    assert all(rule.confidence >= 0.4 and rule.pair_count >= 4 for rule in rules)
    run = RuleRun.objects.get(scope=RuleScope.NETWORK)
    assert (run.min_confidence, run.min_pair_count) == (0.4, 4)


def test_baskets_outside_the_window_are_ignored(db: None) -> None:
    store = StoreFactory()
    a, b = ProductFactory(), ProductFactory()
    settings = decision_settings_get()
    settings.rules_min_support = 0.0
    settings.rules_min_confidence = 0.0
    settings.rules_min_pair_count = 1
    settings.save()
    today = timezone.localdate()
    orders_bulk_create(
        store=store, baskets=[[a, b]], placed_at=local_datetime(today - dt.timedelta(days=1))
    )
    orders_bulk_create(
        store=store, baskets=[[a]] * 3, placed_at=local_datetime(today - dt.timedelta(days=200))
    )
    orders_bulk_create(
        store=store, baskets=[[b]] * 3, placed_at=local_datetime(today, 9)
    )  # today: not yet
    co_purchase_rules_compute(scopes=(RuleScope.NETWORK,))
    rule = CoPurchaseRule.objects.get(antecedent=a, consequent=b)
    assert (rule.basket_count, rule.pair_count, rule.confidence) == (1, 1, 1.0)


def test_rule_sentence_reads_like_the_owner_page(db: None) -> None:
    a = ProductFactory(name="Infant formula")
    b = ProductFactory(name="Baby food")
    store = StoreFactory()
    orders_bulk_create(
        store=store,
        baskets=[[a, b]] * 7 + [[a]] * 3,
        placed_at=local_datetime(timezone.localdate() - dt.timedelta(days=1)),
    )
    co_purchase_rules_compute(scopes=(RuleScope.NETWORK,))
    rule = CoPurchaseRule.objects.select_related("antecedent", "consequent").get(
        antecedent=a, consequent=b
    )
    with override("en"):
        assert rule.sentence() == "70% of customers who bought Infant formula also bought Baby food"
    assert rule.confidence_percent == 70


def test_the_sentence_counts_customers_like_its_evidence(db: None) -> None:
    """One household buys A with B in 8 baskets, three others buy A alone: 8 of 11 baskets
    with A hold B (73 %), but 1 of the 4 customers who bought A also bought B — the sentence
    says 25 %, as its evidence does, never 73 % beside "4 位顾客中有 1 位"."""
    a = ProductFactory(name="Cat food")
    b = ProductFactory(name="Cat litter")
    store = StoreFactory()
    loyal, *others = MemberFactory.create_batch(4)
    orders_bulk_create(
        store=store,
        baskets=[[a, b]] * 8 + [[a]] * 3,
        placed_at=local_datetime(timezone.localdate() - dt.timedelta(days=1)),
        members=[loyal] * 8 + others,
    )
    co_purchase_rules_compute(scopes=(RuleScope.NETWORK,))
    rule = CoPurchaseRule.objects.select_related("antecedent", "consequent").get(
        antecedent=a, consequent=b
    )
    assert round(rule.confidence * 100) == 73
    with override("en"):
        assert rule.sentence() == "25% of customers who bought Cat food also bought Cat litter"
        assert rule.evidence() == "1 of 4 customers"
    with override("zh-hans"):
        assert rule.sentence() == "买了Cat food的顾客有25%也买了Cat litter"
        assert rule.evidence() == "4 位顾客中有 1 位"


def test_planted_patterns_come_back_within_five_points(db: None) -> None:
    """Baskets drawn with planted conditional probabilities: the rules recover them."""
    store = StoreFactory()
    formula, baby_food, blueberry, yogurt, coffee, milk = (ProductFactory() for _ in range(6))
    fillers = [ProductFactory() for _ in range(10)]
    rng = random.Random(11)
    planted = [(formula, baby_food, 0.7), (blueberry, yogurt, 0.5), (coffee, milk, 0.4)]
    baskets = []
    for _ in range(3000):
        basket = set(rng.sample(fillers, k=rng.choice([1, 2, 3])))
        for a, b, probability in planted:
            if rng.random() < 0.12:
                basket.add(a)
                if rng.random() < probability:
                    basket.add(b)
        baskets.append(list(basket))
    orders_bulk_create(
        store=store,
        baskets=baskets,
        placed_at=local_datetime(timezone.localdate() - dt.timedelta(days=3)),
    )
    co_purchase_rules_compute(scopes=(RuleScope.NETWORK,))
    for a, b, probability in planted:
        rule = CoPurchaseRule.objects.get(scope=RuleScope.NETWORK, antecedent=a, consequent=b)
        assert abs(rule.confidence - probability) <= 0.05
        assert rule.lift > 1.5


def test_a_reason_with_missing_numbers_falls_back_to_its_label(db: None) -> None:
    from apps.catalog.models import DailyListEntry, ReasonKind
    from tests.catalog.factories import CoPurchaseRuleFactory, DailyListEntryFactory

    entry = DailyListEntryFactory(reason_data={})
    with override("en"):
        assert entry.reason == str(ReasonKind.HOT_RISING.label)
        assert DailyListEntry.objects.get(pk=entry.pk).reason == "Selling fast and rising"
        rule = CoPurchaseRuleFactory()
        assert rule.sentence() == (
            f"50% of customers who bought {rule.antecedent.name} also bought {rule.consequent.name}"
        )


def _members_reference(
    baskets: list[list[int]], members: list[int], pairs: list[tuple[int, int]]
) -> tuple[list[int], list[int]]:
    """Distinct members with a basket holding both / holding A, counted basket by basket."""
    both: dict[tuple[int, int], set[int]] = {pair: set() for pair in pairs}
    holding: dict[int, set[int]] = {}
    for basket, member in zip(baskets, members, strict=True):
        if member < 0:
            continue
        for item in basket:
            holding.setdefault(item, set()).add(member)
        for a, b in pairs:
            if a in basket and b in basket:
                both[(a, b)].add(member)
    return [len(both[p]) for p in pairs], [len(holding.get(p[0], set())) for p in pairs]


def test_member_counts_equal_a_basket_by_basket_count() -> None:
    rng = random.Random(11)
    baskets = _random_baskets(5, 3000, 25)
    members = [rng.choice([-1, *range(150)]) for _ in baskets]
    matrix = basket_matrix_build(*_flatten(baskets))
    table = rules_from_matrix(matrix.matrix, matrix.product_ids, min_pair_count=1)
    columns = (
        np.searchsorted(matrix.product_ids, table.antecedent),
        np.searchsorted(matrix.product_ids, table.consequent),
    )
    # Row i of the matrix is basket id i (ids are 0..n-1, all non-empty here).
    row_member = np.array(members)[matrix.basket_ids]
    both, holding = member_counts(matrix.matrix, row_member, *columns, chunk_baskets=97)
    pairs = list(zip(table.antecedent.tolist(), table.consequent.tolist(), strict=True))
    expected_both, expected_holding = _members_reference(
        [baskets[i] for i in matrix.basket_ids], row_member.tolist(), pairs
    )
    assert both.tolist() == expected_both
    assert holding.tolist() == expected_holding
    assert (both <= table.pair_count).all()


def test_wilson_lower_bound_ranks_evidence_over_a_lucky_few() -> None:
    bounds = wilson_lower_bound(np.array([2, 23, 5, 0]), np.array([2, 31, 5, 0]))
    # 2 of 2 (100 %) and 5 of 5 rank below 23 of 31 (74 %); nothing known → 0.
    assert bounds[1] > bounds[2] > bounds[0] > 0
    assert bounds[3] == 0
    # Wilson by hand for 23 of 31, z = 1.96: (p + z²/2n − z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n).
    p, n, z = 23 / 31, 31, 1.96
    by_hand = (p + z * z / (2 * n) - z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (
        1 + z * z / n
    )
    assert bounds[1] == pytest.approx(by_hand, abs=1e-12)
    assert bounds[1] == pytest.approx(0.5675, abs=1e-4)


def test_owner_rules_need_enough_members_and_rank_by_the_lower_bound(
    db: None, settings: object
) -> None:
    """One household's habit (8 baskets of 牛奶+面包, lift high) is never shown with a minimum
    of 5 members; 23 of 31 members ranks above 5 of 5 members (Wilson), though 5 of 5 has
    the higher confidence."""
    from apps.catalog.selectors import store_rules
    from tests.factories import MemberFactory

    settings.RULES_MIN_MEMBERS = 5
    store = StoreFactory()
    names = ["啤酒", "花生", "酱油", "醋", "牛奶", "面包", "水"]
    beer, peanuts, soy, vinegar, milk, bread, water = (ProductFactory(name=n) for n in names)
    members = [MemberFactory(home_store=store) for _ in range(40)]
    baskets, who = [], []
    for member in members[:31]:  # 31 members buy beer; 23 of them with peanuts
        baskets.append([beer, peanuts] if len(who) < 23 else [beer, water])
        who.append(member)
    for member in members[31:36]:  # 5 of 5 buy soy sauce with vinegar
        baskets.append([soy, vinegar])
        who.append(member)
    for _ in range(8):  # one household, eight baskets
        baskets.append([milk, bread])
        who.append(members[39])
    baskets += [[water]] * 40
    who += [None] * 40
    orders_bulk_create(
        store=store,
        baskets=baskets,
        members=who,
        placed_at=local_datetime(timezone.localdate() - dt.timedelta(days=1)),
    )
    run_settings = decision_settings_get()
    run_settings.rules_min_pair_count = 1
    run_settings.save()
    co_purchase_rules_compute(scopes=(RuleScope.STORE,))

    milk_bread = CoPurchaseRule.objects.get(store=store, antecedent=milk, consequent=bread)
    assert (milk_bread.pair_count, milk_bread.member_count) == (8, 1)
    scope, rules = store_rules(store=store)
    shown = [(r.antecedent_id, r.consequent_id) for r in rules]
    assert scope == "store"
    assert (milk.pk, bread.pk) not in shown
    assert (bread.pk, milk.pk) not in shown
    assert all(r.member_count >= 5 for r in rules)
    assert shown.index((beer.pk, peanuts.pk)) < shown.index((soy.pk, vinegar.pk))
    beer_peanuts = rules[shown.index((beer.pk, peanuts.pk))]
    assert (beer_peanuts.member_count, beer_peanuts.antecedent_member_count) == (23, 31)
    with override("en"):
        assert beer_peanuts.evidence() == "23 of 31 customers"

    settings.RULES_MIN_MEMBERS = 1
    _scope, rules = store_rules(store=store)
    assert (milk.pk, bread.pk) in [(r.antecedent_id, r.consequent_id) for r in rules]
