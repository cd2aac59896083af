"""The learned ranker for next-product suggestions (`analytics.ranker`): it learns a planted
repurchase rhythm that the blend and "buy again" miss, its training never sees the evaluated
basket, members with little history fall back to the blend, and the nightly ranking is stored
and served."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

from apps.catalog.analytics.ranker import (
    MIN_HISTORY_BASKETS,
    ranked_top_k,
    ranker_evaluation_score,
    ranker_evaluation_top_k,
    ranking_serve,
)
from apps.catalog.analytics.suggestions import evaluation_setup
from apps.catalog.models import MemberSuggestion, ProductRepurchaseInterval
from apps.catalog.selectors import member_next_products
from apps.catalog.services.nightly import decisions_run
from apps.catalog.services.suggestions import (
    member_suggestions_rank,
    member_suggestions_replace,
    suggestions_evaluate,
)
from apps.stores.models import Store
from tests.catalog.decision_fixtures import local_datetime, orders_bulk_create
from tests.factories import MemberFactory, ProductFactory, StoreFactory

START = np.datetime64("2025-01-06T10:00")


def _fortnightly_buyers(seed: int, members: int = 160, weeks: int = 30) -> dict[str, np.ndarray]:
    """Weekly baskets; every basket holds two of ten staples (90–99, 20 % each), and member m
    buys their product m % 20 every other week (even members in even weeks, odd members in
    odd weeks): every 14 days, never twice running. Buy again (and the blend) rank that
    product first always; after a basket holding it, it is not due and never in the next."""
    rng = random.Random(seed)
    order_ids, times, member_ids, products = [], [], [], []
    order = 0
    for member in range(members):
        for week in range(weeks):
            order += 1
            basket = set(rng.sample(range(90, 100), k=2))
            if week % 2 == member % 2:
                basket.add(member % 20)
            for product in sorted(basket):
                order_ids.append(order)
                times.append(START + np.timedelta64(7 * week, "D"))
                member_ids.append(member)
                products.append(product)
    return {
        "order_ids": np.array(order_ids),
        "order_times": np.array(times),
        "member_ids": np.array(member_ids),
        "product_ids": np.array(products),
        "store_ids": np.zeros(len(order_ids), dtype=np.int64),
    }


def _served(data: dict[str, np.ndarray], weeks: int = 30):
    return ranking_serve(
        **data, as_of=START + np.timedelta64(7 * weeks, "D"), top=3, min_pair_count=2
    )


def test_the_ranker_suggests_a_product_when_it_is_due_not_right_after_buying_it() -> None:
    ranking = _served(_fortnightly_buyers(3))
    assert ranking is not None
    first = ranking.product_ids[ranking.ranks == 1]
    ranked_members = ranking.member_ids[ranking.ranks == 1]
    # The last week (29) is odd: odd members bought their product then (not due), even
    # members bought it 14 days before (due).
    due = ranked_members % 2 == 0
    assert due.sum() == 80
    # A fitted model on random staples: all but a few due members (one, for this seed) get
    # their product first; no member who just bought theirs gets any such product first.
    assert (first[due] == ranked_members[due] % 20).mean() >= 0.95
    assert not np.isin(first[~due], np.arange(20)).any()


def test_the_ranker_beats_buy_again_and_the_blend_on_the_planted_rhythm() -> None:
    # Evaluated on each member's last basket (week 29): odd members' own product is due
    # there. Top 1: buy again offers the own product to everyone (a hit for half); the
    # ranker to the due half, a staple (a hit one time in five) to the others: ≈ 0.6.
    setup = evaluation_setup(**_fortnightly_buyers(4), k=1, min_pair_count=2)
    evaluation = ranker_evaluation_score(setup)
    blend = evaluation.extra["blend"]
    assert evaluation.blend.name == "ranker (served)"
    assert evaluation.blend.hit_rate > blend.hit_rate + 0.2
    assert evaluation.blend.hit_rate > evaluation.buy_again.hit_rate + 0.05
    lines = evaluation.lines()
    assert [line.split("  ")[0] for line in lines[1:5]] == [
        "ranker (served)",
        "most popular",
        "buy again",
        "blend (fallback)",
    ]
    assert lines[5].startswith("ranker vs buy again:")


def test_the_evaluated_basket_reaches_nothing_the_ranker_learns_from() -> None:
    data = _fortnightly_buyers(5)
    changed = {name: values.copy() for name, values in data.items()}
    # Each member's last basket (week 29) holds something else: product 50, sold nowhere else.
    last = changed["order_times"] == START + np.timedelta64(7 * 29, "D")
    changed["product_ids"][last] = 50
    results = []
    for variant in (data, changed):
        setup = evaluation_setup(**variant, k=3, min_pair_count=2)
        assert not np.isin(setup.training.basket_ids, variant["order_ids"][last]).any()
        served, _blend, ranker = ranker_evaluation_top_k(setup)
        assert ranker is not None
        results.append((setup.catalog[served], ranker.training_rows, ranker.positives))
    (served_a, rows_a, positives_a), (served_b, rows_b, positives_b) = results
    assert (rows_a, positives_a) == (rows_b, positives_b)
    assert np.array_equal(served_a, served_b)
    assert 50 not in served_b


def test_no_parts_held_out_basket_reaches_the_fit_when_every_last_basket_is_held_out() -> None:
    # The real-panel bench evaluates one part of the members (even ids) with the ranker fitted
    # on every member's baskets, as the nightly run; with every member's last basket held out,
    # rewriting the last baskets of both parts changes neither the fit nor any suggestion.
    data = _fortnightly_buyers(5)
    members = np.unique(data["member_ids"])
    even = members[members % 2 == 0]
    last = data["order_times"] == START + np.timedelta64(7 * 29, "D")
    changed = {name: values.copy() for name, values in data.items()}
    changed["product_ids"][last] = 50
    results = []
    for variant in (data, changed):
        setup = evaluation_setup(
            **variant, k=3, min_pair_count=2, evaluate_members=even, hold_out_members=members
        )
        assert np.array_equal(setup.members, even)
        assert not np.isin(setup.training.basket_ids, variant["order_ids"][last]).any()
        # Every member's earlier baskets are still fitted on, the odd part's included.
        assert np.array_equal(np.unique(setup.training.member_ids), members)
        served, _blend, ranker = ranker_evaluation_top_k(setup)
        assert ranker is not None
        results.append((setup.catalog[served], ranker.training_rows, ranker.positives))
    assert results[0][1:] == results[1][1:]
    assert np.array_equal(results[0][0], results[1][0])
    # Without it (the evaluated part's baskets held out only) the other part's last baskets
    # are fitted on: rewriting them changes the fit.
    fits = []
    for variant in (data, changed):
        setup = evaluation_setup(**variant, k=3, min_pair_count=2, evaluate_members=even)
        _served, _blend, ranker = ranker_evaluation_top_k(setup)
        fits.append((ranker.training_rows, ranker.positives))
    assert fits[0] != fits[1]


def test_the_ranker_can_be_fitted_on_some_members_only() -> None:
    # `train_members`: only their baskets are targets. Every product here is a candidate (30
    # products, all among the store's 30 most popular), so the fit's bought candidates are
    # exactly the lines of the target baskets: weeks 25–28 (29 is held out), 4 snapshots.
    data = _fortnightly_buyers(7)
    members = np.unique(data["member_ids"])
    even = members[members % 2 == 0]
    setup = evaluation_setup(
        **data, k=3, min_pair_count=2, evaluate_members=even, hold_out_members=members
    )
    week = (data["order_times"] - START) // np.timedelta64(7, "D")
    targets = (week >= 25) & (week <= 28)
    _served, _blend, half = ranker_evaluation_top_k(setup, train_members=even)
    _served, _blend, every = ranker_evaluation_top_k(setup)
    assert half.positives == int((targets & (data["member_ids"] % 2 == 0)).sum())
    assert every.positives == int(targets.sum())


def test_members_with_too_little_history_get_the_blend() -> None:
    data = _fortnightly_buyers(6)
    # Member 1000: one basket only.
    for name, value in (
        ("order_ids", 10**6),
        ("order_times", START),
        ("member_ids", 1000),
        ("product_ids", 95),
        ("store_ids", 0),
    ):
        data[name] = np.r_[data[name], np.array([value]).astype(data[name].dtype)]
    ranking = _served(data)
    assert ranking is not None
    assert 1000 not in ranking.member_ids
    assert MIN_HISTORY_BASKETS == 2
    # The fallback's order fills rows the ranker has nothing (allowed) for.
    import scipy.sparse as sp

    scores = sp.csr_matrix(np.array([[0.0, 0.9, 0.5], [0.0, 0.0, 0.0]]))
    fallback = np.array([[2, 0], [1, 2]])
    assert ranked_top_k(scores, 2, fallback=fallback).tolist() == [[1, 2], [1, 2]]
    assert ranked_top_k(scores, 3, fallback=np.array([[0, 2, 1], [1, 2, 0]])).tolist() == [
        [1, 2, 0],
        [1, 2, 0],
    ]


def test_too_little_history_trains_no_ranker() -> None:
    assert _served(_fortnightly_buyers(7, members=3, weeks=4), weeks=4) is None


@pytest.fixture
def rhythm_db(db: None) -> dict:
    """The fortnightly rhythm as orders of one store: 40 members, 20 weekly baskets ending a
    week before today."""
    store = StoreFactory()
    catalog = {number: ProductFactory() for number in list(range(20)) + list(range(90, 100))}
    members = [MemberFactory(home_store=store) for _ in range(40)]
    rng = random.Random(8)
    today = timezone.localdate()
    baskets, placed, who = [], [], []
    for number, member in enumerate(members):
        for week in range(20):
            basket = [catalog[p] for p in rng.sample(range(90, 100), k=2)]
            if week % 2 == number % 2:
                basket.append(catalog[number % 20])
            baskets.append(basket)
            placed.append(local_datetime(today - dt.timedelta(days=7 * (20 - week)), 10))
            who.append(member)
    orders_bulk_create(store=store, baskets=baskets, placed_at=placed, members=who)
    return {"store": store, "catalog": catalog, "members": members}


def test_the_nightly_ranking_is_stored_served_and_idempotent(rhythm_db: dict) -> None:
    first = member_suggestions_rank()
    assert first["members"] == 40
    rows = list(MemberSuggestion.objects.values_list("member_id", "product_id", "rank", "score"))
    assert first["rows"] == len(rows) > 0
    assert member_suggestions_rank() == first
    assert sorted(rows) == sorted(
        MemberSuggestion.objects.values_list("member_id", "product_id", "rank", "score")
    )
    catalog, store = rhythm_db["catalog"], rhythm_db["store"]
    for number, member in enumerate(rhythm_db["members"][:4]):
        stored = list(
            MemberSuggestion.objects.filter(member_id=member.pk)
            .order_by("rank")
            .values_list("product_id", flat=True)
        )
        offers = member_next_products(member_id=member.pk, store=store, limit=3)
        assert [offer.product.pk for offer in offers] == stored[:3]
        # Week 19 (the last) is odd: even members' product is due, odd members' is not.
        own = catalog[number % 20].pk
        assert (stored[0] == own) == (number % 2 == 0)


@pytest.mark.django_db
def test_the_nightly_ranking_stores_each_products_repurchase_interval() -> None:
    store = StoreFactory()
    rebought, once = ProductFactory(), ProductFactory()
    first, second, third = (MemberFactory() for _ in range(3))
    today = timezone.localdate()

    def ago(days: int, hour: int = 10) -> dt.datetime:
        return local_datetime(today - dt.timedelta(days=days), hour)

    # `rebought`: every 10 days for the first member, 4 days apart for the second (two
    # baskets on one day count once), once for the third; `once`: nobody bought it twice.
    orders_bulk_create(
        store=store,
        baskets=[[rebought]] * 6 + [[once], [once]],
        placed_at=[ago(30), ago(20), ago(10), ago(8), ago(4), ago(4, 18), ago(3), ago(2)],
        members=[first, first, first, second, second, second, third, first],
    )
    orders_bulk_create(store=store, baskets=[[once]] * 2, placed_at=[ago(9), ago(1)])  # no member
    member_suggestions_rank()
    rows = list(ProductRepurchaseInterval.objects.values_list("product_id", "day", "interval_days"))
    assert rows == [(rebought.pk, today, 7.0)]  # the median of 10 and 4
    member_suggestions_rank()  # a rerun replaces them with the same
    assert (
        list(ProductRepurchaseInterval.objects.values_list("product_id", "day", "interval_days"))
        == rows
    )


def test_a_stale_ranking_is_not_served(rhythm_db: dict) -> None:
    member_suggestions_rank()
    member, store = rhythm_db["members"][1], rhythm_db["store"]
    fresh = [o.product.pk for o in member_next_products(member_id=member.pk, store=store)]
    MemberSuggestion.objects.update(day=timezone.localdate() - dt.timedelta(days=2))
    blend = [o.product.pk for o in member_next_products(member_id=member.pk, store=store)]
    MemberSuggestion.objects.all().delete()
    assert blend == [o.product.pk for o in member_next_products(member_id=member.pk, store=store)]
    assert fresh != blend


def test_the_database_evaluation_serves_the_ranker(rhythm_db: dict) -> None:
    evaluation = suggestions_evaluate(k=1, days=200)
    assert evaluation.members == 40
    assert evaluation.blend.name == "ranker (served)"
    assert "blend" in evaluation.extra


def test_only_a_run_over_the_whole_network_ranks_members(rhythm_db: dict) -> None:
    store = rhythm_db["store"]
    StoreFactory()  # a second open store: a run for the first alone is not the network's
    partial = decisions_run(store_ids=[store.pk], force=True)
    assert partial.stats["counts"]["member_suggestions"] == 0
    assert not MemberSuggestion.objects.exists()
    whole = decisions_run(force=True)
    assert whole.stats["counts"]["member_suggestions"] == MemberSuggestion.objects.count() > 0
    MemberSuggestion.objects.all().delete()
    every = decisions_run(store_ids=list(Store.objects.values_list("pk", flat=True)), force=True)
    assert every.stats["counts"]["member_suggestions"] == MemberSuggestion.objects.count() > 0


def _stored() -> dict[int, set[tuple[int, int, float]]]:
    rows: dict[int, set[tuple[int, int, float]]] = {}
    for member_id, product_id, rank, score in MemberSuggestion.objects.values_list(
        "member_id", "product_id", "rank", "score"
    ):
        rows.setdefault(member_id, set()).add((product_id, rank, score))
    return rows


@pytest.mark.django_db
def test_replacing_in_blocks_of_members_stores_exactly_the_new_rows() -> None:
    """Blocks of 2 members: every member's rows are the new ones, members without new rows
    lose theirs (also below the first and above the last new member), nothing is doubled."""
    product_a, product_b = ProductFactory(), ProductFactory()
    today = timezone.localdate()
    old = [(1, product_a), (5, product_a), (5, product_b), (6, product_b), (9, product_a)]
    old += [(12, product_a), (40, product_b)]
    MemberSuggestion.objects.bulk_create(
        MemberSuggestion(member_id=member, product=product, day=today, rank=1, score=-1.0)
        for member, product in old
    )
    new = pd.DataFrame(
        {
            "member_id": [9, 5, 5, 7, 6, 30],
            "product_id": [product_b.pk, product_b.pk, product_a.pk] + [product_a.pk] * 3,
            "day": today,
            "rank": [1, 1, 2, 1, 1, 1],
            "score": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
        }
    )
    assert member_suggestions_replace(rows=new, members_per_write=2) == 6
    assert _stored() == {
        5: {(product_b.pk, 1, 0.8), (product_a.pk, 2, 0.7)},
        6: {(product_a.pk, 1, 0.5)},
        7: {(product_a.pk, 1, 0.6)},
        9: {(product_b.pk, 1, 0.9)},
        30: {(product_a.pk, 1, 0.4)},
    }
    empty = new.iloc[0:0]
    assert member_suggestions_replace(rows=empty, members_per_write=2) == 0
    assert not MemberSuggestion.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_nightly_ranking_commits_block_by_block_and_readers_see_whole_sets(
    rhythm_db: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The night's replacement holds the write lock per block of members, not for the whole
    table: another connection looking in before each block's write sees the blocks before it
    already new and the rest still old, and every member's set whole (old or new, never a
    mix). The result is the one written in one go."""
    import threading

    from django.db import connection

    from apps.catalog.services import suggestions

    member_suggestions_rank()  # written in one block (40 members < MEMBERS_PER_WRITE)
    new = _stored()
    assert len(new) == 40
    MemberSuggestion.objects.update(score=-1.0)  # yesterday's: same products, other scores
    old = _stored()
    monkeypatch.setattr(suggestions, "MEMBERS_PER_WRITE", 10)
    seen: list[tuple[int, int, int]] = []  # per look: members new, old, mixed or missing

    def look() -> None:
        try:
            stored = _stored()
            fresh = sum(stored.get(member) == rows for member, rows in new.items())
            stale = sum(stored.get(member) == rows for member, rows in old.items())
            seen.append((fresh, stale, len(new) - fresh - stale))
        finally:
            connection.close()

    def before_each_block(execute, sql, params, many, context):
        if sql.startswith('DELETE FROM "catalog_membersuggestion"'):
            reader = threading.Thread(target=look)
            reader.start()
            reader.join(timeout=30)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(before_each_block):
        member_suggestions_rank()
    assert seen == [(0, 40, 0), (10, 30, 0), (20, 20, 0), (30, 10, 0)]
    assert _stored() == new


def test_the_nightly_ranking_beats_its_heartbeat_between_steps_and_blocks(
    rhythm_db: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The nightly run renews its lease through `heartbeat` (docs/decisions.md): the ranking
    calls it after loading the lines, after the intervals, after the fit and ranking, and
    after every block of members it writes — a network whose ranking outlasts the lease is
    not taken for dead. Each beat sees the blocks before it written and the rest not yet."""
    from apps.catalog.services import suggestions

    monkeypatch.setattr(suggestions, "MEMBERS_PER_WRITE", 10)  # 40 members: 4 blocks
    beats: list[int] = []
    ranked = member_suggestions_rank(
        heartbeat=lambda: beats.append(
            MemberSuggestion.objects.values("member_id").distinct().count()
        )
    )
    assert ranked["members"] == 40
    assert beats == [0, 0, 0, 10, 20, 30, 40]
