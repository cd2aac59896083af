"""Suggested order quantity: the arithmetic, exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from apps.catalog.analytics.ordering import (
    order_quantities,
    order_quantity,
    service_level_z,
    units_needed,
)

Z95 = 1.6448536269514722


def test_z_for_common_service_levels() -> None:
    assert service_level_z(0.5) == 0.0
    assert service_level_z(0.95) == Z95
    assert service_level_z(0.98) == 2.0537489106318225


def test_forecast_plus_safety_minus_stock_rounded_up_to_whole_units() -> None:
    suggestion = order_quantity(
        daily_forecast=[2.0] * 14,
        lead_time_days=2,
        review_period_days=1,
        sigma_daily=1.5,
        service_level=0.95,
        on_hand=3,
        on_order=0,
    )
    assert suggestion.cover_days == 3
    assert suggestion.demand == 6.0
    assert suggestion.safety_stock == Z95 * 1.5 * math.sqrt(3)
    assert suggestion.need == 6.0 + Z95 * 1.5 * math.sqrt(3) - 3
    # need 7.27 → 8 units: the store's own need, no supplier minimum or pack per store.
    assert suggestion.quantity == 8
    assert suggestion.shelf_demand is None


def test_enough_stock_means_nothing_to_order_never_a_negative_quantity() -> None:
    suggestion = order_quantity(
        daily_forecast=[2.0] * 14,
        lead_time_days=2,
        review_period_days=1,
        sigma_daily=1.5,
        service_level=0.95,
        on_hand=100,
    )
    assert suggestion.need < 0
    assert suggestion.quantity == 0


def test_on_order_counts_like_stock() -> None:
    common = {
        "daily_forecast": [4.0] * 14,
        "lead_time_days": 1,
        "review_period_days": 1,
        "sigma_daily": 0.0,
        "service_level": 0.95,
    }
    assert order_quantity(**common, on_hand=2).quantity == 6
    assert order_quantity(**common, on_hand=2, on_order=5).quantity == 1
    assert order_quantity(**common, on_hand=2, on_order=6).quantity == 0


def test_cover_beyond_the_forecast_extends_with_the_last_week_mean() -> None:
    forecast = [1.0] * 7 + [3.0] * 7
    suggestion = order_quantity(
        daily_forecast=forecast,
        lead_time_days=14,
        review_period_days=3,
        sigma_daily=0.0,
        service_level=0.95,
        on_hand=0,
    )
    assert suggestion.demand == 7.0 + 21.0 + 3 * 3.0
    assert suggestion.quantity == 37


def test_uneven_days_sum_only_the_cover_period() -> None:
    forecast = [5.0, 1.0, 2.0, 10.0] + [0.0] * 10
    suggestion = order_quantity(
        daily_forecast=forecast,
        lead_time_days=2,
        review_period_days=1,
        sigma_daily=0.0,
        service_level=0.95,
        on_hand=1,
    )
    assert suggestion.demand == 8.0
    assert suggestion.quantity == 7


def test_float_noise_does_not_add_a_unit() -> None:
    # 1.1 + 1.3 + 0.6 is 3.0000000000000004 in floating point: still 3 units.
    suggestion = order_quantity(
        daily_forecast=[1.1, 1.3, 0.6] + [0.0] * 11,
        lead_time_days=2,
        review_period_days=1,
        sigma_daily=0.0,
        service_level=0.95,
        on_hand=0,
    )
    assert suggestion.demand == 3.0000000000000004
    assert suggestion.quantity == 3


@pytest.mark.parametrize(
    ("need", "expected"),
    [(0.0, 0), (-4.2, 0), (1e-12, 0), (0.2, 1), (1.0, 1), (5.01, 6), (11.0, 11), (24.5, 25)],
)
def test_a_need_is_rounded_up_to_whole_units_only(need: float, expected: int) -> None:
    assert units_needed(need) == expected


def test_the_supplier_minimum_and_pack_are_not_the_stores_business() -> None:
    # The old rule turned a need of 2 units into a minimum order of 30 per store.
    with pytest.raises(TypeError, match="min_order_qty"):
        order_quantity(  # type: ignore[call-arg]
            daily_forecast=[1.0] * 14,
            lead_time_days=1,
            review_period_days=1,
            sigma_daily=0.0,
            service_level=0.95,
            on_hand=0,
            min_order_qty=30,
        )


def _raspberries(**overrides: object) -> dict:
    """A slow perishable as the demo's 树莓 125g: shelf life 5 days, lead time 3 days, 0.02 sold
    a day, a category σ well above its demand."""
    return {
        "daily_forecast": [0.02] * 14,
        "lead_time_days": 3,
        "review_period_days": 1,
        "sigma_daily": 0.6,
        "service_level": 0.95,
        "on_hand": 0,
        "shelf_life_days": 5,
        **overrides,
    }


def test_a_slow_perishable_is_not_ordered_at_all_when_it_would_spoil_unsold() -> None:
    suggestion = order_quantity(**_raspberries())
    # 0.1 units sell in its 5 days on the shelf: the safety stock (1.97 uncapped) is capped
    # there, and not even one box would sell before it spoils.
    assert suggestion.shelf_demand == pytest.approx(0.1)
    assert suggestion.safety_stock == suggestion.shelf_demand
    assert suggestion.quantity == 0
    # Without a shelf life the same numbers ask for 3 units: the safety stock alone.
    assert order_quantity(**_raspberries(shelf_life_days=None)).quantity == 3


@pytest.mark.parametrize(
    ("daily", "shelf_life", "expected"),
    [
        (0.2, 3, 0),  # 定胜糕: 0.6 sell in its 3 days, nothing ordered
        (0.4, 3, 1),  # 1.2 sell: one unit, never a pack
        (0.1, 4, 0),  # 丹东草莓 at 0.2 per 2 days
    ],
)
def test_a_slow_perishable_gets_at_most_what_sells_within_its_shelf_life(
    daily: float, shelf_life: int, expected: int
) -> None:
    suggestion = order_quantity(
        **_raspberries(daily_forecast=[daily] * 14, shelf_life_days=shelf_life, sigma_daily=1.0)
    )
    assert suggestion.quantity == expected


def test_a_perishable_order_is_capped_at_the_demand_over_its_shelf_life_from_delivery() -> None:
    # 10 a day, lead time 2, review period 7 (a weekly order): 90 units cover the period, but
    # milk keeping 3 days sells only 30 after it arrives.
    common = {
        "daily_forecast": [10.0] * 14,
        "lead_time_days": 2,
        "review_period_days": 7,
        "sigma_daily": 0.0,
        "service_level": 0.95,
    }
    assert order_quantity(**common, on_hand=0).quantity == 90
    assert order_quantity(**common, on_hand=0, shelf_life_days=3).quantity == 30
    # Stock on hand sells first during the lead time (20 units): only what is left when the
    # delivery comes (25 of 45) takes shelf-life demand away.
    assert order_quantity(**common, on_hand=15, shelf_life_days=3).quantity == 30
    assert order_quantity(**common, on_hand=30, on_order=15, shelf_life_days=3).quantity == 5
    assert order_quantity(**common, on_hand=60, shelf_life_days=3).quantity == 0
    # A long shelf life changes nothing.
    assert order_quantity(**common, on_hand=0, shelf_life_days=30).quantity == 90
    # A shelf life of 0 days is sold the day it arrives.
    assert order_quantity(**common, on_hand=0, shelf_life_days=0).quantity == 10


def test_the_safety_stock_never_exceeds_the_demand_over_the_shelf_life() -> None:
    suggestion = order_quantity(
        daily_forecast=[1.0] * 14,
        lead_time_days=1,
        review_period_days=1,
        sigma_daily=3.0,
        service_level=0.95,
        on_hand=0,
        shelf_life_days=2,
    )
    assert suggestion.shelf_demand == 2.0
    assert suggestion.safety_stock == 2.0  # not 1.645 × 3 × √2 = 6.98
    assert suggestion.need == 4.0
    assert suggestion.quantity == 2  # ⌈4⌉ capped at the 2 that sell in 2 days


def test_bad_inputs_are_refused() -> None:
    common = {
        "daily_forecast": [1.0] * 14,
        "lead_time_days": 1,
        "review_period_days": 1,
        "sigma_daily": 1.0,
        "on_hand": 0,
    }
    with pytest.raises(ValueError, match="service level"):
        order_quantity(**common, service_level=1.0)
    with pytest.raises(ValueError, match="shelf life"):
        order_quantity(**common, service_level=0.95, shelf_life_days=-1)
    with pytest.raises(ValueError, match="negative"):
        order_quantity(**{**common, "sigma_daily": -1.0}, service_level=0.95)


def test_vectorised_form_gives_exactly_the_scalar_numbers() -> None:
    rng = np.random.default_rng(2)
    count = 300
    forecast = np.round(rng.gamma(2.0, 2.0, size=(count, 14)), 3)
    lead = rng.integers(0, 20, size=count)
    sigma = np.round(rng.gamma(1.0, 1.0, size=count), 4)
    on_hand = rng.integers(0, 60, size=count)
    on_order = rng.integers(0, 5, size=count)
    # Half keep (NaN), the others from 0 days to beyond the forecast's horizon.
    shelf_life = np.where(
        rng.random(size=count) < 0.5, np.nan, rng.integers(0, 30, size=count).astype(float)
    )
    demand, safety, quantity = order_quantities(
        daily_forecast=forecast,
        lead_time_days=lead,
        review_period_days=2,
        sigma_daily=sigma,
        service_level=0.9,
        on_hand=on_hand,
        on_order=on_order,
        shelf_life_days=shelf_life,
    )
    for i in range(count):
        expected = order_quantity(
            daily_forecast=forecast[i],
            lead_time_days=int(lead[i]),
            review_period_days=2,
            sigma_daily=float(sigma[i]),
            service_level=0.9,
            on_hand=int(on_hand[i]),
            on_order=int(on_order[i]),
            shelf_life_days=None if np.isnan(shelf_life[i]) else int(shelf_life[i]),
        )
        assert demand[i] == expected.demand
        assert safety[i] == expected.safety_stock
        assert quantity[i] == expected.quantity
    assert (quantity >= 0).all()
    assert 0 < (quantity == 0).sum() < count
    # The shelf-life cap bites on some series and not on others.
    perishable = ~np.isnan(shelf_life)
    uncapped = order_quantities(
        daily_forecast=forecast,
        lead_time_days=lead,
        review_period_days=2,
        sigma_daily=sigma,
        service_level=0.9,
        on_hand=on_hand,
        on_order=on_order,
    )[2]
    assert (quantity[~perishable] == uncapped[~perishable]).all()
    assert 0 < (quantity[perishable] < uncapped[perishable]).sum() < perishable.sum()
