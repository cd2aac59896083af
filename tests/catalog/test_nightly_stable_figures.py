"""What an owner is shown stays put for the day: a run over a few stores (the demo's login
stores, computed at once) and the whole network's run of the same day give those stores the
same forecasts, order suggestions, lists and insight cards, to the unit."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.catalog.models import (
    DailyListEntry,
    DemandForecast,
    ForecastBacktest,
    ForecastMethod,
    ForecastMethodChoice,
    InsightCard,
)
from apps.catalog.services.nightly import decisions_pools, decisions_run
from tests.catalog.decision_fixtures import decision_world

pytestmark = pytest.mark.django_db


def _served(store) -> dict[str, list[tuple]]:
    return {
        "forecasts": list(
            DemandForecast.objects.filter(store=store)
            .order_by("product_id")
            .values_list("product_id", "method", "daily", "total", "safety_stock", "suggested_qty")
        ),
        "lists": list(
            DailyListEntry.objects.filter(store=store)
            .order_by("list_kind", "rank")
            .values_list("list_kind", "rank", "product_id", "suggested_qty", "velocity")
        ),
        "cards": list(
            InsightCard.objects.filter(store=store)
            .order_by("rank")
            .values_list("product_id", "forecast_total", "stock_qty", "suggested_qty")
        ),
    }


def test_a_second_same_day_run_leaves_the_served_figures_of_a_store_unchanged() -> None:
    world = decision_world()
    store_a, store_b, store_c = world["stores"]
    every = [store_a.pk, store_b.pk, store_c.pk]
    # Serving methods that read across a panel's stores (the demo's backtest picks the model
    # for most categories): the model for fruit, the pooled level for dairy; a fresh backtest,
    # so no run replaces these choices.
    today = world["today"]
    backtest = ForecastBacktest.objects.create(
        first_origin=today,
        last_origin=today,
        origin_count=1,
        horizon_days=14,
        series_count=1,
        created_at=timezone.now(),
    )
    products = world["products"]
    for product, method in (
        (products["blueberry"], ForecastMethod.MODEL),
        (products["milk"], ForecastMethod.POOLED),
    ):
        ForecastMethodChoice.objects.create(
            category=product.category, backtest=backtest, method=method, best_baseline=method
        )
    # Store A first, with the model the whole run trains (as the demo does for its logins).
    decisions_run(day=today, store_ids=[store_a.pk], model_store_ids=every, chunk_size=2)
    first = _served(store_a)
    assert first["forecasts"]
    assert first["cards"]
    # The whole run of the same day (the worker's, sent with `force`) reaches store A again,
    # now with store B in the same chunk.
    run = decisions_run(day=today, chunk_size=2, force=True)
    assert run.stores_done == 3
    assert _served(store_a) == first


def test_pools_are_fixed_blocks_of_the_network_whichever_stores_a_run_computes() -> None:
    network = [1, 2, 3, 4, 5]
    assert decisions_pools(network, chunk_size=2, network=network) == [
        ([1, 2], [1, 2]),
        ([3, 4], [3, 4]),
        ([5], [5]),
    ]
    assert decisions_pools([2, 5], chunk_size=2, network=network) == [
        ([2], [1, 2]),
        ([5], [5]),
    ]
    # A store outside the network (closed) pools with the run's other such stores.
    assert decisions_pools([4, 9, 8], chunk_size=2, network=network) == [
        ([4], [3, 4]),
        ([9, 8], [9, 8]),
    ]
