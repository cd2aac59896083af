"""The forecast pipeline on known series: calendar features, baselines, the model learning a
holiday spike and a weather effect, the backtest and the serving choice."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from apps.catalog.analytics import forecast as fc
from apps.catalog.analytics.calendar import calendar_frame, day_facts
from apps.catalog.analytics.synthetic import synthetic_demand

# Observed days 2024-06-01 … 2025-09-24: the horizon holds National Day 2025 (1–8 October).
FIRST_DAY = dt.date(2024, 6, 1)
LAST_OBSERVED = dt.date(2025, 9, 24)


def test_calendar_knows_holidays_make_up_days_and_festival_windows() -> None:
    frame = calendar_frame(dt.date(2025, 9, 26), 8)
    national_day = frame.loc["2025-10-01"]
    assert national_day["is_public_holiday"] == 1
    assert national_day["is_day_off"] == 1
    assert national_day["holiday_code"] == 6
    # Sunday 28 September 2025 is a make-up working day before the National Day break.
    sunday = frame.loc["2025-09-28"]
    assert (sunday["is_day_off"], sunday["is_makeup_workday"], sunday["weekday"]) == (0, 1, 6)
    assert frame.loc["2025-09-29", "days_to_holiday"] == 2
    assert frame.loc["2025-09-26", "days_since_holiday"] == fc_window_cap()
    assert day_facts(dt.date(2025, 1, 29))[2] == 2  # Spring Festival


def fc_window_cap() -> int:
    from apps.catalog.analytics.calendar import WINDOW_CAP

    return WINDOW_CAP


def test_calendar_falls_back_to_fixed_holidays_for_unknown_years() -> None:
    assert day_facts(dt.date(2099, 10, 3)) == (True, True, 6, False)
    assert day_facts(dt.date(2099, 3, 3)) == (False, False, 0, False)  # a Tuesday
    assert day_facts(dt.date(2099, 3, 7))[0] is True  # a Saturday


def test_baselines_on_a_small_known_series() -> None:
    # 35 days: weekday pattern 1..7 repeated, with the last week doubled.
    week = np.arange(1, 8, dtype=float)
    sales = np.concatenate([np.tile(week, 4), week * 2])[None, :]
    origin = 34
    baselines = fc.baselines_at(sales, origin, horizon=14)
    # Same weekday last week (for h ≤ 7) and the week before that… also the last week for 8..14.
    assert baselines[fc.SEASONAL_NAIVE][0].tolist() == (list(week * 2) * 2)
    assert baselines[fc.MOVING_AVERAGE][0].tolist() == [sales[0, 7:35].mean()] * 14
    assert baselines[fc.DAYS_OF_COVER][0].tolist() == [8.0] * 14


def _panel(sales: np.ndarray, store_ids: list[int], product_ids: list[int]) -> fc.Panel:
    days = sales.shape[1] + fc.HORIZON
    return fc.Panel(
        sales=sales,
        first_day=dt.date(2026, 3, 2),
        store_ids=np.array(store_ids),
        product_ids=np.array(product_ids),
        category_codes=np.zeros(len(store_ids), dtype=np.int64),
        city_index=np.zeros(len(store_ids), dtype=np.int64),
        temp_max=np.full((1, days), 20.0),
        precipitation=np.zeros((1, days)),
    )


def test_pooled_level_is_the_store_traffic_times_the_products_share_across_stores() -> None:
    # Store 1 sells product 10 at 2 a day and never product 20; store 2 sells both at 1 a day,
    # product 20 at 2 a day in the last week.
    origin = fc.WINDOW - 1
    sales = np.zeros((4, fc.WINDOW))
    sales[0] = 2.0
    sales[2] = 1.0
    sales[3] = 1.0
    sales[3, -7:] = 2.0
    panel = _panel(sales, store_ids=[1, 1, 2, 2], product_ids=[10, 20, 10, 20])

    pooled = fc.pooled_levels_at(panel, origin)

    # Store totals: 56 and 63 units; product shares: 84/119 and 35/119.
    expected = np.array([56 * 84, 56 * 35, 63 * 84, 63 * 35]) / 119 / fc.WINDOW
    assert pooled["pooled"] == pytest.approx(expected)
    # Product 20 sold 14 units in the last week against 35 in 28 days: 14 × 4 / 35.
    assert pooled["product_trend"] == pytest.approx([1.0, 1.6, 1.0, 1.6])
    matrix, level = fc.features_at(panel, origin)
    ratio = matrix[:: fc.HORIZON, fc.FEATURES.index("pooled_ratio")]
    assert level.tolist() == [2.0, 0.0, 1.0, 1.25]
    # A series with no sales of its own is compared with the level floor.
    assert ratio == pytest.approx(expected / np.maximum(level, fc.LEVEL_FLOOR), rel=1e-6)


def test_pooled_level_of_a_panel_without_sales_is_zero() -> None:
    panel = _panel(np.zeros((2, fc.WINDOW)), store_ids=[1, 2], product_ids=[10, 10])
    pooled = fc.pooled_levels_at(panel, fc.WINDOW - 1)
    assert pooled["pooled"].tolist() == [0.0, 0.0]
    assert pooled["product_trend"].tolist() == [1.0, 1.0]


def test_wape_and_mase_pool_over_series() -> None:
    scores = fc.MethodScores()
    scores.add(absolute_error=3.0, actual=10.0, scale=6.0)
    scores.add(absolute_error=1.0, actual=10.0, scale=2.0)
    assert scores.wape == 4.0 / 20.0
    assert scores.mase == 4.0 / 8.0
    assert fc.MethodScores().wape is None


def test_model_serves_only_where_it_beats_the_best_baseline() -> None:
    def scores(model: float, naive: float, average: float, cover: float) -> dict:
        values = {
            fc.MODEL: model,
            fc.SEASONAL_NAIVE: naive,
            fc.MOVING_AVERAGE: average,
            fc.DAYS_OF_COVER: cover,
        }
        return {
            m: fc.MethodScores(absolute_error=v, actual=1.0, scale=1.0) for m, v in values.items()
        }

    result = fc.BacktestResult(
        origins=[],
        series_count=0,
        overall={},
        categories={
            0: scores(0.30, 0.50, 0.40, 0.45),
            1: scores(0.40, 0.50, 0.40, 0.45),
            2: scores(0.6, 0.5, 0.7, 0.55),
        },
        calibration={},
    )
    choices = fc.choose_methods(result)
    assert choices[0] == (fc.MODEL, 0.30, fc.MOVING_AVERAGE, 0.40)
    assert choices[1] == (fc.MOVING_AVERAGE, 0.40, fc.MOVING_AVERAGE, 0.40)  # a tie is no win
    assert choices[2] == (fc.SEASONAL_NAIVE, 0.6, fc.SEASONAL_NAIVE, 0.5)


# Small, because a fit costs about linearly in its rows: 72 series (6 stores × 12 products,
# every category in every store) and 20,000 rows from 50 origins 6 days apart, spanning the same
# ~300 days (National Day 2024, the Spring Festival and a summer of hot days among the targets).
# Over seeds 0-11 this learns the planted effects as the old 200 series and 80,000 rows did
# (holiday ratio 1.59-2.04, hot fruit ≥ 1.57, the rest 0.95-1.08, backtest model / seasonal
# naive ≤ 0.75 and model / best baseline ≤ 0.97), so the bounds are unchanged. Blanking the
# calendar features takes the holiday ratio to 1.03, blanking the temperature the fruit ratio
# to 1.00, and a model that sees only the level loses to the best baseline: the tests fail.
@pytest.fixture(scope="module")
def demand() -> object:
    return synthetic_demand(
        stores=6,
        products=12,
        days=(LAST_OBSERVED - FIRST_DAY).days + 1,
        first_day=FIRST_DAY,
        seed=5,
    )


@pytest.fixture(scope="module")
def model(demand: object) -> fc.ForecastModel:
    panel = demand.panel
    return fc.ForecastModel().fit(
        panel,
        fc.training_origins(panel.last_origin - fc.HORIZON, step=6, count=50),
        max_rows=20_000,
    )


def test_model_learns_the_holiday_spike(demand: object, model: fc.ForecastModel) -> None:
    panel = demand.panel
    forecast = model.predict(panel, panel.last_origin)
    not_fruit = ~np.isin(panel.category_codes, demand.fruit_categories)
    days = [panel.day(panel.last_origin + h) for h in range(1, fc.HORIZON + 1)]
    normal_thursday = days.index(dt.date(2025, 9, 25))
    holiday_thursday = days.index(dt.date(2025, 10, 2))
    ratio = forecast[not_fruit, holiday_thursday].sum() / forecast[not_fruit, normal_thursday].sum()
    # Planted lift: 1.8 on public holidays.
    assert ratio > 1.4
    assert ratio < 2.3


def test_model_learns_the_weather_effect_on_fruit(demand: object, model: fc.ForecastModel) -> None:
    panel = demand.panel
    future = slice(panel.days_observed, panel.days_observed + fc.HORIZON)
    mild = panel.subset(np.arange(panel.series_count))
    mild.temp_max = panel.temp_max.copy()
    mild.temp_max[:, future] = 22.0
    hot = panel.subset(np.arange(panel.series_count))
    hot.temp_max = mild.temp_max.copy()
    hot.temp_max[:, panel.days_observed + 1] = 35.0  # the second forecast day is hot
    mild_forecast = model.predict(mild, panel.last_origin)[:, 1]
    hot_forecast = model.predict(hot, panel.last_origin)[:, 1]
    fruit = np.isin(panel.category_codes, demand.fruit_categories)
    fruit_ratio = hot_forecast[fruit].sum() / mild_forecast[fruit].sum()
    other_ratio = hot_forecast[~fruit].sum() / mild_forecast[~fruit].sum()
    # Planted: +20 % per degree above 28 °C for fruit (×2.4 at 35 °C), nothing for the rest.
    assert fruit_ratio > 1.5
    assert 0.85 < other_ratio < 1.15


def test_model_forecast_is_zero_for_series_without_recent_sales(
    demand: object, model: fc.ForecastModel
) -> None:
    panel = demand.panel.subset(np.arange(3))
    panel.sales = panel.sales.copy()
    panel.sales[0, -fc.WINDOW :] = 0
    forecast = model.predict(panel, panel.last_origin)
    assert forecast[0].tolist() == [0.0] * fc.HORIZON
    assert (forecast[1:] > 0).all()


def test_backtest_model_beats_seasonal_naive_by_fifteen_percent(demand: object) -> None:
    panel = demand.panel
    origins = [panel.last_origin - fc.HORIZON - 7 * k for k in range(2)]
    result = fc.backtest(panel, origins, max_rows=10_000, training_step=6, training_count=30)
    model_wape = result.overall[fc.MODEL].wape
    naive_wape = result.overall[fc.SEASONAL_NAIVE].wape
    assert model_wape < 0.85 * naive_wape
    # The 28-day average alone is ~20 % below seasonal naive on this data (so is a model that
    # sees only the level: 0.81 × naive, 0.51 WAPE against the best baseline's 0.50): beating
    # the best baseline is what shows the features pay (0.44 here).
    assert model_wape < min(result.overall[m].wape for m in fc.BASELINES)
    assert result.overall[fc.MODEL].mase < result.overall[fc.SEASONAL_NAIVE].mase
    assert set(result.categories) == {0, 1, 2, 3}
    assert len(result.origins) == 2
    calibration = result.calibration[0][fc.MODEL]
    assert calibration["q10"] < 0 < calibration["q90"]
    assert calibration["sigma"] > 0


def test_intervals_bracket_the_forecast_and_are_never_negative() -> None:
    forecast = np.array([[0.0, 1.0, 4.0], [10.0, 10.0, 10.0]])
    lower, upper, sigma = fc.interval_and_sigma(
        forecast, np.array([-1.0, -2.0]), np.array([1.0, 2.0]), np.array([1.0, 0.5])
    )
    assert (lower <= forecast).all()
    assert (upper >= forecast).all()
    assert (lower >= 0).all()
    assert upper[1, 0] == pytest.approx(10 + 2 * np.sqrt(11))
    assert sigma[1] == pytest.approx(0.5 * np.sqrt(11))


def test_model_never_forecasts_a_rate_above_the_cap_of_its_training_rows(
    demand: object, model: fc.ForecastModel
) -> None:
    panel = demand.panel
    # A high quantile (RATE_CAP_QUANTILE) of the training rows' rates (units over the 28-day
    # level) is kept…
    assert 1.0 < model.max_rate < 100.0
    capped = fc.ForecastModel(**{**model.__dict__, "max_rate": 0.5})
    level = panel.sales[:, panel.last_origin - fc.WINDOW + 1 : panel.last_origin + 1].mean(axis=1)
    free = model.predict(panel, panel.last_origin)
    forecast = capped.predict(panel, panel.last_origin)
    # …and no forecast goes above it × the level (the trees alone go above 0.5 here).
    assert (free > 0.5 * level[:, None] + 1e-9).any()
    np.testing.assert_allclose(forecast, np.minimum(free, 0.5 * np.maximum(level, 0.05)[:, None]))
