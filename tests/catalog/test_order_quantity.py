"""Suggested order quantity: the arithmetic, exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from apps.catalog.analytics.ordering import (
    order_quantities,
    order_quantity,
    round_to_pack,
    service_level_z,
)

Z95 = 1.6448536269514722


def test_z_for_common_service_levels() -> None:
    assert service_level_z(0.5) == 0.0
    assert service_level_z(0.95) == Z95
    assert service_level_z(0.98) == 2.0537489106318225


def test_forecast_plus_safety_minus_stock_rounded_up_to_min_order_then_packs() -> None:
    suggestion = order_quantity(
        daily_forecast=[2.0] * 14,
        lead_time_days=2,
        review_period_days=1,
        sigma_daily=1.5,
        service_level=0.95,
        on_hand=3,
        on_order=0,
        pack_size=6,
        min_order_qty=10,
    )
    assert suggestion.cover_days == 3
    assert suggestion.demand == 6.0
    assert suggestion.safety_stock == Z95 * 1.5 * math.sqrt(3)
    assert suggestion.need == 6.0 + Z95 * 1.5 * math.sqrt(3) - 3
    # need 7.27 → 8 units → minimum order 10 → packs of 6 → 12.
    assert suggestion.quantity == 12


def test_enough_stock_means_nothing_to_order_never_a_negative_quantity() -> None:
    suggestion = order_quantity(
        daily_forecast=[2.0] * 14,
        lead_time_days=2,
        review_period_days=1,
        sigma_daily=1.5,
        service_level=0.95,
        on_hand=100,
        pack_size=6,
        min_order_qty=10,
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
    ("need", "pack", "minimum", "expected"),
    [
        (0.0, 1, 1, 0),
        (-4.2, 6, 10, 0),
        (0.2, 1, 1, 1),
        (1.0, 4, 5, 8),
        (5.0, 5, 5, 5),
        (5.01, 5, 5, 10),
        (11.0, 12, 1, 12),
        (24.0, 12, 1, 24),
        (24.5, 12, 30, 36),
    ],
)
def test_rounding_to_minimum_order_and_pack_size(
    need: float, pack: int, minimum: int, expected: int
) -> None:
    assert round_to_pack(need, pack_size=pack, min_order_qty=minimum) == expected


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
    with pytest.raises(ValueError, match="pack size"):
        order_quantity(**common, service_level=0.95, pack_size=0)
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
    pack = rng.choice([1, 2, 6, 12], size=count)
    minimum = rng.choice([1, 5, 10], size=count)
    demand, safety, quantity = order_quantities(
        daily_forecast=forecast,
        lead_time_days=lead,
        review_period_days=2,
        sigma_daily=sigma,
        service_level=0.9,
        on_hand=on_hand,
        on_order=on_order,
        pack_size=pack,
        min_order_qty=minimum,
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
            pack_size=int(pack[i]),
            min_order_qty=int(minimum[i]),
        )
        assert demand[i] == expected.demand
        assert safety[i] == expected.safety_stock
        assert quantity[i] == expected.quantity
    assert (quantity >= 0).all()
    assert 0 < (quantity == 0).sum() < count
