"""The decision engine's sources: the nightly task hands the real planned promotions and
supplier terms down to the forecasts and lists; without sources the engine plans no promotion
and applies the settings' defaults."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

from apps.catalog.analytics import forecast as fc
from apps.catalog.models import DailyListEntry, DemandForecast, ListKind
from apps.catalog.services import forecasts
from apps.catalog.services.nightly import decisions_run
from apps.catalog.services.sources import (
    NO_SOURCES,
    ON_ORDER_COLUMNS,
    SUPPLIER_TERMS_COLUMNS,
    PlanningSources,
)
from apps.catalog.sources import planning_sources
from apps.catalog.tasks import decisions_nightly_task
from apps.procurement.models import PurchaseOrderLine
from apps.procurement.selectors import purchase_orders as purchase_order_selectors
from apps.procurement.selectors import suppliers as procurement_selectors
from apps.procurement.services.consolidation import purchase_orders_consolidate
from tests.campaigns.factories import PromotionFactory
from tests.catalog.decision_fixtures import decision_world
from tests.factories import SupplierProductFactory
from tests.procurement.factories import supply_order


@pytest.fixture
def world(db: None) -> dict:
    """The known network, a preferred supplier selling blueberries and baby food in packs of 6
    with a minimum order of 12, and blueberries on promotion in two and three days."""
    world = decision_world()
    products = world["products"]
    for product in (products["blueberry"], products["baby_food"]):
        SupplierProductFactory(product=product, lead_time_days=3, pack_size=6, min_order_qty=12)
    PromotionFactory(
        product=products["blueberry"],
        starts_on=world["today"] + dt.timedelta(days=2),
        ends_on=world["today"] + dt.timedelta(days=3),
    )
    return world


def _terms(store: object, product: object) -> tuple[int, int, int]:
    row = DemandForecast.objects.get(store=store, product=product)
    return row.lead_time_days, row.pack_size, row.min_order_qty


def _trial_order(store: object, product: object) -> int:
    return DailyListEntry.objects.get(
        store=store, product=product, list_kind=ListKind.NEW
    ).suggested_qty


def test_the_nightly_task_passes_the_real_promotions_and_supplier_terms(
    world: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_a = world["stores"][0]
    products = world["products"]
    # Record the panels the night loads (the real loader runs; nothing is replaced).
    panels: list[fc.Panel] = []
    load = forecasts.sales_panel_load

    def recorded(**arguments: object) -> tuple[fc.Panel, object]:
        panel, series = load(**arguments)
        panels.append(panel)
        return panel, series

    monkeypatch.setattr(forecasts, "sales_panel_load", recorded)

    assert decisions_nightly_task(world["today"].isoformat()) is not None

    assert _terms(store_a, products["blueberry"]) == (3, 6, 12)
    forecast = DemandForecast.objects.get(store=store_a, product=products["blueberry"])
    # The supplier's lead time sets the cover (3 days + the review period); its pack and
    # minimum are kept as context and left to the consolidated line: the store is suggested
    # its own need in units (from the stored figures, rounded to 3 decimals).
    cover = forecast.lead_time_days + forecast.review_period_days
    need = sum(forecast.daily[:cover]) + forecast.safety_stock - forecast.on_hand
    assert need - 0.01 <= forecast.suggested_qty < need + 1.01
    assert 0 < forecast.suggested_qty
    # Baby food is sold nowhere: a trial of one unit, not the supplier's minimum of 12.
    assert _trial_order(store_a, products["baby_food"]) == 1
    chunk = panels[-1]  # the stores' forecast panel, after the backtest and training panels
    assert chunk.first_day == world["today"] - dt.timedelta(days=forecasts.FEATURE_DAYS)
    row = chunk.product_ids.tolist().index(products["blueberry"].pk)
    assert chunk.store_ids[row] == store_a.pk
    on = np.flatnonzero(chunk.promotion[row]).tolist()
    assert on == [forecasts.FEATURE_DAYS + 2, forecasts.FEATURE_DAYS + 3]
    assert all(panel.promotion is not None for panel in panels)

    # The same night without sources: packs of 1, no promotion.
    panels.clear()
    decisions_run(day=world["today"], force=True)
    assert _terms(store_a, products["blueberry"])[1:] == (1, 1)
    assert _trial_order(store_a, products["baby_food"]) == 1
    assert panels
    assert all(panel.promotion is None for panel in panels)


def test_no_sources_plan_nothing_and_know_no_supplier() -> None:
    grid = NO_SOURCES.promotion_grid(
        store_ids=np.array([1]), product_ids=np.array([2]), first_day=dt.date(2026, 6, 1), days=3
    )
    assert grid is None
    terms = NO_SOURCES.supplier_terms(product_ids=[1, 2])
    assert terms.empty
    assert list(terms.columns) == SUPPLIER_TERMS_COLUMNS


def test_procurement_supplier_terms_have_the_columns_the_engine_reads(db: None) -> None:
    assert procurement_selectors.SUPPLIER_TERMS_COLUMNS == SUPPLIER_TERMS_COLUMNS
    offer = SupplierProductFactory(pack_size=6, min_order_qty=12)
    terms = planning_sources().supplier_terms(product_ids=[offer.product_id])
    assert terms.to_dict("records") == [
        {
            "product_id": offer.product_id,
            "lead_time_days": 1,
            "pack_size": 6,
            "min_order_qty": 12,
        }
    ]


def test_units_on_order_are_subtracted_from_the_suggested_quantity(world: dict) -> None:
    """What suppliers will deliver counts like stock: the same night with 40 blueberries on
    order at store A suggests 40 fewer, and stores it."""
    store_a = world["stores"][0]
    blueberry = world["products"]["blueberry"]
    asked: list[tuple[list[int], dt.date]] = []

    def forty_on_order(*, product_ids: list[int], today: dt.date) -> pd.DataFrame:
        asked.append((product_ids, today))
        return pd.DataFrame(
            [{"store_id": store_a.pk, "product_id": blueberry.pk, "on_order": 40}],
            columns=ON_ORDER_COLUMNS,
        )

    with_nothing = PlanningSources(
        promotion_grid=NO_SOURCES.promotion_grid, supplier_terms=NO_SOURCES.supplier_terms
    )
    decisions_run(day=world["today"], force=True, sources=with_nothing)
    before = DemandForecast.objects.get(store=store_a, product=blueberry)
    others = DemandForecast.objects.exclude(store=store_a).values_list("pk", "suggested_qty")
    others_before = dict(others)
    assert before.on_order == 0
    assert before.suggested_qty > 0

    decisions_run(
        day=world["today"],
        force=True,
        sources=dataclasses.replace(with_nothing, on_order=forty_on_order),
    )
    after = DemandForecast.objects.get(store=store_a, product=blueberry)
    assert after.on_order == 40
    assert after.suggested_qty == max(0, before.suggested_qty - 40)
    assert dict(others) == others_before
    assert asked
    assert all(today == world["today"] for _ids, today in asked)


def test_a_pre_order_on_order_does_not_lower_the_suggestion_for_the_shelf(world: dict) -> None:
    """Chapter 6's case: 40 blueberries pre-ordered at store A (以销定产, the orders took no
    stock) are on an open purchase order. They come for the members, who take them off the
    shelf again, so the night suggests as many for the shelf as without them, less only the
    2 shelf units of the rounding surplus (40 ordered as 42 in packs of 6)."""
    store_a = world["stores"][0]
    blueberry = world["products"]["blueberry"]
    supply_order(store=store_a, lines=[(blueberry, 40)])
    purchase_orders_consolidate(cutoff=timezone.now().replace(microsecond=0))
    line = PurchaseOrderLine.objects.get(product=blueberry)
    assert (line.demanded_quantity, line.ordered_quantity) == (40, 42)
    with_nothing = PlanningSources(
        promotion_grid=NO_SOURCES.promotion_grid, supplier_terms=NO_SOURCES.supplier_terms
    )
    decisions_run(day=world["today"], force=True, sources=with_nothing)
    before = DemandForecast.objects.get(store=store_a, product=blueberry)
    assert before.suggested_qty > 2

    real_on_order = planning_sources().on_order
    decisions_run(
        day=world["today"],
        force=True,
        sources=dataclasses.replace(with_nothing, on_order=real_on_order),
    )
    after = DemandForecast.objects.get(store=store_a, product=blueberry)
    assert after.on_order == 2
    assert after.suggested_qty == before.suggested_qty - 2


def test_procurement_on_order_has_the_columns_the_engine_reads(db: None) -> None:
    assert ON_ORDER_COLUMNS == purchase_order_selectors.ON_ORDER_COLUMNS
    empty = planning_sources().on_order(product_ids=[1], today=dt.date(2026, 6, 1))
    assert list(empty.columns) == ON_ORDER_COLUMNS
    assert empty.empty
    assert NO_SOURCES.on_order(product_ids=[1], today=dt.date(2026, 6, 1)).empty
