"""The long-window level features (91 / 182 / 365-day means, exponentially weighted means, the
91-day pooled level, weekday shares, days since the last sale) and the median baselines, each
against a hand computation on a tiny panel; and a planted per-product weekday pattern learned."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from apps.catalog.analytics import forecast as fc

FIRST_DAY = dt.date(2025, 3, 3)  # a Monday


def _panel(sales: np.ndarray, store_ids: list[int], product_ids: list[int]) -> fc.Panel:
    count, days = sales.shape
    return fc.Panel(
        sales=sales,
        first_day=FIRST_DAY,
        store_ids=np.array(store_ids),
        product_ids=np.array(product_ids),
        category_codes=np.zeros(count, dtype=np.int64),
        city_index=np.zeros(count, dtype=np.int64),
        temp_max=np.full((1, days + fc.HORIZON), np.nan),
        precipitation=np.full((1, days + fc.HORIZON), np.nan),
    )


def _column(matrix: np.ndarray, name: str) -> np.ndarray:
    return matrix[:, fc.FEATURES.index(name)]


def test_long_level_features_equal_a_hand_computation() -> None:
    # 120 days; series 0 sells 1 a day for 100 days then nothing for 20; series 1 sells 3 on
    # phase-5 days (d % 7 == 5) and nothing else; series 2 (another store) sells 2 a day.
    days = 120
    a = np.array([1.0 if d < 100 else 0.0 for d in range(days)])
    b = np.array([3.0 if d % 7 == 5 else 0.0 for d in range(days)])
    c = np.full(days, 2.0)
    panel = _panel(np.vstack([a, b, c]), [1, 1, 2], [10, 11, 10])
    origin = days - 1
    matrix, level = fc.features_at(panel, origin, horizon=7)
    per_series = matrix[::7]  # the first horizon row of each series
    # 91 days: days 29..119 → series 0 sold on 71 of them; 182 and 365 days: the 120 there are.
    assert level[0] == pytest.approx(8 / 28)
    assert _column(per_series, "level_91_ratio")[0] == pytest.approx((71 / 91) / (8 / 28))
    assert _column(per_series, "level_182_ratio")[0] == pytest.approx((100 / 120) / (8 / 28))
    assert _column(per_series, "level_365_ratio")[2] == pytest.approx(1.0)
    assert _column(per_series, "log_level_long")[2] == pytest.approx(np.log(2.0), rel=1e-6)
    # Exponentially weighted mean, half-life 14 days, over the 120 days.
    weights = 0.5 ** (np.arange(days - 1, -1, -1) / 14)
    ewm = (a * weights).sum() / weights.sum()
    assert _column(per_series, "ewm_14_ratio")[0] == pytest.approx(ewm / (8 / 28), rel=1e-5)
    # Days since the last sale: series 0 last sold on day 99, series 2 on the origin.
    assert _column(per_series, "days_since_sale").tolist() == [20.0, (origin - 117) * 1.0, 0.0]
    # Pooled over 91 days: store 1's units per day × product 10's share of all units.
    store_1 = (71 + 3 * 13) / 91
    share_10 = (71 + 2 * 91) / (71 + 3 * 13 + 2 * 91)
    pooled = store_1 * share_10
    assert _column(per_series, "pooled_91_ratio")[0] == pytest.approx(pooled / (8 / 28))
    # Weekday shares over the last 13 whole weeks (91 days): product 11 sells on phase 5 only,
    # so the target day of phase 5 has 7 × its mean and the others 0.
    target_phases = (origin + np.arange(1, 8)) % 7
    product_11 = _column(matrix, "product_weekday_91")[7:14]
    assert product_11.tolist() == pytest.approx([7.0 if p == 5 else 0.0 for p in target_phases])
    # Store 2 sells the same every day: a flat profile.
    assert _column(matrix, "store_weekday_91")[14:21].tolist() == pytest.approx([1.0] * 7)


def test_long_level_features_use_the_days_a_short_panel_has() -> None:
    days = 40
    sales = np.vstack([np.arange(days, dtype=float) % 3, np.ones(days)])
    panel = _panel(sales, [1, 1], [10, 11])
    matrix, level = fc.features_at(panel, days - 1, horizon=3)
    own_mean = sales[0].mean()
    assert _column(matrix, "level_91_ratio")[0] == pytest.approx(own_mean / level[0])
    assert _column(matrix, "level_365_ratio")[3] == pytest.approx(1.0)
    assert not np.isnan(matrix).any(axis=0)[fc.FEATURES.index("product_weekday_91")]


def test_median_baselines_equal_a_hand_computation() -> None:
    days = 35
    sales = np.vstack([np.array([0.0, 0.0, 0.0, 5.0] * 9)[:days], np.full(days, 2.6)])
    origin = days - 1
    means = fc.baselines_at(sales, origin, store_ids=np.array([1, 1]))
    medians = fc.median_baselines(sales, origin, means)
    # The 28-day median of series 0 is 0 (21 zero days of 28); of series 1, 2.6.
    assert medians[fc.MEDIAN_28][:, 0].tolist() == [0.0, 2.6]
    # Poisson medians of the 28-day means (1.25 → 1, 2.6 → 2).
    assert medians[fc.MOVING_AVERAGE_MEDIAN][:, 0].tolist() == [1.0, 2.0]
    assert medians[fc.MOVING_AVERAGE_MEDIAN].shape == (2, fc.HORIZON)


def test_best_median_baseline_compares_a_median_with_every_baseline() -> None:
    scores = {
        fc.MOVING_AVERAGE: fc.MethodScores(absolute_error=90.0, actual=100.0),
        fc.MEDIAN_28: fc.MethodScores(absolute_error=70.0, actual=100.0),
        fc.MODEL_MEDIAN: fc.MethodScores(absolute_error=60.0, actual=100.0),
    }
    assert fc.best_baseline(scores) == (fc.MOVING_AVERAGE, 0.9)
    assert fc.best_median_baseline(scores) == (fc.MEDIAN_28, 0.7)


def test_model_with_long_levels_learns_a_products_own_weekday_pattern() -> None:
    # 4 stores × 12 products, 200 days: products 0-5 sell 3× on phases 5 and 6 (their weekend),
    # products 6-11 sell the same every day; every store sells both kinds, so the store's
    # weekday profile is a blend that fits neither.
    rng = np.random.default_rng(3)
    days, stores, products = 200, 4, 12
    phase = np.arange(days + fc.HORIZON) % 7
    weekend = np.isin(phase, (5, 6))
    base = rng.uniform(1.0, 3.0, products)
    rate = np.tile(base[:, None] * np.ones(days + fc.HORIZON), (stores, 1))
    peaked = np.tile(np.arange(products) < 6, stores)
    rate[np.ix_(peaked, weekend)] *= 3.0
    panel = _panel(
        rng.poisson(rate[:, :days]).astype(float),
        list(np.repeat(np.arange(stores), products)),
        list(np.tile(np.arange(products), stores)),
    )
    origins = fc.training_origins(panel.last_origin - fc.HORIZON, step=3, count=40)
    model = fc.ForecastModel(long_levels=True).fit(panel, origins)
    assert set(fc.LONG_FEATURES) <= set(model.used_features)
    # Off by default: the served model does not train on them (see LONG_FEATURES).
    default = fc.ForecastModel(max_iter=5).fit(panel, origins[:3])
    assert not set(fc.LONG_FEATURES) & set(default.used_features)
    forecast = model.predict(panel, panel.last_origin)
    target_weekend = weekend[panel.days_observed : panel.days_observed + fc.HORIZON]
    ratio_peaked = (
        forecast[peaked][:, target_weekend].mean() / forecast[peaked][:, ~target_weekend].mean()
    )
    ratio_flat = (
        forecast[~peaked][:, target_weekend].mean() / forecast[~peaked][:, ~target_weekend].mean()
    )
    assert 2.4 < ratio_peaked < 3.6  # planted 3×
    assert 0.85 < ratio_flat < 1.15  # planted flat
